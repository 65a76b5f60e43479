"""The charts of a Redis Cluster run: the failover up close, roles, replication offsets, slots."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from chaos.measure_context import RedisFailoverContext, load_context
from reports.charts.common import draw_latency
from reports.charts.series import offset_gap_series, role_series, slots_series, worst_episode_window, zoom_series
from reports.charts.style import COLORS, EPISODE_COLORS, Chart, _decorate, _figure, _save


def draw_zoom(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    ctx, m = load_context(result), result.get("measurements") or {}
    if not isinstance(ctx, RedisFailoverContext) or ctx.fault_t is None:
        return None
    fault_t = ctx.fault_t
    slots = [tuple(r) for r in ctx.victim_slots]
    from redis.crc import key_slot

    def victim_key(key: str) -> bool:
        slot = key_slot(key.encode())
        return any(lo <= slot <= hi for lo, hi in slots)

    after = max(6.0, (m.get("failover_seconds") or 0) + 3.0, (m.get("write_unavailable_seconds") or 0) + 2.0)
    s = zoom_series(run_dir / "history.jsonl", fault_t - 2.0, fault_t + after, keys=victim_key)
    fig, ax = _figure()
    for k in ("ok", "fail", "info"):
        ax.plot(s["t"], s[k], color=COLORS[k], lw=1.2, label=k, drawstyle="steps-post")
    window = ((m.get("availability") or {}).get("victim") or {}).get("longest_window")
    if window:
        ax.axvspan(window[0], window[1], color=COLORS["fail"], alpha=0.12, zorder=0)
        ax.annotate("", xy=(window[0], 0.93), xytext=(window[1], 0.93), xycoords=("data", "axes fraction"),
                    arrowprops={"arrowstyle": "<->", "color": COLORS["fail"]})
        ax.text((window[0] + window[1]) / 2, 0.95, f"writes unavailable {window[1] - window[0]:.2f} s",
                transform=ax.get_xaxis_transform(), ha="center", fontsize=8, color=COLORS["fail"])
    ax.set_ylabel("writes to the victim's slots / 100 ms")
    ax.legend(loc="center right", fontsize=8)
    _decorate(ax, result, log_times, (fault_t - 2.0, fault_t + after))
    return _save(fig, run_dir, "failover", "The failover up close: writes to the victim's slots per 100 ms")


def draw_worst_episode(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    """A soak's worst episode up close: writes to the slots of the master it hit, per 100 ms."""
    w = worst_episode_window(result)
    if w is None:
        return None
    from redis.crc import key_slot

    lo, hi, e = w["lo"], w["hi"], w["episode"]
    s = zoom_series(run_dir / "history.jsonl", w["start"], w["end"], keys=lambda key: lo <= key_slot(key.encode()) <= hi)
    fig, ax = _figure()
    for k in ("ok", "fail", "info"):
        ax.plot(s["t"], s[k], color=COLORS[k], lw=1.2, label=k, drawstyle="steps-post")
    color = EPISODE_COLORS.get(e["kind"], "#777")
    for t, label in ((e["injected_t"], e["kind"]), (e.get("heal_t"), "heal"), (e.get("steady_t"), "steady")):
        if t is not None and w["start"] <= t <= w["end"]:  # a label outside the window would print beside it
            ax.axvline(t, color=color if label == e["kind"] else "#555", lw=0.9, ls="--")
            ax.text(t, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, fontsize=7, va="bottom")
    ax.set_ylabel(f"writes to {w['group']} / 100 ms")
    ax.legend(loc="center right", fontsize=8)
    _decorate(ax, result, log_times, (w["start"], w["end"]))
    outage = e.get("write_unavailable_seconds")
    return _save(fig, run_dir, "worst-episode",
                 f"The worst episode up close: #{e['index']}, {e['kind']} of {e.get('target')} ({e.get('role')}), "
                 f"writes to its slots unavailable {'?' if outage is None else f'{outage:.2f}'} s, "
                 f"outcome {e.get('outcome')}")


def draw_clients(run_dir: Path, result: dict[str, Any], log_times: list[float]) -> Chart | None:
    """The client view: each library's acknowledged writes per 100 ms under the recorder's, one
    row each on the run's time axis, the fault shaded; every row's scale is its own (the
    recorder loads, the libraries are paced)."""
    ctx, m = load_context(result), result.get("measurements") or {}
    clients = m.get("clients") or []
    if not clients or not isinstance(ctx, RedisFailoverContext) or ctx.fault_t is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fault_t = ctx.fault_t
    heal = ((result.get("faults") or [{}])[0] or {}).get("healed_at")
    after = max(8.0, (m.get("failover_seconds") or 0) + 4.0, (heal or fault_t) - fault_t + 3.0)
    lo, hi = fault_t - 2.0, fault_t + after
    streams = [("recorder", run_dir / "history.jsonl")] + [
        (f"{c['client']} {c['version']}", run_dir / f"client-{c['label'].replace('@', '-')}.jsonl.zst")
        for c in clients]
    fig, axes = plt.subplots(len(streams), 1, figsize=(9.5, 0.95 * len(streams) + 0.8), dpi=100, sharex=True)
    for ax, (name, path) in zip(axes, streams):
        try:
            series = zoom_series(path, lo, hi)
        except OSError:
            continue
        ax.fill_between(series["t"], series["ok"], step="post", color=COLORS["ok"], alpha=0.8, lw=0)
        ax.plot(series["t"], [-x for x in series["info"]], color=COLORS["info"], lw=0.8, drawstyle="steps-post")
        ax.axvspan(fault_t, heal if heal is not None else fault_t, color=COLORS["fail"], alpha=0.10, zorder=0)
        ax.axvline(fault_t, color=COLORS["fail"], lw=0.8)
        promoted = m.get("failover_seconds")
        if promoted is not None:
            ax.axvline(fault_t + promoted, color=COLORS["master"], lw=0.8, ls="--")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
        ax.grid(True, axis="x", alpha=0.25)
    axes[-1].set_xlim(lo, hi)
    axes[-1].set_xlabel("seconds of the run (red: the fault; dashed: the promotion; below the line: calls that "
                        "raised)", fontsize=8)
    return _save(fig, run_dir, "clients", "What each client library saw: acknowledged writes per 100 ms")


def draw_roles(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]],
               log_times: list[float]) -> Chart | None:
    segments = role_series(samples)
    if not segments:
        return None
    fig, ax = _figure(0.45 * len(segments) + 1.2)
    names = list(segments)
    for row, node in enumerate(names):
        for start, end, state in segments[node]:
            ax.broken_barh([(start, max(end - start, 0.01))], (row - 0.4, 0.8), color=COLORS[state])
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=COLORS[k], label=k.replace("_", " ")) for k in
                       ("master", "replica", "failing", "cluster_fail", "down")],
              loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=5, fontsize=8, frameon=False)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "roles", "Each node's role as its probe saw it")


def draw_offsets(run_dir: Path, result: dict[str, Any], samples: Iterable[dict[str, Any]],
                 log_times: list[float]) -> Chart | None:
    series = offset_gap_series(samples)
    if not series:
        return None
    fig, ax = _figure()
    for label, s in sorted(series.items()):
        ax.plot(s["t"], [max(g, 0.5) for g in s["gap"]], lw=1.0, label=label)
    ax.set_yscale("log")
    ax.set_ylabel("bytes behind (log)")
    ax.legend(loc="upper right", fontsize=7)
    _decorate(ax, result, log_times)
    return _save(fig, run_dir, "offsets", "Replication offset gap, master − replica")


def draw_slots(run_dir: Path, result: dict[str, Any]) -> Chart | None:
    s = slots_series(result, run_dir / "reshard.jsonl")
    if len(s["t"]) < 2:
        return None
    fig, ax = _figure()
    for address, counts in sorted(s["masters"].items()):
        ax.plot(s["t"], counts, lw=1.2, label=address, drawstyle="steps-post")
    ax.set_ylabel("slots")
    ax.legend(loc="center right", fontsize=7)
    _decorate(ax, result, [])
    return _save(fig, run_dir, "slots", "Slots per master during the migration")


def redis_cluster_charts(run_dir: Path, result: dict[str, Any], probes: Iterable[dict[str, Any]],
                         log_times: list[float]) -> list[Callable[[], Any]]:
    return [lambda: draw_zoom(run_dir, result, log_times), lambda: draw_worst_episode(run_dir, result, log_times),
            lambda: draw_clients(run_dir, result, log_times),
            lambda: draw_slots(run_dir, result),
            lambda: draw_latency(run_dir, result, log_times), lambda: draw_roles(run_dir, result, probes, log_times),
            lambda: draw_offsets(run_dir, result, probes, log_times)]


