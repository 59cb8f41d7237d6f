"""Standard output of the command-line tools that ends quietly when its reader goes away
(``telewatch-pipeline replay ... | head -3``), as Unix tools do."""

import os
import signal

#: What a shell reports for a Unix tool that SIGPIPE ended (128 + 13).
EXIT_OUTPUT_CLOSED = 128 + signal.SIGPIPE


class OutputClosed(Exception):
    """The reader of the output went away: writing more is pointless."""


def run(command, stdout):
    """``command()``'s exit status, flushing ``stdout`` after it; EXIT_OUTPUT_CLOSED, with
    nothing on stderr, when the reader of ``stdout`` went away (BrokenPipeError, or
    OutputClosed from a writer that caught it)."""
    try:
        status = command()
        stdout.flush()
        return status
    except (BrokenPipeError, OutputClosed):
        silence(stdout)
        return EXIT_OUTPUT_CLOSED


def silence(stream):
    """Point ``stream``'s file descriptor at /dev/null: Python flushes standard output once
    more at exit, and that flush would print 'Exception ignored ... BrokenPipeError'."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (io.StringIO in tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
