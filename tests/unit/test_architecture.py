"""The package's shape, as ../shared/DESIGN.md draws it: no import cycles (a module that needs
another only for type hints imports it under TYPE_CHECKING), chaos/ never imports scenarios/ or
reports/, only loadgen/ imports locust, and every scenario's plan passes the plan check."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chaos", "scenarios", "reports", "loadgen")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def runtime_imports(path: Path) -> set[str]:
    """Every module imported anywhere in the file (also inside functions), except under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING"
               for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {d for d in runtime_imports(path) if d in mods and d != name} for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_chaos_never_imports_scenarios_or_reports_and_only_loadgen_imports_locust():
    mods = modules()
    for name, path in mods.items():
        imported = runtime_imports(path)
        if name.startswith("chaos"):
            assert not any(d.split(".")[0] in ("scenarios", "reports") for d in imported), name
        if not name.startswith("loadgen"):
            assert not any(d.split(".")[0] in ("locust", "gevent") for d in imported), name


@pytest.mark.parametrize("name", ["master-kill", "master-pause", "master-stop", "partition", "replica-stop", "scale-in",
                                  "scale-out"])
def test_every_scenario_plan_passes_the_plan_check(name):
    from chaos.engine import check_plan
    from chaos.scenarios_registry import plan

    check_plan(plan(name))


def test_a_failover_plan_that_never_chooses_a_victim_is_refused():
    from chaos.engine import PlanError, action, check_plan
    from chaos.steps.redis_failover import failover_plan

    plan = failover_plan("no-victim", "forgets to choose", [], choose=action()(lambda ctx: None), key="kill",
                         make=action(reads=["cluster"])(lambda ctx: None), then=lambda ctx: None,
                         promote_timeout=lambda ctx: 1.0)
    with pytest.raises(PlanError, match="step 'inject kill' needs 'victim'"):
        check_plan(plan)
