"""Run outputs: result.json (machines), report.md (people), metrics.prom (Prometheus)."""

SCHEMA_VERSION = 1
