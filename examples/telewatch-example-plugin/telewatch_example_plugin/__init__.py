"""An example telewatch plugin package: a pollster (``example.uptime``) and a publisher
(``csv://``), registered through entry points in pyproject.toml."""
