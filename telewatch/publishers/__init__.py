"""Publishers: one module each, registered in setup.cfg under ``telewatch.publisher``."""
