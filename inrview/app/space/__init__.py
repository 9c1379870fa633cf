"""The Shape-space mode: open a space checkpoint, morph between its shapes, move along the principal
directions of its codes, complete dropped points live and train a space from a folder (controller.py)."""
