"""telewatch-polling: the polling agent daemon (cotyledon), or ``--test`` to poll every
source once and print the samples."""

import sys

from oslo_config import cfg

from telewatch import cli_output
from telewatch import config_file
from telewatch import service
from telewatch.polling import agent as agent_mod
from telewatch.polling import loader

CLI_OPTS = [
    cfg.MultiStrOpt('namespace', default=['compute', 'central'],
                    help='Pollster groups to run (repeatable): %s.'
                         % ', '.join(loader.NAMESPACES)),
    cfg.StrOpt('polling-file', help='polling.yaml to use ([polling] cfg_file otherwise).'),
    cfg.StrOpt('libvirt-uri', help='libvirt URI ([compute] libvirt_uri otherwise).'),
    cfg.BoolOpt('test', default=False,
                help='Poll every source once, print the samples as JSON lines (the input '
                     'of telewatch-pipeline replay), send nothing, and exit.'),
]


def _apply_command_line(conf):
    for value, option, group in ((conf.polling_file, 'cfg_file', 'polling'),
                                 (conf.libvirt_uri, 'libvirt_uri', 'compute')):
        if value:
            conf.set_override(option, value, group=group)
    unknown = set(conf.namespace) - set(loader.NAMESPACES)
    if unknown:
        raise ValueError('unknown namespace %s (choose among %s)' % (
            ', '.join(sorted(unknown)), ', '.join(loader.NAMESPACES)))


def main(argv=None, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv,
                                   cli_opts=CLI_OPTS)
    try:
        _apply_command_line(conf)
        agent = agent_mod.PollingAgent(conf)
    except config_file.ConfigErrors as exc:
        stderr.write('%s\n' % exc)
        return 1
    except (ValueError, loader.PluginStartError) as exc:
        stderr.write('telewatch-polling: %s\n' % exc)
        return 1
    if conf.test:
        return cli_output.run(lambda: agent.test(stdout, stderr), stdout)
    service.run_agents('telewatch-polling', agent_mod.PollingAgent, conf)
    return 0


if __name__ == '__main__':
    sys.exit(main())
