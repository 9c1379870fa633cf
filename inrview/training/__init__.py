"""Training a network on a task: what a step optimises, and the loop that runs the steps.

- `tasks` (Task; SDFTask for distances or occupancy), `cloud_task` (point clouds) and `image_tasks`
  (pixels, deblurring) draw batches and return named loss terms built from `losses` (`kernels`: blur);
- `trainer.Trainer.run()` yields snapshots, stoppable between steps; `device` and `cuda_graph` choose and
  speed up where it runs;
- `checkpoint`: weights, optimiser state and a JSON header in one safetensors file, validated on read.
"""
