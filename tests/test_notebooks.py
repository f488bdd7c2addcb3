"""Notebooks are executed end to end (with few draws) so that they never rot."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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
    assert [p.name for p in NOTEBOOKS][:3] == [
        "01_pooling_six_municipalities.ipynb",
        "02_person_level.ipynb",
        "03_wat_werkt_voor_wie.ipynb",
    ]
    assert os.path.getsize(NOTEBOOKS[0]) > 1000
