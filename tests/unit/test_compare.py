"""`chaos report compare` on small synthetic run directories."""

import json

from click.testing import CliRunner

from chaos.cli import cli


def make_run(root, name, node_timeout, failover, passed=True, lost=0, label=None):
    d = root / name
    d.mkdir()
    result = {"scenario": "master-kill", "backend": "process", "passed": passed, "run_id": name,
              "config": {"node_timeout_ms": node_timeout, "seed": hash(name) % 1000, "out": str(d), "label": label},
              "measurements": {"failover_seconds": failover, "lost_writes": lost, "ops": {"ok": 1000, "fail": 5}},
              "context": {"fault_t": 5.0}, "per_second": [[4.0, 100, 0, 0, 1, 2], [6.0, 50, 50, 0, 1, 2]]}
    (d / "result.json").write_text(json.dumps(result))
    return d


def test_a_slower_failover_is_a_significant_regression(tmp_path):
    base = [make_run(tmp_path, f"a{i}", 1000, 2.0 + i / 10) for i in range(4)]
    slow = [make_run(tmp_path, f"b{i}", 3000, 4.0 + i / 10) for i in range(4)]
    out = tmp_path / "compare.html"
    result = CliRunner().invoke(cli, ["report", "compare", *map(str, base + slow), "--out", str(out)])
    assert result.exit_code == 1, result.output  # a regression, like a CI gate
    assert "node_timeout_ms=1000 (4 runs)" in result.output and "node_timeout_ms=3000 (4 runs)" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("failover_seconds"))
    # medians 2.15 → 4.15 (+93 %); 4 against 4 fully separated: exact p = 2/70
    assert "2.150 [2.000–2.300] n=4" in line and "+93% p=0.029 worse" in line
    assert "regression: failover_seconds: node_timeout_ms=3000 +93% against node_timeout_ms=1000" in result.output
    html = out.read_text()
    assert html.count("<svg") >= 3 and "a0/report.html" in html


def test_few_runs_warn_and_cannot_be_significant(tmp_path):
    base = [make_run(tmp_path, f"a{i}", 1000, 2.0 + i / 10) for i in range(3)]
    slow = [make_run(tmp_path, f"b{i}", 3000, 9.0, passed=False, lost=i) for i in range(3)]
    result = CliRunner().invoke(cli, ["report", "compare", *map(str, base + slow), "--out",
                                      str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output  # 3 against 3: p ≥ 0.10, never a regression
    assert "warning: group 'node_timeout_ms=1000' has 3 run(s)" in result.output
    failed = next(x for x in result.output.splitlines() if x.startswith("runs_failed"))
    assert "0/3 (≤63%)" in failed and "3/3 (≤100%) ~ p=0.100" in failed
    lost = next(x for x in result.output.splitlines() if x.startswith("runs_losing_writes"))
    assert "2/3" in lost


def test_labels_and_a_directory_of_runs(tmp_path):
    parent = tmp_path / "repeat"
    parent.mkdir()
    for i in range(2):
        make_run(parent, f"run-{i}", 1000, 2.0, label="before")
    after = [make_run(tmp_path, f"x{i}", 1000, 2.0, label="after") for i in range(2)]
    result = CliRunner().invoke(cli, ["report", "compare", str(parent), *map(str, after), "--label",
                                      "--baseline", "after", "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    assert "baseline: after; groups: before (2 runs); after (2 runs)" in result.output
    bad = CliRunner().invoke(cli, ["report", "compare", str(tmp_path / "x0"), "--baseline", "nope",
                                   "--out", str(tmp_path / "c.html")])
    assert bad.exit_code == 2 and "no such group" in bad.output


def test_lost_commits_count_as_runs_losing_writes(tmp_path):
    """source-kill's lost_commits, async against semi-sync by label."""
    runs = []
    for i, (label, lost) in enumerate([("async", 3), ("async", 0), ("semi-sync", 0), ("semi-sync", 0)]):
        d = make_run(tmp_path, f"r{i}", 1000, 2.0, label=label)
        result = json.loads((d / "result.json").read_text())
        result["scenario"] = "source-kill"
        result["measurements"] = {"lost_commits": lost, "promotion_seconds": 0.2}
        (d / "result.json").write_text(json.dumps(result))
        runs.append(d)
    result = CliRunner().invoke(cli, ["report", "compare", *map(str, runs), "--label", "--baseline", "semi-sync",
                                      "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0, result.output
    lost = next(x for x in result.output.splitlines() if x.startswith("runs_losing_writes"))
    assert "0/2" in lost and "1/2" in lost


def test_many_groups_get_short_names_a_legend_and_a_page_of_tables(tmp_path):
    """Five configurations that differ in three settings: groups named by the values that differ,
    their settings once, the terminal within 120 columns, the settings never compared as results."""
    runs = []
    configs = [(1000, "redis:7.0", 3), (3000, "redis:7.0", 3), (1000, "valkey:9.1", 3), (3000, "valkey:9.1", 6),
               (5000, "redis:7.0", 6)]
    for g, (timeout, server, masters) in enumerate(configs):
        for i in range(4):
            d = make_run(tmp_path, f"g{g}r{i}", timeout, timeout / 1000 + 1 + i / 10)
            r = json.loads((d / "result.json").read_text())
            r["config"].update(server=server, masters=masters, replicas_per_master=1)
            r["measurements"]["node_timeout_ms"] = timeout  # a setting echoed into the measurements
            (d / "result.json").write_text(json.dumps(r))
            runs.append(d)
    out = tmp_path / "compare.html"
    result = CliRunner().invoke(cli, ["report", "compare", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 1, result.output  # failover_seconds is worse in the slower groups
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 120, max(lines, key=len)
    assert "baseline: 3 · 1000 · redis:7.0" in lines and "groups:" in lines
    assert "  3 · 1000 · redis:7.0 (4 runs) = masters=3, node_timeout_ms=1000, server=redis:7.0" in lines
    assert not any(line.startswith("node_timeout_ms") for line in lines)  # a setting, not a result
    assert "failover_seconds" in lines  # a block per measurement: five groups do not fit side by side
    assert any(line.startswith("  6 · 5000 · redis:7.0 ") and "worse" in line for line in lines)
    page = out.read_text()
    assert "<pre>" not in page and page.count("<table>") >= 2 and "class='worse'" in page
    assert "<td>masters=3, node_timeout_ms=3000, server=redis:7.0</td>" in page
    # --baseline by its full name or its letter
    again = CliRunner().invoke(cli, ["report", "compare", *map(str, runs), "--out", str(out),
                                     "--baseline", "masters=3, node_timeout_ms=3000, server=redis:7.0"])
    assert "baseline: 3 · 3000 · redis:7.0" in again.output.splitlines()


def test_names_too_long_even_as_values_become_letters():
    from reports.compare import short_names

    assert short_names(["a=1", "a=2"]) == {"a=1": "a=1", "a=2": "a=2"}
    long = [f"image=registry.local:5000/team/redis-with-a-long-name:{v}, masters={m}" for v, m in (("7", 3), ("8", 6))]
    assert short_names(long) == {long[0]: "A", long[1]: "B"}


def test_a_soaks_episodes_compare_with_separate_runs(tmp_path):
    """Each episode of a soak is a run of scenario soak:KIND: its kills against master-kill runs."""
    runs = [make_run(tmp_path, f"mk{i}", 1000, 2.0 + i / 10) for i in range(5)]
    soak = tmp_path / "soak"
    soak.mkdir()
    episodes = [{"index": i + 1, "kind": "kill" if i % 3 else "pause", "skipped": None, "outcome": "ok",
                 "failover_seconds": 2.05 + i / 20, "write_unavailable_seconds": 2.1, "lost_writes": 0}
                for i in range(9)] + [{"index": 10, "kind": "kill", "skipped": "busy", "outcome": "skipped",
                                       "failover_seconds": None, "lost_writes": 0},
                                      {"index": 11, "kind": "kill", "skipped": None, "outcome": "ok", "overlaps": 12,
                                       "failover_seconds": 5.0, "lost_writes": 0},
                                      {"index": 12, "kind": "pause", "skipped": None, "outcome": "ok",
                                       "failover_seconds": 4.0, "lost_writes": 0}]
    (soak / "result.json").write_text(json.dumps({
        "scenario": "soak", "backend": "process", "passed": False, "run_id": "soak1",
        "config": {"node_timeout_ms": 1000, "faults": "kill,pause"}, "context": {"version": 2, "form": "redis-soak"},
        "measurements": {"episodes": episodes, "writable_fraction": 0.97}, "per_second": []}))
    out = tmp_path / "c.html"
    result = CliRunner().invoke(cli, ["report", "compare", *map(str, runs), str(soak), "--group-by", "scenario",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "scenario=master-kill (5 runs)" in result.output and "scenario=soak:kill (6 runs)" in result.output
    assert "scenario=soak:pause (3 runs)" in result.output and "scenario=soak (1 runs)" in result.output
    # under two faults at once: groups of their own, the episode and the one it started during
    assert "scenario=soak:kill+overlap (1 runs)" in result.output
    assert "scenario=soak:pause+overlap (1 runs)" in result.output
    kills = next(x for x in result.output.splitlines() if x.strip().startswith("scenario=soak:kill   "))
    assert "2.275 [2.100–2.450] n=6 +3% p=0.511 ~" in kills  # the first figure: failover_seconds
    assert "soak episode 2" in out.read_text()
