"""Options every telewatch process shares, and the set-up of its configuration and logging."""

import threading

import cotyledon
from oslo_config import cfg
from oslo_log import log

from telewatch import bus
from telewatch import loops

OPTS = [
    cfg.StrOpt('data_dir', default='/var/lib/telewatch',
               help='Directory of the data telewatch keeps on this host. A relative path '
                    'in a publisher URL (file://samples.jsonl) is resolved against it.'),
]

PUBLISHER_OPTS = [
    cfg.StrOpt('telemetry_secret', secret=True, default='',
               deprecated_opts=[cfg.DeprecatedOpt('metering_secret', group='publisher')],
               help='Secret of the HMAC-SHA256 signature of samples (telewatch.sample). '
                    'Empty: samples are sent unsigned and every sample is accepted. Set it '
                    'to the same value on every node.'),
]


class AgentService(cotyledon.Service):
    """A cotyledon worker running one agent: ``start()`` on run, ``reload()`` on SIGHUP,
    ``stop()`` on SIGTERM.

    An agent's ``start()`` either runs its loop until ``stop()`` (``start_blocks = True``)
    or starts its threads (telewatch.loops.LoopThread) and returns, naming them in
    ``threads()``. A loop or thread that ends without ``stop()`` raises ThreadEnded out of
    ``run``: cotyledon logs it, exits the worker with status 2 and starts a new one.
    """

    watch_interval = 1.0

    def __init__(self, worker_id, make_agent, conf):
        super().__init__(worker_id)
        self._agent = make_agent(conf)
        self._terminating = threading.Event()

    def run(self):
        self._agent.start()
        if getattr(self._agent, 'start_blocks', False):
            if not self._terminating.is_set():
                raise loops.ThreadEnded(['the loop of %s' % self.name])
            return
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


def list_opts():
    return [(None, OPTS), ('publisher', PUBLISHER_OPTS)]


def register_opts(conf):
    conf.register_opts(OPTS)
    conf.register_opts(PUBLISHER_OPTS, group='publisher')


def prepare_service(argv=None, conf=None, default_config_files=None, cli_opts=()):
    """A ConfigOpts with every telewatch option (and ``cli_opts``) registered, parsed from
    ``argv``."""
    from telewatch import opts
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
