"""The file formats inrview reads and writes, one list per meaning (extensions, lower case, no dot). Loaders
and writers check against these; the command line refuses an output path outside them before any work."""

from __future__ import annotations

#: Mesh files inrview reads.
MESH_FORMATS = ("ply", "obj", "stl", "off", "glb", "gltf")
#: Point-cloud files inrview reads.
POINT_FORMATS = ("ply", "xyz", "xyzn", "pts", "txt", "csv", "pcd", "npy", "npz")
#: Segmentation masks inrview meshes (a '.nii.gz' name ends in '.gz': see io.masks.mask_format).
MASK_FORMATS = ("nii", "nii.gz", "nrrd", "nhdr")
#: Every geometry file inrview reads (meshes, point clouds and segmentation masks).
GEOMETRY_FORMATS = tuple(sorted(set(MESH_FORMATS) | set(POINT_FORMATS) | set(MASK_FORMATS)))
#: Mesh files inrview writes.
MESH_EXPORT_FORMATS = ("ply", "obj", "stl", "glb", "off")
#: Pictures inrview reads and writes.
IMAGE_FORMATS = ("png", "jpg", "jpeg", "tif", "tiff", "bmp")
#: Checkpoints (safetensors files with an inrview header).
CHECKPOINT_FORMATS = ("safetensors",)
#: Result tables (Markdown or CSV).
TABLE_FORMATS = ("md", "csv")
#: Time-lapse animations.
TIMELAPSE_FORMATS = ("gif", "mp4")
