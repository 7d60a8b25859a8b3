"""Model-assisted curation: a baseline classifier per dataset, its suspects, its predictions."""
