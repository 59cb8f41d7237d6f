"""pipeline.yaml: its loading and validation (config), running it (engine); its command is
telewatch.cmd.pipeline."""


def list_opts():
    from telewatch.pipeline import engine
    return [('pipeline', engine.OPTS)]
