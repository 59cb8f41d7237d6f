"""The console scripts, one module per command (``telewatch-NAME`` is ``telewatch.cmd.NAME``
with ``-`` as ``_``); setup.cfg points each at its module's ``main()``."""
