"""`chaos suite` without servers: suite files checked before anything starts (errors name the
line), and the scorecard and its recommendations from literal results."""

import json

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.errors import ChaosError
from chaos.resilience import scorecard
from chaos.suite import check_extra, entries_of, load_suite, to_args
from reports import resilience

GOOD = """name = "nightly"
[defaults]
node-timeout-ms = 1000

[[run]]
scenario = "master-kill"
slo = ["write_unavailable_seconds<=6"]

[[run]]
scenario = "partition"
name = "partition-replica"
options = { isolate = "replica", keep = false }
"""


def suite_file(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


def test_a_suite_file_becomes_checked_runs(tmp_path):
    data, source = load_suite(suite_file(tmp_path, GOOD))
    kill, part = entries_of(data, source)
    assert (kill.name, kill.scenario, kill.line) == ("master-kill", "master-kill", 5)
    assert kill.args == ["--node-timeout-ms", "1000", "--slo", "write_unavailable_seconds<=6"]
    assert (part.name, part.line) == ("partition-replica", 9)
    assert part.args == ["--node-timeout-ms", "1000", "--isolate", "replica"]
    assert to_args({"keep": True, "slo": ["a<=1", "b<=2"]}) == ["--keep", "--slo", "a<=1", "--slo", "b<=2"]
    assert [e.name for e in entries_of(*load_suite("redis"))] == [
        "master-kill", "master-pause", "partition-master", "partition-replica", "scale-out", "scale-in"]


@pytest.mark.parametrize("text,message", [
    (GOOD.replace('scenario = "partition"', 'scenario = "partitoin"'), ":9: run 2: unknown scenario 'partitoin'"),
    (GOOD.replace("isolate =", "isolation ="), ":9: run 2 (partition): No such option '--isolation'"),
    (GOOD.replace("<=6", "<<6"), ":5: run 1 (master-kill):"),
    (GOOD.replace("node-timeout-ms = 1000", "repeat = 3"), "repeat is set by the suite"),
    (GOOD + "[[run]]\nname = 'x'\n", ":13: run 3 names no scenario"),
    (GOOD.replace("[defaults]", "[defaults"), "not valid TOML"),
    ('name = "empty"\n', "no [[run]] tables"),
])
def test_a_bad_suite_is_refused_in_one_line_naming_the_line(tmp_path, text, message):
    path = suite_file(tmp_path, text)
    with pytest.raises(ChaosError, match=None) as err:
        entries_of(*load_suite(path))
    assert message in str(err.value), str(err.value)
    result = CliRunner().invoke(cli, ["--state-dir", str(tmp_path / "state"), "suite", "--suite", path,
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing started


def run(name, passed=True, **m):
    return {"dir": name, "result": {"passed": passed, "measurements": m, "checks": [
        {"name": "no_lost_writes", "status": "pass" if not m.get("lost_writes") else "fail"},
        {"name": "write_unavailable_seconds<=6", "status": "pass" if m.get("write_unavailable_seconds", 0) <= 6
         else "fail"}]}}


def test_options_for_every_run_leave_out_the_built_in_runs_that_cannot_take_them(tmp_path):
    entries = entries_of(*load_suite("redis"))
    for e in entries:
        e.args += ["--attach", "redis://127.0.0.1:7001"]
    kept, skipped = check_extra(entries, skip_unfit=True)
    assert [e.name for e in kept] == ["master-kill", "master-pause", "partition-master", "partition-replica"]
    assert skipped == [{"name": "scale-out", "scenario": "scale-out", "why": "scale-out does not take --attach"},
                       {"name": "scale-in", "scenario": "scale-in", "why": "scale-in does not take --attach"}]
    with pytest.raises(ChaosError, match=r"in run scale-out: scale-out does not take --attach"):
        check_extra(entries)  # a suite file named its runs: an error there
    bad = entries_of(*load_suite("redis"))
    for e in bad:
        e.args += ["--node-timeout-ms", "nope"]
    with pytest.raises(ChaosError, match="node-timeout-ms"):
        check_extra(bad, skip_unfit=True)  # a bad value is never skipped


def test_the_scorecard_and_recommendations_follow_from_the_runs():
    entries = [
        {"name": "master-kill", "scenario": "master-kill", "planned": 3, "slos": ["write_unavailable_seconds<=6"],
         "runs": [run("01-a-01", write_unavailable_seconds=5.1, failover_seconds=4.9, node_timeout_ms=3000),
                  run("01-a-02", write_unavailable_seconds=5.3, failover_seconds=5.0, node_timeout_ms=3000),
                  run("01-a-03", False, write_unavailable_seconds=7.0, failover_seconds=5.2, node_timeout_ms=3000,
                      lost_writes=2)]},
        {"name": "scale-out", "scenario": "scale-out", "planned": 3,
         "runs": [run("02-b-01", moved_slots_write_pause_seconds=0.9, migration_seconds=3.4)]},
    ]
    card = scorecard({"name": "nightly", "source": "x.toml"}, entries, complete=False)
    kill, scale = card["rows"]
    assert (card["runs"], card["planned"], card["passed"], card["complete"]) == (4, 6, 3, False)
    assert kill["passed"] == 2 and kill["failure_rate_upper"] == pytest.approx(0.8646, abs=1e-3)
    assert kill["write_outage_seconds"] == {"median": 5.3, "worst": 7.0, "n": 3, "interval": [5.1, 7.0],
                                            "interval_kind": "min–max"}
    assert kill["recovery_measurement"] == "failover_seconds" and kill["recovery_seconds"]["median"] == 5.0
    assert kill["lost_acknowledged"] == 2 and kill["slos"] == [{"slo": "write_unavailable_seconds<=6", "met": 2,
                                                               "of": 3}]
    assert scale["write_outage_measurement"] == "moved_slots_write_pause_seconds"
    assert scale["recovery_what"] == "slots moved" and scale["runs"] == 1
    because = " ".join(r["because"] for r in card["recommendations"])
    assert "2 acknowledged write(s) lost in 3 run(s)" in because
    assert "the promotion took 5.00 s (median of 3) at cluster-node-timeout 3000 ms: the timeout, plus 2.00 s" in because
    assert "paused for up to 0.90 s" in because
    md = resilience.markdown(card)
    assert "INCOMPLETE" in md and "| master-kill | 2 of 3 | 86% | 5.30 s | 7.00 s |" in md
    assert "[01-a-03](01-a-03/report.md)" in md and "write_unavailable_seconds<=6: 2/3" in md
    page = resilience.page(card)
    assert "<tr class='bad'>" in page and "01-a-01/report.html" in page and "2 of 3" in page
    json.dumps(card)  # resilience.json is plain JSON


def suite_dir(root, name, timeout, failovers):
    """A suite directory as `chaos suite` leaves it: suite.json, runs, resilience.json."""
    from chaos.suite import Entry, write_report

    parent = root / name
    parent.mkdir()
    (parent / "suite.json").write_text("{}")
    for k, f in enumerate(failovers):
        d = parent / f"01-master-kill-{k + 1:02d}"
        d.mkdir()
        (d / "result.json").write_text(json.dumps({
            "scenario": "master-kill", "passed": True, "config": {"node_timeout_ms": timeout, "seed": k},
            "measurements": {"failover_seconds": f, "write_unavailable_seconds": f + 0.1, "lost_writes": 0,
                             "node_timeout_ms": timeout}, "checks": []}))
    write_report(parent, {"name": name}, "test", [Entry("master-kill", "master-kill", [], [])], len(failovers), True)
    return parent


def test_two_suites_compared_row_by_row_name_the_setting_that_made_the_difference(tmp_path):
    fast = suite_dir(tmp_path, "nt1000", 1000, [1.9, 2.0, 2.1, 2.2])
    slow = suite_dir(tmp_path, "nt3000", 3000, [4.0, 4.1, 4.2, 4.3])
    out = tmp_path / "suites.html"
    result = CliRunner().invoke(cli, ["report", "compare", str(fast), str(slow), "--out", str(out)])
    assert result.exit_code == 1, result.output  # the failover got significantly slower
    lines = result.output.splitlines()
    assert "master-kill (4 → 4 runs)" in lines
    assert "  recovery      2.05 → 4.15 s +102% p=0.029 worse" in lines
    assert "  made the difference: node_timeout_ms: 1000 → 3000" in lines
    assert "<b>made the difference:</b> node_timeout_ms: 1000 → 3000" in out.read_text()
    same = suite_dir(tmp_path, "again", 1000, [2.0, 2.1, 1.9, 2.2])
    result = CliRunner().invoke(cli, ["report", "compare", str(fast), str(same), "--out", str(out)])
    assert result.exit_code == 0 and "made the difference" not in result.output, result.output


def test_the_client_view_becomes_one_finding_per_library():
    from chaos.resilience import client_findings

    ms = [{"write_unavailable_seconds": 2.1, "clients": [
              {"client": "redis-py", "label": "redis-py 8.1.0", "write_unavailable_seconds": 2.4,
               "longest_call_seconds": 1.03, "lost_writes": 0, "lost_increments": 0, "died_early": False},
              {"client": "ioredis", "label": "ioredis 5.8.2", "write_unavailable_seconds": 9.7,
               "longest_call_seconds": 9.6, "lost_writes": 3, "lost_increments": 1, "died_early": False}]},
          {"write_unavailable_seconds": 2.0, "clients": [
              {"client": "redis-py", "label": "redis-py 8.1.0", "write_unavailable_seconds": 3.5,
               "longest_call_seconds": 2.0, "lost_writes": 0, "lost_increments": 0, "died_early": True}]},
          {"write_unavailable_seconds": 1.0}]
    assert client_findings(ms) == [
        "client ioredis 5.8.2: worst write gap 9.70 s (the recorder's in that run 2.10 s), longest call 9.60 s, "
        "4 acknowledged write(s) lost over 1 run(s)",
        "client redis-py 8.1.0: worst write gap 3.50 s (the recorder's in that run 2.00 s), longest call 2.00 s, "
        "0 acknowledged write(s) lost over 2 run(s), crashed in 1",
    ]
    assert client_findings([{"write_unavailable_seconds": 1.0}]) == []
