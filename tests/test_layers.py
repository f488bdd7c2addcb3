"""The architecture: layers by dependency, no import cycle, one job per file.

Layers (DESIGN.md): errors, arms, priors, record -> data -> models -> sampling ->
post-processing -> results -> plots -> report and command line. A module imports its own
layer and the layers before it; the few later-layer doors are named in ``DOORS`` and are
imported when called (``model.fit()`` hands over to the fitting pipeline; a result's
``plot_*()`` draws with a plot module). Plots see results only as type hints.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pwbayes"

#: Layers in order; a module belongs to the layer of its longest matching prefix.
LAYERS = (
    ("foundation", ("pwbayes._version", "pwbayes._text", "pwbayes._typed", "pwbayes.errors",
                    "pwbayes.arms", "pwbayes.priors", "pwbayes.record", "pwbayes.intervals")),
    ("data", ("pwbayes.data", "pwbayes.examples")),
    ("models", ("pwbayes.models",)),
    ("sampling", ("pwbayes.sampling",)),
    ("postprocess", ("pwbayes.postprocess",)),
    ("results", ("pwbayes.results",)),
    ("fitting", ("pwbayes.fitting",)),
    ("design", ("pwbayes.design",)),
    ("plots", ("pwbayes.plots",)),
    ("top", ("pwbayes.report", "pwbayes.report_checks", "pwbayes.spec", "pwbayes.cli",
             "pwbayes.checks", "pwbayes.design_spec", "pwbayes.design_report",
             "pwbayes.design_run", "pwbayes")),
)  # fmt: skip
#: Imports of a later layer, made inside a function: the only ones allowed.
DOORS = {
    ("pwbayes.models.base", "pwbayes.fitting"),
    ("pwbayes.results.base", "pwbayes.plots.forest"),
    ("pwbayes.results.person", "pwbayes.plots.subgroups"),
    ("pwbayes.results.summary", "pwbayes.checks.loo"),
    ("pwbayes.results.summary", "pwbayes.checks.sensitivity"),
    ("pwbayes.results.summary", "pwbayes.checks.ppc"),
    ("pwbayes.results.person", "pwbayes.checks.loo_person"),
    ("pwbayes.results.person", "pwbayes.checks.ppc_person"),
    ("pwbayes.results.person", "pwbayes.checks.loo_persons"),
    ("pwbayes.results.person", "pwbayes.checks.sensitivity"),
    ("pwbayes.results.base", "pwbayes.plots.moderators"),
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80  # code lines, docstring excluded; numba kernels are exempt


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The pwbayes modules an import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.startswith("pwbayes")]
    base = module.split(".")
    if node.level:
        base = base[: len(base) - node.level + (1 if is_package else 0)]
    target = ".".join([*base, node.module] if node.module else base) if node.level else node.module
    if not target or not target.startswith("pwbayes"):
        return []
    out = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return out or [target]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(module: str) -> list[tuple[str, str]]:
    """``(target, when)`` for every pwbayes import: ``runtime``, ``lazy`` or ``typing``."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    found = []

    def visit(node: ast.AST, when: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((t, when) for t in _resolve(module, is_package, child))
            elif _is_type_checking(child):
                visit(child, "typing")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, "typing" if when == "typing" else "lazy")
            else:
                visit(child, when)

    visit(ast.parse(path.read_text()), "runtime")
    return found


def layer(module: str) -> int:
    best = (-1, -1)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                best = max(best, (len(prefix), rank))
    assert best[1] >= 0, f"{module} is in no layer; add it to LAYERS"
    return best[1]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph as a list of nodes, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def runtime_graph() -> dict[str, set[str]]:
    return {
        m: {t for t, when in imports(m) if when == "runtime" and t in MODULES and t != m}
        for m in MODULES
    }


# ---------------------------------------------------------------------------- the tests
def test_no_import_cycle():
    cycle = find_cycle(runtime_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    mine = layer(module)
    for target, when in imports(module):
        if when == "typing" or target not in MODULES or layer(target) <= mine:
            continue
        assert when == "lazy" and (module, target) in DOORS, (
            f"{module} ({LAYERS[mine][0]}) imports {target} ({LAYERS[layer(target)][0]}) "
            f"at {when}; a later layer may only be reached through DOORS"
        )


def test_a_layer_violation_would_be_caught():
    assert layer("pwbayes.models.person.graph") < layer("pwbayes.results.base")
    assert layer("pwbayes") == len(LAYERS) - 1 and layer("pwbayes.data.person") == 1


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("pwbayes.plots")))
def test_plots_see_results_only_as_type_hints_and_never_sample(module):
    for target, when in imports(module):
        if when == "typing":
            continue
        later = ("results", "fitting", "models", "sampling", "postprocess")
        assert not target.startswith(tuple(f"pwbayes.{x}" for x in later)), target
    assert not external_imports(module) & {"pymc", "nutpie", "pytensor"}


def external_imports(module: str) -> set[str]:
    """Top-level names of the non-pwbayes packages a module imports (anywhere in it)."""
    names = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names - {"pwbayes"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("pwbayes.models")))
def test_models_never_import_matplotlib(module):
    assert "matplotlib" not in external_imports(module)


def test_data_layer_needs_no_pymc():
    code = (
        "import sys; import pwbayes, pwbayes.data.validate, pwbayes.data.synthetic; "
        "pwbayes.examples.summary_effects(); pwbayes.parse_arm('Extra Hulp'); "
        "print('pymc' in sys.modules, 'matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_lazy_public_api():
    import pwbayes as pw

    assert pw.SummaryModel.__module__ == "pwbayes.models.summary"
    assert callable(pw.load_result) and callable(pw.result_from_draws)
    with pytest.raises(AttributeError, match="no attribute 'Model'"):
        pw.Model  # noqa: B018


@pytest.mark.parametrize("module", sorted(MODULES))
def test_one_job_per_file(module):
    path = MODULES[module]
    lines = path.read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines"
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef) or any(
            "njit" in ast.unparse(d) for d in node.decorator_list
        ):
            continue
        body = node.body[1:] if ast.get_docstring(node) else node.body
        length = body[-1].end_lineno - body[0].lineno + 1
        assert length <= MAX_FUNCTION_LINES, f"{node.name}: {length} lines of code"


def test_package_ships_type_information():
    assert (SRC / "py.typed").is_file()


def test_license_and_citation_match_the_package():
    import pwbayes as pw

    root = SRC.parents[1]
    assert "MIT License" in (root / "LICENSE").read_text()
    citation = (root / "CITATION.cff").read_text()
    assert f'version: "{pw.__version__}"' in citation
