"""`chaos metrics dashboard|rules|rules-test`: the Grafana dashboard and the Prometheus rules
shipped with chaos, printed for import (or to a file)."""

from __future__ import annotations

from pathlib import Path

import click

from chaos.cli.root import cli

MONITORING = Path(__file__).resolve().parent.parent / "monitoring"
FILES = {"dashboard": "chaos-dashboard.json", "rules": "chaos-rules.yml", "rules-test": "chaos-rules.test.yml"}


@cli.group()
def metrics() -> None:
    """The Grafana dashboard and the Prometheus alert and recording rules for chaos's metrics."""


def _print(what: str) -> None:
    click.echo((MONITORING / FILES[what]).read_text(), nl=False)


@metrics.command("dashboard")
def metrics_dashboard() -> None:
    """Print the Grafana dashboard (JSON; Dashboards → New → Import): throughput by outcome,
    latency quantiles, nodes and cluster state, replication lag, faults as annotations, and the
    per-run figures over time (failover, write outage, catch-up, lost writes, verdict). Its
    variables: the Prometheus data source, scenario and label.

    \b
    Examples:
      chaos metrics dashboard > chaos-dashboard.json
    """
    _print("dashboard")


@metrics.command("rules")
def metrics_rules() -> None:
    """Print the Prometheus rules (YAML, for `rule_files:`): recording rules for throughput and
    p99, and alerts when a run lost acknowledged writes, failed, failed over or caught up slower
    than a bound (edit the bounds to your SLOs), or no scheduled run reported for a day.

    \b
    Examples:
      chaos metrics rules > /etc/prometheus/chaos-rules.yml && promtool check rules /etc/prometheus/chaos-rules.yml
    """
    _print("rules")


@metrics.command("rules-test")
def metrics_rules_test() -> None:
    """Print the unit tests of the alert rules (`promtool test rules`, beside chaos-rules.yml)."""
    _print("rules-test")
