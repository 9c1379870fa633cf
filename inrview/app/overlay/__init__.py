"""Overlays: reference meshes or other results (meshes, point clouds, shape checkpoints) drawn with the current
surface, each with its own colour and opacity.

``controller`` (the Overlays dock's actions), ``worker`` (loading and extracting off the GUI thread), ``view``
(the actors, an extra of the viewport that screenshots and time-lapses carry).
"""
