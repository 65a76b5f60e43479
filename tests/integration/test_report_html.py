"""report.html of a real short run, rendered in headless Chromium as a person would see it."""

import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from tests.conftest import require


def chromium(*args):
    return subprocess.run([shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def state_dir(torn_down):
    require("redis-server")
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed; ./scripts/test installs it")
    return torn_down


def test_report_html_renders_every_chart_without_errors(state_dir, tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["--state-dir", str(state_dir.path), "run", "master-kill", "--node-timeout-ms",
                                      "1000", "--base-port", "7531", "--duration", "7", "--warmup", "2.5",
                                      "--users", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out / "report.html"
    html = page.read_text()
    index = json.loads((out / "charts" / "index.json").read_text())
    assert [c["name"] for c in index] == ["throughput", "failover", "latency", "roles", "offsets"]
    assert "<script" not in html and set(re.findall(r"https?://[^\"' )<]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert "master-kill — PASSED" in html
    # the latency chart came from the series the checkers' pass kept, the same as the history gives
    from reports.charts import latency_series

    kept = json.loads((out / "latency-series.json").read_text())
    assert kept["t"] and kept == json.loads(json.dumps(latency_series(out / "history.jsonl")))
    md = (out / "report.md").read_text()
    assert all(f"]({c['png']})" in md and (out / c["png"]).stat().st_size > 5000 for c in index)

    dom = chromium("--dump-dom", page.as_uri()).stdout
    sizes = re.findall(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"', dom)
    assert len(sizes) == len(index) and all(float(w) > 100 and float(h) > 50 for w, h in sizes)

    shot = out / "report.png"
    run = chromium("--enable-logging=stderr", "--v=0", "--window-size=1100,2600", f"--screenshot={shot}",
                   page.as_uri())
    assert "CONSOLE" not in run.stderr, run.stderr
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[0] >= 2600 and (pixels[..., :3] < 0.9).mean() > 0.03  # a page with ink on it

    again = CliRunner().invoke(cli, ["report", str(out), "--format", "html"])
    assert again.exit_code == 0 and again.output.strip() == str(page.absolute())
    as_json = CliRunner().invoke(cli, ["report", str(out), "--format", "json"])
    assert json.loads(as_json.output)["scenario"] == "master-kill"
