"""3D shapes in the app: open a mesh, point cloud or checkpoint, train a network on it with the live view,
export meshes and checkpoints.

``controller`` (the window's side: actions, opening, training, frames), ``exports`` (mesh, checkpoint,
autosave), ``worker`` (the thread that owns the ShapeSession), ``state`` (what it sends when a file opens),
``data_panel`` and ``model_panel`` (the Data and Model & training docks).
"""
