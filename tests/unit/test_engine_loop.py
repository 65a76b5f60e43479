"""The engine's loop documented by tests, in milliseconds: fake faults and a fake topology kind
(a run state of its own), no servers. The order of inject, heal and cleanup; crashes and
interrupts; the plan check that refuses a plan before anything starts."""

import json

import pytest

from chaos.checkers.compose import Check
from chaos.engine import (
    Do,
    Engine,
    Heal,
    Inject,
    Phase,
    Plan,
    PlanError,
    RunConfig,
    RunState,
    Slot,
    StateError,
    WaitUntil,
    action,
    check_plan,
    measure_live,
)
from chaos.errors import RunCrashed
from chaos.faults import Fault
from chaos.history import read_history
from chaos.state import StateDir


class FakeState(RunState):
    KIND = "fake"
    topology = Slot[list]("the fake topology's nodes")
    fault = Slot[object]("the ledger record of the fault")
    ready = Slot[object]("the wait's result")
    events = Slot[list]("what happened, in order", factory=list)


class FakeFault(Fault):
    def __init__(self, events, target, fail_inject=False, fail_heal=False):
        self.events, self.target, self.fail_inject, self.fail_heal = events, target, fail_inject, fail_heal
        self.name, self.heal_name = "fake", "unfake"

    def inject(self):
        self.events.append(f"inject {self.target}")
        if self.fail_inject:
            raise RuntimeError("half done")

    def heal(self):
        self.events.append(f"heal {self.target}")
        if self.fail_heal:
            raise RuntimeError("heal failed")


@action(writes=["topology"])
def provision(ctx):
    ctx.state.topology = ["n1", "n2"]
    ctx.cleanup(lambda: ctx.state.events.append("teardown"))


def fault_on(target, **kwargs):
    return action(reads=["topology"])(lambda ctx: FakeFault(ctx.state.events, target, **kwargs))


def measured(checks):
    @action(reads=["topology"])
    def measure(ctx):
        measure_live(ctx, lambda keys: [None] * len(keys), {})

    def plan_measure(run_dir, context, read_final, live):
        return {"answer": 42}, checks
    return measure, plan_measure


def plan_of(steps, measure=lambda *a: ({}, [])):
    return Plan("fake", "a fake plan", steps, measure, known={"answer"}, headline=["answer"], state=FakeState)


def engine(plan, tmp_path):
    return Engine(plan, RunConfig(out=str(tmp_path / "run")), StateDir(tmp_path / "state"))


def nemesis(run_dir):
    return [(op.f, op.type) for op in read_history(run_dir / "history.jsonl") if op.process == "nemesis"]


def test_faults_heal_last_injected_first_and_the_teardown_comes_after_them(tmp_path):
    e = engine(plan_of([Do(provision), Inject("a", fault_on("n1")), Inject("b", fault_on("n2")), Do(lambda c: 1 / 0)]),
               tmp_path)
    with pytest.raises(RunCrashed, match="in step '<lambda>'.*ZeroDivisionError"):
        e.run()
    assert e.ctx.state.events == ["inject n1", "inject n2", "heal n2", "heal n1", "teardown"]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["passed"] is False and "ZeroDivisionError" in result["error"] and result["checks"] == []
    assert [(f["key"], f["injected_at"] is not None, f["healed_at"] is not None) for f in result["faults"]] == [
        ("a", True, True), ("b", True, True)]
    assert nemesis(tmp_path / "run") == [("fake", "invoke"), ("fake", "ok"), ("fake", "invoke"), ("fake", "ok"),
                                         ("unfake", "invoke"), ("unfake", "ok"), ("unfake", "invoke"),
                                         ("unfake", "ok")]
    assert (tmp_path / "run" / "error.txt").read_text().startswith("Traceback")


def test_a_fault_that_half_happened_is_still_healed(tmp_path):
    e = engine(plan_of([Do(provision), Inject("a", fault_on("n1", fail_inject=True))]), tmp_path)
    with pytest.raises(RunCrashed, match="half done"):
        e.run()
    assert e.ctx.state.events == ["inject n1", "heal n1", "teardown"]
    assert nemesis(tmp_path / "run") == [("fake", "invoke"), ("fake", "info"), ("unfake", "invoke"),
                                         ("unfake", "ok")]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["faults"][0]["injected_at"] is None  # never acknowledged


def test_an_explicit_heal_is_not_repeated_by_the_cleanup(tmp_path):
    measure, plan_measure = measured([Check("answered", "answer", lambda v: v == 42)])
    e = engine(plan_of([Do(provision), Inject("a", fault_on("n1"), into="fault"), Heal("a"), Do(measure)],
                       plan_measure), tmp_path)
    assert e.run() == 0
    assert e.ctx.state.events == ["inject n1", "heal n1", "teardown"]
    record = e.ctx.state.fault
    assert record.key == "a" and record.injected_t <= record.heal_started_t <= record.healed_t


def test_a_failed_heal_is_tried_again_by_the_cleanup_and_the_run_does_not_pass(tmp_path):
    measure, plan_measure = measured([Check("answered", "answer", lambda v: v == 42)])
    e = engine(plan_of([Do(provision), Inject("a", fault_on("n1", fail_heal=True)), Heal("a"), Do(measure)],
                       plan_measure), tmp_path)
    with pytest.raises(RunCrashed, match="heal failed"):
        e.run()
    assert e.ctx.state.events == ["inject n1", "heal n1", "heal n1", "teardown"]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["passed"] is False


def test_an_interrupt_heals_cleans_up_and_leaves_an_interrupted_result(tmp_path):
    def interrupt(ctx):
        raise KeyboardInterrupt

    e = engine(plan_of([Do(provision), Inject("a", fault_on("n1")), Do(interrupt)]), tmp_path)
    with pytest.raises(KeyboardInterrupt):
        e.run()
    assert e.ctx.state.events == ["inject n1", "heal n1", "teardown"]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["interrupted"] is True and result["passed"] is False


def test_a_finished_run_passes_only_with_checks_that_pass(tmp_path):
    for checks, code in (([Check("answered", "answer", lambda v: v == 42)], 0),
                         ([Check("answered", "answer", lambda v: v == 41)], 1), ([], 1)):
        measure, plan_measure = measured(checks)
        out = tmp_path / f"c{code}{len(checks)}"
        e = engine(plan_of([Do(provision), Phase("fault"), Do(measure)], plan_measure), out)
        assert e.run() == code
        result = json.loads((out / "run" / "result.json").read_text())
        assert result["passed"] is (code == 0) and result["measurements"] == {"answer": 42}
        assert result["kind"] == "fake"


def test_a_wait_keeps_what_came_true_and_a_skipped_wait_leaves_its_slot_none(tmp_path):
    plan = plan_of([Do(provision),
                    WaitUntil("ready", action(reads=["topology"])(lambda c: c.state.topology[0]), lambda c: 1.0),
                    Do(action(reads=["ready"])(lambda c: c.state.events.append(c.state.ready)))])
    e = engine(plan, tmp_path)
    assert e.run() == 1  # it never measured: no check, no pass
    assert e.ctx.state.events == ["n1", "teardown"]
    skipped = engine(plan_of([Do(provision), WaitUntil("ready", lambda c: True, lambda c: 1.0, when=lambda c: False)]),
                     tmp_path / "2")
    assert skipped.run() == 1 and skipped.ctx.state.ready is None


def test_a_plan_whose_step_needs_a_value_no_earlier_step_provides_is_refused_before_anything_starts(tmp_path):
    needs = action(reads=["topology"])(lambda c: None)
    plan = plan_of([Do(needs), Do(provision)])  # provision comes too late
    with pytest.raises(PlanError, match="step '<lambda>' needs 'topology'.*no earlier step provides") as caught:
        engine(plan, tmp_path)
    assert caught.value.exit_code == 2
    assert not (tmp_path / "run").exists() and not (tmp_path / "state").exists()


def test_a_plan_naming_a_slot_its_state_lacks_or_healing_what_nothing_injects_is_refused():
    with pytest.raises(PlanError, match="names 'topolgy', which FakeState has no slot for"):
        check_plan(plan_of([Do(action(writes=["topolgy"])(lambda c: None))]))
    with pytest.raises(PlanError, match="heals 'b', which no earlier step injects"):
        check_plan(plan_of([Do(provision), Inject("a", fault_on("n1")), Heal("b")]))
    check_plan(plan_of([Do(provision), Inject("a", fault_on("n1")), Heal("a")]))  # the right order passes


def test_reading_a_slot_no_step_wrote_names_it():
    state = FakeState()
    with pytest.raises(StateError, match="FakeState.topology .the fake topology's nodes. was read before"):
        state.topology  # noqa: B018
    assert state.events == [] and not state.provided("topology") and state.provided("events")
