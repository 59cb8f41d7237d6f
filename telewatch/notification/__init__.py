"""The notification agent: listeners on the bus, meter definitions, and the
telewatch-agent-notification command."""


def list_opts():
    from telewatch.notification import agent
    return [('notification', agent.OPTS)]
