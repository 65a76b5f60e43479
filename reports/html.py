"""report.html: one self-contained page per run (no network at view time, no scripts): the
verdict, failed checks first, the headline measurements as tiles, the charts inlined as SVG,
then the tables. Rendered from result.json and the charts drawn beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from chaos.engine.report_writers import ReportFormat
from reports import charts as chart_module
from reports import client_view
from reports.markdown import EPISODE_KEY, _fmt, attached_line, replication_line

SOURCE = (Path(__file__).parent / "report.html.j2").read_text()


ENV = jinja2.Environment(autoescape=True)
ENV.filters["fmt"] = _fmt
TEMPLATE = ENV.from_string(SOURCE)


def render(result: dict[str, Any], run_dir: Path | None = None) -> str:
    m = result.get("measurements") or {}
    verdict = "INTERRUPTED" if result.get("interrupted") else ("PASSED" if result.get("passed") else "FAILED")
    charts = chart_module.existing(run_dir) if run_dir is not None else []
    svgs = {}
    for c in charts:
        try:
            svgs[c.name] = Markup(chart_module.inline_svg(run_dir, c))
        except OSError:
            continue
    headline = result.get("headline") or [k for k, v in m.items() if isinstance(v, int | float)][:8]
    lost: list[str] = []
    if run_dir is not None:
        for name in ("lost-writes.txt", "lost-rows.txt", "lost-commits.txt"):
            try:
                lost = (run_dir / name).read_text().split()[:20]
                break
            except FileNotFoundError:
                continue
    return TEMPLATE.render(
        r=result, m=m, verdict=verdict, charts=[c for c in charts if c.name in svgs], svgs=svgs,
        bad=[c for c in result.get("checks", []) if c.get("status", "pass" if c.get("passed") else "fail") != "pass"],
        tiles=[(k, m.get(k)) for k in headline],
        scalars=[(k, v) for k, v in m.items() if not isinstance(v, dict | list)],
        lost=lost,
        clients=client_view.rows(m), clients_header=client_view.header(m), clients_explain=client_view.EXPLAIN,
        clients_server=client_view.server_side(m),
        replication=replication_line(result), episode_key=EPISODE_KEY.replace("`", ""),
        attached=attached_line(result["topology"]["attached"]).replace("`", "")
        if (result.get("topology") or {}).get("attached") else None,
    )


FORMAT = ReportFormat("report.html", render, order=20)
