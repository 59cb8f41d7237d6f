"""telewatch: a pluggable telemetry pipeline for private clouds."""
