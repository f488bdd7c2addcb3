"""``pwbayes design SPEC.toml``: evaluate the candidate designs of a design spec."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from .errors import ConvergenceWarning, SpecError

__all__ = ["run_design"]


def run_design(args: argparse.Namespace) -> int:
    """Run a design spec: the prior (fit or load), the designs, the outputs."""
    import pandas as pd

    from .design import evaluate, grid
    from .design_report import write_design_outputs
    from .design_spec import designs_from_spec, grid_options, load_design_spec, prior_from_spec

    t0 = time.perf_counter()
    spec = load_design_spec(args.spec)
    designs = designs_from_spec(spec)  # checked before anything is fitted
    options = grid_options(spec)
    settings = dict(spec.get("evaluate", {}))
    if args.seed is not None:
        settings["random_seed"] = args.seed
    if "spec" in spec["prior"]:
        print(f"fitting the prior: {spec['prior']['spec']} (compiling takes a while on a "
              "machine's first fit) ...", flush=True)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS")
        prior = prior_from_spec(spec)
    for w in caught:
        kind = "convergence" if issubclass(w.category, ConvergenceWarning) else "warning"
        print(f"pwbayes: warning ({kind}): {str(w.message).splitlines()[0]}", file=sys.stderr)
    tables = []
    if designs:
        tables.append(evaluate(designs, prior, **settings))
    if options is not None:
        n = _n(options["persons_per_arm"]) * _n(options["arms"]) * _n(options.get("sites", 1))
        print(f"evaluating {n} designs (fast path) ...", flush=True)
        tables.append(grid(prior, **options, **settings, progress=n > 50))
    table = pd.concat(tables, ignore_index=True)
    table.attrs = dict(tables[0].attrs)
    folder = Path(args.out) if args.out else _folder(spec)
    files = write_design_outputs(table, folder, title=spec.get("title", "Designs of the next "
                                 "experiment"), output=spec.get("output", {}))  # fmt: skip
    print(f"done in {time.perf_counter() - t0:.1f} s; wrote:")
    for path in files.values():
        print(f"  {path}")
    return 0


def _n(values: object) -> int:
    return len(values) if isinstance(values, list) else 1


def _folder(spec: dict) -> Path:
    folder = spec.get("output", {}).get("folder", "pwbayes-design")
    if not isinstance(folder, str):
        raise SpecError(f"[output] folder = {folder!r}: give a path (text).")
    folder = Path(folder)
    return folder if folder.is_absolute() else Path(spec["_base"]) / folder
