"""telewatch-all-in-one: the whole chain in one process (telewatch.allinone) until Ctrl-C or
SIGTERM, watching its threads; a thread that ends unasked stops it with status 2."""

import logging
import os
import signal
import sys

from oslo_config import cfg

from telewatch import allinone
from telewatch import allinone_progress
from telewatch import config_file
from telewatch import loops
from telewatch import plugins
from telewatch import service
from telewatch.archive import errors as archive_errors
from telewatch.polling import loader
from telewatch.publishers import base as publisher_base

LOG = logging.getLogger(__name__)

DEFAULT_DATA_DIR = '~/.local/share/telewatch'
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
WATCH_INTERVAL = 1.0  # seconds between two checks that every thread still runs
THREAD_ENDED = 2  # the exit status when one did not

CLI_OPTS = [
    cfg.StrOpt('data-dir', dest='data_dir_argument', metavar='DIR',
               help='Where the data goes (a relative file:// publisher URL of pipeline.yaml '
                    'is a file in it); created if missing. Default: [DEFAULT] data_dir of '
                    'the configuration files if they set it, else %s.' % DEFAULT_DATA_DIR),
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the API listens on (no authentication: a request '
                            'without credentials is an admin; Gnocchi\'s x-user-id/'
                            'x-project-id/x-roles headers or gnocchi-basic say who else).'),
    cfg.PortOpt('port', default=8041, help='Port of the API (see --host).'),
    cfg.PortOpt('cloudwatch-port', default=8043,
                help='Port of the CloudWatch API (on --host; SigV4 with the access keys of '
                     '[cloudwatch] keys_file, created on first start).'),
    cfg.BoolOpt('no-polling', default=False,
                help='Poll nothing: run only the pipeline.'),
    cfg.StrOpt('polling-file', help='polling.yaml to use ([polling] cfg_file otherwise).'),
    cfg.StrOpt('pipeline-file',
               help='pipeline.yaml to use ([pipeline] pipeline_cfg_file otherwise).'),
    cfg.IntOpt('interval', default=60, min=0,
               help='Seconds between polling cycles, for every source of the polling file '
                    '(whose shipped intervals, 300 s, are slow to watch); 0 keeps the '
                    'intervals of the file.'),
    cfg.IntOpt('progress-interval', default=allinone_progress.DEFAULT_INTERVAL, min=1,
               help='Seconds between two progress lines in the log (what was polled, '
                    'derived, archived and rejected; what waits to be aggregated).'),
]
# PollingAgent reads the namespaces from ``conf.namespace`` (telewatch-polling's option);
# here they are decided at start, from what this host can poll.
_NAMESPACE_OPT = cfg.MultiStrOpt('namespace', default=[])


def _prepare(argv):
    conf = cfg.ConfigOpts()
    conf.register_opt(_NAMESPACE_OPT)
    conf = service.prepare_service(argv, conf=conf, cli_opts=CLI_OPTS)
    conf.set_default('data_dir', DEFAULT_DATA_DIR)
    for value, option, group in ((conf.polling_file, 'cfg_file', 'polling'),
                                 (conf.pipeline_file, 'pipeline_cfg_file', 'pipeline')):
        if value:
            conf.set_override(option, value, group=group)
    return conf


def _start(conf):
    """The running chain; a ConfigErrors or a one-line start-up error otherwise."""
    data_dir = os.path.abspath(os.path.expanduser(conf.data_dir_argument or conf.data_dir))
    os.makedirs(data_dir, exist_ok=True)
    conf.set_override('data_dir', data_dir)
    chain = allinone.AllInOne(conf)
    chain.start()
    return chain


def wait_for_stop(chain, interval=None):
    """The name of the stop signal received; or, as soon as a thread of the chain ended
    without being asked to, None (it is logged). Checked every ``interval`` seconds
    (WATCH_INTERVAL)."""
    while True:
        received = signal.sigtimedwait(STOP_SIGNALS, interval or WATCH_INTERVAL)
        if received is not None:
            return signal.Signals(received.si_signo).name
        ended = loops.ended(chain.threads())
        if ended:
            LOG.error('thread %s ended unexpectedly: stopping, exit status %d, for a '
                      'supervisor to start telewatch-all-in-one again',
                      ', '.join(ended), THREAD_ENDED)
            return None


def _run(conf, stdout, stderr):
    try:
        chain = _start(conf)
    except config_file.ConfigErrors as exc:
        stderr.write('%s\n' % exc)
        return 1
    except (ValueError, OSError, allinone.ListenError, loader.PluginStartError,
            plugins.PluginLoadError, publisher_base.PublishError, archive_errors.ArchiveError,
            archive_errors.StorageUnavailable) as exc:
        stderr.write('telewatch-all-in-one: %s\n' % exc)
        return 1
    stdout.write('\n'.join(chain.describe()) + '\n')
    stdout.flush()
    received = wait_for_stop(chain)
    # From here a second Ctrl-C (or SIGTERM) ends the process at once.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if received is None:
        return _stop_after_thread_ended(chain, stderr)
    LOG.info('%s received: stopping polling, then flushing the pipeline', received)
    chain.stop()
    stdout.write(chain.summary() + '\n')
    stdout.flush()
    return 0


def _stop_after_thread_ended(chain, stderr):
    stderr.write('telewatch-all-in-one: a thread ended unexpectedly (see the log); '
                 'stopping with exit status %d\n' % THREAD_ENDED)
    try:
        chain.stop()  # what can still be flushed is
    except Exception:
        LOG.exception('stopping after a thread ended failed too')
    return THREAD_ENDED


def main(argv=None, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    conf = _prepare(sys.argv[1:] if argv is None else argv)
    # Blocked before any thread starts, so every thread inherits the mask and the signals
    # wait for sigwait in _run: no handler interrupts the main thread at an arbitrary point
    # (an Event.set from a handler can deadlock on the lock the main thread holds).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return _run(conf, stdout, stderr)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


if __name__ == '__main__':
    sys.exit(main())
