"""Datasets: the registry (one YAML per dataset) and the one reader for every format users have."""
