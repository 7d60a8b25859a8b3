"""Import local images, zip archives, FER2013-style CSVs and videos into a dataset."""
