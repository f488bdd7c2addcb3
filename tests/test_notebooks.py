"""Notebooks are executed end to end (with few draws) so that they never rot, and their
stored outputs must match what the code prints now."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from helpers import COLUMNS, fake_person_result, fake_result
from nbclient import NotebookClient

import pwbayes as pw

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("PWBAYES_NOTEBOOK_DRAWS", "500")
    monkeypatch.setenv("PWBAYES_NOTEBOOK_SIZE", "0.3")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = " ".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "SYNTHETIC" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_notebooks_exist():
    assert [p.name for p in NOTEBOOKS][:4] == [
        "01_pooling_six_municipalities.ipynb",
        "02_person_level.ipynb",
        "03_wat_werkt_voor_wie.ipynb",
        "04_next_experiment.ipynb",
    ]
    assert os.path.getsize(NOTEBOOKS[0]) > 1000


def _stored_texts(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            yield str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))


def _fields(text: str, name: str) -> list[tuple[str, ...]]:
    """The keyword names of every ``Name(key=value, ...)`` text of ``name`` in ``text``."""
    found = []
    for match in re.finditer(rf"\b{name}\(([^\n]*)\)", text):
        found.append(tuple(re.findall(r"(\w+)=", match.group(1))))
    return found


@pytest.fixture(scope="module")
def current_reprs():
    """What the code prints now for each result class (fake posteriors)."""
    summary = fake_result(pw.SummaryModel(pw.examples.summary_effects(), **COLUMNS))
    people = pw.examples.simulate_participants(random_seed=1, size=0.2).data
    person = pw.PersonModel(people, site="municipality", arm="arm", outcome="work_gt_8h",
                            comparison={"Groningen": "reference"})  # fmt: skip
    return {
        "SummaryResult": _fields(repr(summary), "SummaryResult")[0],
        "PersonResult": _fields(repr(fake_person_result(person)), "PersonResult")[0],
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_match_the_code(path, current_reprs):
    """Re-execute with scripts/execute_notebooks.py when this fails."""
    nb = nbformat.read(path, as_version=4)
    stored = nb.metadata.get("pwbayes", {}).get("version")
    assert stored == pw.__version__, f"{path.name} was executed with pwbayes {stored}"
    text = "\n".join(_stored_texts(nb))
    for name, fields in current_reprs.items():
        for found in _fields(text, name):
            assert found == fields, f"{path.name}: stored {name}{found}, code prints {fields}"
    assert "config" not in text  # the 0.1 API
