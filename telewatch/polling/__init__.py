"""The polling agent: polling.yaml, its schedule, and the telewatch-polling command."""


def list_opts():
    from telewatch.polling import agent
    return [('polling', agent.OPTS)]
