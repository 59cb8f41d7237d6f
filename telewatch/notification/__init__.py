"""The notification agent: listeners on the bus, meter definitions, partitioning (its
command is telewatch.cmd.agent_notification)."""


def list_opts():
    from telewatch.notification import agent
    from telewatch.notification import partitioning
    return [('notification', agent.OPTS), ('coordination', partitioning.OPTS)]
