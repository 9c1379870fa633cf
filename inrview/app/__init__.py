"""The desktop app: a PyQt6 window around an embedded PyVista viewport.

This is the only package that imports PyQt6, pyvista or pyvistaqt. Its modules:

- ``main``      the command line of ``inrview [FILE]`` and the scripted runs (--fit-seconds/--screenshot/--quit)
- ``window``    the main window: menus, docks, status bar, opening files, the training buttons
- ``worker``    the one thread that owns the ShapeSession: trains, previews, extracts, saves
- ``frames``    numpy-only preparation of what the worker sends (normals, VTK cell arrays, contours)
- ``viewport``  the 3D view: one actor per layer, updated in place; camera presets; off-screen export
- ``panels``    the docks: data, model & training, slices, loss, log
- ``dialogs``   screenshot and mesh export dialogs that remember their last values
- ``settings``  QSettings in one place (a temporary location in tests)
- ``probe``     UI latency measurement used by the benchmark and soak scripts
"""
