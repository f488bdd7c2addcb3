"""Re-execute the notebooks in place with the installed pwbayes, and record its version.

Usage::

    python scripts/execute_notebooks.py [notebooks/01_pooling_six_municipalities.ipynb ...]

Default: every notebook in ``notebooks/``, with the full settings (the tests run them with
fewer draws and do not save them). The version is stored in the notebook's metadata
(``pwbayes.version``); ``tests/test_notebooks.py`` fails when it differs from the installed
pwbayes, or when a stored result's text no longer matches what the code prints.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import pwbayes as pw

ROOT = Path(__file__).resolve().parents[1]


def main(paths: list[str]) -> None:
    for path in [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        start = time.time()
        NotebookClient(
            nb,
            timeout=3600,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        errors = [
            o
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.output_type == "error"
        ]
        if errors:
            raise SystemExit(f"{path}: {len(errors)} cell(s) failed; not saved.")
        nb.metadata["pwbayes"] = {"version": pw.__version__}
        nbformat.write(nb, path)
        print(f"{path.name}: {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
