"""Transformers: one module each, registered in setup.cfg under ``telewatch.transformer``."""
