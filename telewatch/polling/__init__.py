"""The polling agent: polling.yaml, its schedule, its senders (its command is
telewatch.cmd.polling)."""


def list_opts():
    from telewatch.polling import agent
    return [('polling', agent.OPTS)]
