"""Readers and writers for real SDSS files, the registry-data cache and the on-disk formats."""
