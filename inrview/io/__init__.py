"""Files in and out, above only config and errors: meshes, point clouds and images read into memory, and
meshes and point clouds written back.

- `loaders.load(path) -> Geometry`: every mesh and point-cloud format (the per-format readers are `ply`,
  `obj`, `pcd`, `simple_meshes`, `scenes`, `text`, `arrays`; `sniff` picks one from the content), with
  `limits` and `chunks` bounding memory;
- `geometry`: Geometry, the Normalization into the unit cube and the load report;
- `surface`: area-uniform samples on a triangle mesh; `image`: pictures as float pixels;
- `export`: atomic writes of meshes and clouds; `resources`: the demo files that ship with inrview.
"""
