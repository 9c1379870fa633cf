"""What the app's features share: the 3D viewport, the worker-thread loop, the frames it sends, the status bar,
settings, theme, dialogs, memory care, the controllers' base class and the generic docks (log, loss, slices).
"""
