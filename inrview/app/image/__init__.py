"""The image mode: a network learns a picture, shown live with its error and derivatives, exported at any size.

``controller`` puts it in the window as a tab; ``panel`` is its widget, ``view`` the picture, ``worker`` the
thread that owns the ImageSession. Importing this package imports no Qt.
"""

#: The pictures the image mode opens (anything else goes to the 3D shapes).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
