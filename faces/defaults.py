"""Defaults that the extract stage writes into every face and later stages read back.

Kept apart from the stage (no dlib, no numpy) so that the exporter and the app
can import them cheaply: a face's chip padding and the near-duplicate distance
are typed here and nowhere else.
"""

CHIP_SIZE = 256  # side of an aligned face chip, in pixels
CHIP_PADDING = 0.45  # dlib's padding around the landmarks (0.45 keeps chin and brows)
NEAR_DUP_BITS = 6  # perceptual-hash Hamming distance (of 64) for near-duplicates
