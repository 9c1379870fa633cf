"""How the 3D view draws and where it looks from: styles, projection, up axis, saved and pasted viewpoints.

``controller`` (actions, settings, the up axis of a new file), ``panel`` (the View dock).
"""
