"""pipeline.yaml: its loading and validation (config), running it (engine), and the CLI."""
