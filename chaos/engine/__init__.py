"""The run engine. A scenario is a :class:`Plan`: steps over a typed run state, then
measurements and checks (Chaos Toolkit's shape: steady state → method → verify, rollbacks
always run). The package's modules, each one concept:

* :mod:`~chaos.engine.config`: :class:`RunConfig` (settings every run has) and :class:`Outcome`;
* :mod:`~chaos.engine.state`: typed run state (:class:`RunState`, :class:`Slot`) and the
  fault ledger (:class:`FaultLedger`, :class:`FaultRecord`);
* :mod:`~chaos.engine.steps`: the steps, what each reads and writes, :func:`check_plan`;
* :mod:`~chaos.engine.context`: :class:`RunContext`, what steps see (inject, heal, waits);
* :mod:`~chaos.engine.loop`: :class:`Engine`, the loop and its cleanups, :func:`measure_live`;
* :mod:`~chaos.engine.verdict`: :func:`judge`, result.json, the summary table;
* :mod:`~chaos.engine.rundir`: the run directory's files (final read, timeline, result.json);
* :mod:`~chaos.engine.report_writers`: report writers by declared kind;
* :mod:`~chaos.engine.repeat`: ``--repeat`` and ``--matrix``;
* :mod:`~chaos.engine.reanalyze`: `chaos analyze`;
* :mod:`~chaos.engine.command`: a scenario's command from its plan and config class.

Nothing here imports ``scenarios/`` or ``reports/``: scenarios and report writers are found
through entry points (``chaos.scenarios``, ``chaos.reports``)."""

from chaos.engine.config import Outcome, RunConfig
from chaos.engine.context import RunContext
from chaos.engine.loop import Engine, measure_live
from chaos.engine.reanalyze import reanalyze, update_final_metrics
from chaos.engine.repeat import matrix_servers, run_plan
from chaos.engine.report_writers import (
    ReportFormat,
    RunComparison,
    RunWriter,
    report_formats,
    report_text,
    report_writers,
    write_reports,
)
from chaos.engine.rundir import (
    FinalReadLog,
    ReadFinal,
    StoredFinalRead,
    Timeline,
    copy_node_files,
    iter_final_read,
    per_second,
    read_result,
    read_timeline,
)
from chaos.engine.state import FaultLedger, FaultRecord, RunState, Slot, StateError
from chaos.engine.steps import (
    Action,
    Do,
    Heal,
    Inject,
    Phase,
    Plan,
    PlanError,
    SleepUntil,
    Step,
    WaitUntil,
    action,
    check_plan,
)
from chaos.engine.verdict import SCHEMA_VERSION, finish, judge, summary_table

__all__ = [
    "SCHEMA_VERSION", "Action", "Do", "Engine", "FaultLedger", "FaultRecord", "FinalReadLog", "Heal", "Inject",
    "Outcome", "Phase", "Plan", "PlanError", "ReadFinal", "ReportFormat", "RunComparison", "RunConfig", "RunContext",
    "RunState", "RunWriter", "SleepUntil", "Slot", "StateError", "Step", "StoredFinalRead", "Timeline", "WaitUntil",
    "action", "check_plan", "copy_node_files", "finish", "iter_final_read", "judge", "matrix_servers",
    "measure_live", "per_second", "reanalyze", "read_result", "read_timeline", "report_formats", "report_text",
    "report_writers", "run_plan", "summary_table", "update_final_metrics", "write_reports",
]
