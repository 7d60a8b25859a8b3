"""The extract stage: find, align and score every face in the stored images.

``faces.stage.extract`` is the entry point; the other modules are its steps
(models, detection, alignment, quality figures, near-duplicate groups, the
per-process worker).
"""
