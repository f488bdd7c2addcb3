"""Command line: ``pwbayes example``, ``pwbayes fit SPEC.toml``, ``pwbayes show SPEC.toml``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .errors import PwbayesError

EXAMPLE_SPEC: dict[str, Any] = {
    "title": "Work > 8 hours a week: pooled effects (SYNTHETIC example data)",
    "data": {"example": "summary_effects", "filter": {"outcome": "work_gt_8h"}},
    "columns": {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"},
    "model": {"pooling": "partial"},
    "sampling": {"draws": 2000, "tune": 1000, "chains": 4, "random_seed": 1},
    "output": {"folder": "pwbayes-example"},
}


def _run(spec: dict, out: str | None, draws: int | None) -> int:
    from .report import write_outputs
    from .spec import check_spec, model_from_spec

    check_spec(spec)
    t0 = time.perf_counter()
    model = model_from_spec(spec)
    print(model)
    sampling = dict(spec.get("sampling", {}))
    if draws is not None:
        sampling["draws"] = draws
    print(f"\nsampling {sampling} ...", flush=True)
    result = model.fit(**sampling)
    folder = Path(out or spec.get("output", {}).get("folder", "pwbayes-results"))
    files = write_outputs(result, folder, title=spec.get("title"))
    print(f"\ndone in {time.perf_counter() - t0:.1f} s; wrote:")
    for path in files.values():
        print(f"  {path}")
    if result.note:
        print(f"\nNOTE: {result.note}.")
    eff = result.effects()
    pooled = eff[(eff.level == "pooled") & eff.component.notna()]
    if len(pooled):
        print("\npooled effect per component (mean, 90% HDI, P(>0)):")
        for _, r in pooled.iterrows():
            print(
                f"  {r.component:<15} {r['mean']:6.1f}  [{r.hdi_low:6.1f}, {r.hdi_high:6.1f}]  "
                f"{r.p_positive:.2f}"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pwbayes`` command."""
    parser = argparse.ArgumentParser(prog="pwbayes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("example", help="fit the bundled SYNTHETIC example and write a report")
    ex.add_argument("--out", help="output folder (default: ./pwbayes-example)")
    ex.add_argument(
        "--outcome",
        default="work_gt_8h",
        choices=["work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml"],
    )
    ex.add_argument("--draws", type=int, help="draws per chain (default 2000)")
    fit = sub.add_parser("fit", help="run an analysis spec (TOML)")
    fit.add_argument("spec", help="path to a spec, e.g. models/example_work_gt_8h.toml")
    fit.add_argument("--out", help="output folder (overrides [output] folder)")
    fit.add_argument("--draws", type=int, help="draws per chain (overrides [sampling] draws)")
    show = sub.add_parser("show", help="build the model of a spec and print it (no sampling)")
    show.add_argument("spec")
    args = parser.parse_args(argv)
    try:
        if args.command == "example":
            spec = {
                **EXAMPLE_SPEC,
                "data": {**EXAMPLE_SPEC["data"], "filter": {"outcome": args.outcome}},
            }
            if args.outcome != "work_gt_8h":
                spec["title"] = f"{args.outcome}: pooled effects (SYNTHETIC example data)"
            return _run(spec, args.out, args.draws)
        from .spec import load_spec, model_from_spec

        spec = load_spec(args.spec)
        if args.command == "show":
            print(model_from_spec(spec))
            return 0
        return _run(spec, args.out, args.draws)
    except PwbayesError as err:
        print(f"pwbayes: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
