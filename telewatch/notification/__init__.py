"""The notification agent: listeners on the bus, meter definitions, and the
telewatch-agent-notification command."""


def list_opts():
    from telewatch.notification import agent
    from telewatch.notification import partitioning
    return [('notification', agent.OPTS), ('coordination', partitioning.OPTS)]
