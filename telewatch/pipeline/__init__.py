"""pipeline.yaml: its loading and validation (config), running it (engine), and the CLI."""


def list_opts():
    from telewatch.pipeline import engine
    return [('pipeline', engine.OPTS)]
