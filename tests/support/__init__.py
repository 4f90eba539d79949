"""Shared test helpers: golden vectors, reference-data paths, and factories of small databases and rounds."""
