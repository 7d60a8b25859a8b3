"""The takedown stage: take an image source out of a dataset for good (``facesift takedown``)."""
