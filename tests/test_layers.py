"""The dependency layers of DESIGN.md: data needs pandas only, models never plot,
plots never sample."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "pwbayes"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


@pytest.mark.parametrize("path", sorted((SRC / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_never_import_matplotlib(path):
    assert not [n for n in _imports(path) if "matplotlib" in n or "plots" in n]


@pytest.mark.parametrize("path", sorted((SRC / "plots").glob("*.py")), ids=lambda p: p.name)
def test_plots_never_sample(path):
    bad = [
        n
        for n in _imports(path)
        if n.split(".")[0] in {"pymc", "nutpie"} or "sampling" in n or "models" in n
    ]
    assert not bad


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
    assert callable(pw.load_result)
    with pytest.raises(AttributeError, match="no attribute 'Model'"):
        pw.Model  # noqa: B018
