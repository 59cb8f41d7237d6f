"""The set-up of every telewatch process (its configuration and logging), and the cotyledon
worker that runs a daemon's agents."""

import threading

import cotyledon
from oslo_config import cfg
from oslo_log import log

from telewatch import bus
from telewatch import loops
from telewatch import opts


class AgentService(cotyledon.Service):
    """A cotyledon worker running one agent: ``start()`` on run, ``reload()`` on SIGHUP,
    ``stop()`` on SIGTERM.

    An agent's ``start()`` starts its threads (telewatch.loops.LoopThread) and returns at
    once, never running a loop itself; ``threads()`` names them, and this worker waits,
    watching them. One that ends without ``stop()`` raises ThreadEnded out of ``run``:
    cotyledon logs it, exits the worker with status 2 and starts a new one. ``stop()``
    returns once the agent has stopped (its threads joined, what it holds handed on).
    """

    watch_interval = 1.0

    def __init__(self, worker_id, make_agent, conf):
        super().__init__(worker_id)
        self._agent = make_agent(conf)
        self._terminating = threading.Event()

    def run(self):
        self._agent.start()
        loops.watch(self._agent.threads, self._terminating, self.watch_interval)

    def reload(self):
        self._agent.reload()

    def terminate(self):
        self._terminating.set()
        self._agent.stop()


def run_agents(name, make_agent, conf, workers=1):
    """Run ``workers`` processes of an agent under cotyledon until SIGTERM."""
    service = type(name, (AgentService,), {'name': name})
    manager = cotyledon.ServiceManager()
    manager.add(service, workers=workers, args=(make_agent, conf))
    manager.run()


def prepare_service(argv=None, conf=None, default_config_files=None, cli_opts=()):
    """A ConfigOpts with every telewatch option (and ``cli_opts``) registered, parsed from
    ``argv``."""
    conf = conf if conf is not None else cfg.ConfigOpts()
    conf.register_cli_opts(cli_opts)
    log.register_options(conf)
    # kafka-python logs every connection and metadata refresh at INFO.
    log.set_defaults(default_log_levels=sorted(
        set(log.get_default_log_levels()) | {'kafka=WARNING'}))
    # Standard output carries data (replay output, --test samples): logs go to stderr.
    conf.set_default('use_stderr', True)
    for group, options in opts.list_opts():
        conf.register_opts(options, group=group)
    bus.register_transport_opts(conf)
    conf(argv if argv is not None else [], project='telewatch',
         default_config_files=default_config_files)
    log.setup(conf, 'telewatch')
    return conf
