"""Point clouds in the app: the normals training uses, their glyphs, and Compare with screened Poisson.

``state`` (numpy-only results: normals, glyphs, scores), ``commands`` (run on the shape worker's thread),
``view`` (the Poisson surface in the viewport), ``panel`` (the Compare dock), ``controller`` (the window's side).
"""
