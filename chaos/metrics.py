"""Prometheus metrics of a run: a listener on the run's event bus (never in the control path).

Served live on ``--metrics-port`` (127.0.0.1; each measurement gauge is set the moment the run
knows it, the verdict when it is reached, and the page stays up ``--metrics-linger`` seconds
after the run), written to ``metrics.prom`` at the end, to ``--textfile-dir`` for
node_exporter's textfile collector, and pushed to ``--pushgateway`` when given.

Batch-job conventions (Prometheus' instrumentation guide): every series carries only what is
stable from run to run (``scenario``, ``server``, ``backend``, ``label``), so repeated or
scheduled runs extend the same series; the run id, seed and versions are in one
``chaos_run_info`` series; the Pushgateway group is (``scenario``, ``label``), each push
replacing the last."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    push_to_gateway,
    start_http_server,
    write_to_textfile,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from chaos.errors import ChaosError
from chaos.events import RunEvents
from loadgen.settings import LATENCY_BUCKETS_MS

# metric name (chaos_<name>) → (measurement it comes from, help)
FINAL_GAUGES = {
    "failover_seconds": ("failover_seconds", "Seconds from the fault to the replica owning the victim's slots"),
    "write_unavailable_seconds": ("write_unavailable_seconds",
                                  "Longest window with no acknowledged write to the victim's slots"),
    "rejoin_seconds": ("rejoin_seconds", "Seconds from restart to the old master replicating the promoted node"),
    "cluster_down_seconds": ("cluster_down_seconds", "Total seconds any node reported cluster_state:fail"),
    "lost_writes": ("lost_writes", "Acknowledged writes missing from the final read"),
    "unacked_applied_writes": ("unacked_applied_writes", "Writes not acknowledged that were applied"),
    "lost_increments": ("lost_increments", "Acknowledged increments missing from the counters"),
    "replica_catchup_seconds": ("catchup_seconds", "Seconds from replica restart to caught up"),
    "max_replication_lag_seconds": ("max_lag_seconds", "Largest heartbeat replication lag seen"),
    "lost_rows": ("lost_rows", "Rows acknowledged on the source missing on the replica"),
    "demote_seconds": ("demote_seconds", "Seconds from resuming a paused master to it reporting itself a replica"),
    "stale_master_acknowledged_writes": ("stale_master_acknowledged_writes",
                                         "Writes a resumed stale master acknowledged before it demoted itself"),
    "minority_acknowledged_writes": ("minority_acknowledged_writes",
                                     "Writes an isolated master acknowledged during a partition"),
    "minority_lost_writes": ("minority_lost_writes", "Writes an isolated master acknowledged that were lost"),
    "minority_write_window_seconds": ("minority_write_window_seconds",
                                      "Seconds from the cut to the isolated master's last acknowledged write"),
    "lost_commits": ("lost_commits", "Commits the old MySQL source acknowledged that the promoted replica lacks"),
    "promotion_seconds": ("promotion_seconds", "Seconds the promotion of the MySQL replica took"),
    "errant_transactions": ("errant_transactions",
                            "Transactions the old MySQL source holds that the new source never had"),
}


class _LatencyHistogram(Collector):
    """Cumulative op latency from the per-second bucket counts of the load processes."""

    def __init__(self, labels: dict[str, str]):
        self.labels = labels
        self.counts = [0] * (len(LATENCY_BUCKETS_MS) + 1)
        self.sum_seconds = 0.0

    def add(self, buckets: list[int], sum_ms: float) -> None:
        for i, n in enumerate(buckets[: len(self.counts)]):
            self.counts[i] += n
        self.sum_seconds += sum_ms / 1000.0

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily("chaos_op_latency_seconds", "Latency of acknowledged operations",
                                       labels=list(self.labels))
        cumulative, buckets = 0, []
        for bound, n in zip([*LATENCY_BUCKETS_MS, float("inf")], self.counts):
            cumulative += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound / 1000.0), cumulative))
        family.add_metric(list(self.labels.values()), buckets, self.sum_seconds)
        yield family


STABLE_LABELS = ("scenario", "server", "backend", "label")


class RunMetrics:
    def __init__(self, scenario: str, run_id: str, server: str = "", backend: str = "", label: str = "",
                 seed: int | None = None):
        self.labels = {"scenario": scenario, "server": server, "backend": backend, "label": label}
        self.run_id, self.seed = run_id, seed
        names = list(self.labels)
        self.registry = CollectorRegistry()
        self.info = Gauge("chaos_run_info", "1 for the run: its id, seed and versions as labels",
                          [*names, "run_id", "seed", "server_version", "harness_version"], registry=self.registry)
        self._info_labels: tuple[str, ...] | None = None
        self.set_info("")
        self.started = Gauge("chaos_run_started_timestamp_seconds", "Unix time the run started", names,
                             registry=self.registry)
        self.started.labels(**self.labels).set_to_current_time()
        self.finished = Gauge("chaos_run_finished_timestamp_seconds", "Unix time the run's verdict was reached",
                              names, registry=self.registry)
        self.ops = Counter("chaos_ops", "Client operations by result", [*names, "result"],
                           registry=self.registry)
        self.latency = _LatencyHistogram(self.labels)
        self.registry.register(self.latency)
        self.cluster_state = Gauge("chaos_cluster_state", "1 if the node reports cluster_state:ok, "
                                   "0 if fail, -1 if it does not answer", [*names, "node"], registry=self.registry)
        self.node_up = Gauge("chaos_node_up", "1 if the node answers", [*names, "node", "role"],
                             registry=self.registry)
        self.fault_active = Gauge("chaos_fault_active", "1 while a fault is injected", [*names, "fault"],
                                  registry=self.registry)
        self.final = {name: Gauge(f"chaos_{name}", help_, names, registry=self.registry)
                      for name, (_key, help_) in FINAL_GAUGES.items()}
        self.lag = Gauge("chaos_replication_lag_seconds", "Replication lag by method", [*names, "method"],
                         registry=self.registry)
        self.passed = Gauge("chaos_run_passed", "1 if every check passed", names, registry=self.registry)
        self._server: Any = None
        self._roles: dict[str, str] = {}

    def set_info(self, server_version: str) -> None:
        """The one ``chaos_run_info`` series (replaced when the server's version becomes known)."""
        from chaos import __version__

        values = (*self.labels.values(), self.run_id, "" if self.seed is None else str(self.seed), server_version,
                  __version__)
        if self._info_labels is not None and self._info_labels != values:
            self.info.remove(*self._info_labels)
        self.info.labels(*values).set(1)
        self._info_labels = values

    def listen(self, events: RunEvents) -> RunMetrics:
        events.measurement.add_listener(self.on_measurement)
        events.second.add_listener(self.on_second)
        events.sample.add_listener(self.on_sample)
        events.fault.add_listener(self.on_fault)
        events.mysql_sample.add_listener(self.on_mysql_sample)
        return self

    def on_second(self, ok: int = 0, fail: int = 0, info: int = 0, buckets: list[int] | None = None,
                  sum_ms: float = 0.0, **_: Any) -> None:
        for result, n in (("ok", ok), ("fail", fail), ("info", info)):
            if n:
                self.ops.labels(**self.labels, result=result).inc(n)
        if buckets:
            self.latency.add(buckets, sum_ms)

    def on_sample(self, node: str, up: bool, cluster_state: str | None = None, role: str | None = None,
                  **_: Any) -> None:
        state = -1 if not up else (1 if cluster_state == "ok" else 0)
        self.cluster_state.labels(**self.labels, node=node).set(state)
        if up and role:
            old = self._roles.get(node)
            if old and old != role:
                self.node_up.remove(*self.labels.values(), node, old)
            self._roles[node] = role
        self.node_up.labels(**self.labels, node=node, role=self._roles.get(node, "unknown")).set(1 if up else 0)

    def on_mysql_sample(self, node: str, up: bool, heartbeat_lag: float | None = None,
                        seconds_behind_master: int | None = None, **_: Any) -> None:
        self.node_up.labels(**self.labels, node=node, role="replica").set(1 if up else 0)
        for method, value in (("heartbeat", heartbeat_lag), ("seconds_behind_master", seconds_behind_master)):
            # unknown (replica down, or NULL while a replication thread is stopped) → NaN, not 0
            self.lag.labels(**self.labels, method=method).set(float("nan") if value is None else float(value))

    def on_fault(self, fault: str, active: bool, **_: Any) -> None:
        self.fault_active.labels(**self.labels, fault=fault).set(1 if active else 0)

    def on_measurement(self, name: str, value: Any, **_: Any) -> None:
        """A measurement known during the run (e.g. failover at promotion), by its result name."""
        for metric, (key, _help) in FINAL_GAUGES.items():
            if key == name and isinstance(value, int | float) and not isinstance(value, bool):
                self.final[metric].labels(**self.labels).set(value)

    def set_final(self, measurements: dict[str, Any], passed: bool, server_version: str | None = None) -> None:
        for metric, (key, _help) in FINAL_GAUGES.items():
            value = measurements.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.final[metric].labels(**self.labels).set(value)
        self.passed.labels(**self.labels).set(1 if passed else 0)
        self.finished.labels(**self.labels).set_to_current_time()
        if server_version:
            self.set_info(server_version)

    def serve(self, port: int) -> None:
        try:
            self._server, _ = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        except OSError as exc:
            raise ChaosError(f"cannot serve metrics on 127.0.0.1:{port} ({exc.strerror or exc}); "
                             "choose another --metrics-port") from None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def write(self, path: Path) -> None:
        """The registry in the text format, atomically (a temporary file, then a rename)."""
        write_to_textfile(str(path), self.registry)

    def textfile_name(self) -> str:
        """node_exporter's textfile collector reads ``*.prom``: one file per scenario and label."""
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.labels["label"])
        return f"chaos_{self.labels['scenario']}{'_' + label if label else ''}.prom"

    @property
    def grouping_key(self) -> dict[str, str]:
        return {"scenario": self.labels["scenario"], "label": self.labels["label"] or "none"}

    def push(self, url: str) -> str | None:
        """Push to a Pushgateway (PUT: the group's metrics replaced by this run's); returns an
        error message instead of raising (a side output)."""
        try:
            push_to_gateway(url, job="chaos", registry=self.registry, grouping_key=self.grouping_key, timeout=5)
        except Exception as exc:
            return f"push to {url} failed: {exc}"
        return None
