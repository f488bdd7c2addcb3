"""Command line: ``pwbayes example``, ``fit SPEC.toml``, ``show SPEC.toml``, ``design SPEC.toml``.

Every error is one line, ``pwbayes: error: ...``, with a non-zero exit status: never a
traceback (set ``PWBAYES_DEBUG=1`` to see one). Warnings are one line each,
``pwbayes: warning: ...``; convergence problems are summarised in one line and written out
in ``report.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn

from ._version import __version__
from .errors import ConvergenceWarning, PwbayesError

EXAMPLE_SPEC: dict[str, Any] = {
    "title": "Work > 8 hours a week: pooled effects (SYNTHETIC example data)",
    "data": {"example": "summary_effects", "filter": {"outcome": "work_gt_8h"}},
    "columns": {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"},
    "model": {"pooling": "partial"},
    "sampling": {"draws": 2000, "tune": 1000, "chains": 4, "random_seed": 1},
    "output": {"folder": "pwbayes-example"},
}
#: Command-line options that override ``[sampling]`` keys of a spec.
OVERRIDES = {"draws": "draws", "tune": "tune", "chains": "chains", "seed": "random_seed"}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in pwbayes's one-line form."""

    def error(self, message: str) -> NoReturn:
        print(f"pwbayes: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    from .spec import SPEC_DOCS

    parser = _Parser(prog="pwbayes", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pwbayes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ex = sub.add_parser("example", help="fit the bundled SYNTHETIC example and write a report")
    ex.add_argument(
        "--outcome",
        default="work_gt_8h",
        choices=["work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml"],
    )
    fit = sub.add_parser(
        "fit",
        help="run an analysis spec (TOML)",
        epilog=f"The spec format is documented in {SPEC_DOCS}. Paths in a spec are relative "
        "to the spec's folder; --out is relative to the current folder.",
    )
    fit.add_argument("spec", help="path to a spec, e.g. models/example_work_gt_8h.toml")
    for p in (ex, fit):
        p.add_argument("--out", help="output folder (overrides [output] folder)")
        p.add_argument("--draws", type=int, help="draws per chain (overrides [sampling] draws)")
        p.add_argument("--tune", type=int, help="tuning steps per chain ([sampling] tune)")
        p.add_argument("--chains", type=int, help="number of chains ([sampling] chains)")
        p.add_argument("--seed", type=int, help="random seed ([sampling] random_seed)")
    show = sub.add_parser("show", help="build the model of a spec and print it (no sampling)")
    show.add_argument("spec")
    design = sub.add_parser(
        "design",
        help="evaluate designs of the next experiment (a design spec, TOML)",
        epilog=f"The design spec format is documented in {SPEC_DOCS}. Worked specs: "
        "models/design_*.toml.",
    )
    design.add_argument("spec", help="path to a design spec, e.g. models/design_one_or_three.toml")
    design.add_argument("--out", help="output folder (overrides [output] folder)")
    design.add_argument("--seed", type=int, help="random seed ([evaluate] random_seed)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pwbayes`` command."""
    args = _parser().parse_args(argv)
    try:
        return _command(args)
    except PwbayesError as err:
        print(f"pwbayes: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pwbayes: interrupted", file=sys.stderr)
        return 130
    except BaseException as err:  # a Rust panic (nutpie) is a BaseException
        if os.environ.get("PWBAYES_DEBUG") or isinstance(err, SystemExit | GeneratorExit):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(
            f"pwbayes: error: unexpected {type(err).__name__}: {first} (a pwbayes bug? please "
            "report it; PWBAYES_DEBUG=1 shows where it happened)",
            file=sys.stderr,
        )
        return 1


def _command(args: argparse.Namespace) -> int:
    from .spec import load_spec, model_from_spec

    if args.command == "example":
        spec = {
            **EXAMPLE_SPEC,
            "data": {**EXAMPLE_SPEC["data"], "filter": {"outcome": args.outcome}},
        }
        if args.outcome != "work_gt_8h":
            spec["title"] = f"{args.outcome}: pooled effects (SYNTHETIC example data)"
    elif args.command == "design":
        from .design_run import run_design

        return run_design(args)
    else:
        spec = load_spec(args.spec)
    if args.command == "show":
        model = _quietly(model_from_spec, spec)
        _check_reference(model, spec)
        print(model)
        return 0
    return _run(spec, args)


def _sampling(spec: dict, args: argparse.Namespace) -> dict[str, Any]:
    """Return the spec's sampler settings with the command line's overrides, checked."""
    from .postprocess.seeds import check_seed
    from .sampling import check_settings

    sampling = dict(spec.get("sampling", {}))
    sampling.update(
        {k: getattr(args, a) for a, k in OVERRIDES.items() if getattr(args, a) is not None}
    )
    check_settings(
        sampling.get("draws", 1000),
        sampling.get("tune", 1000),
        sampling.get("chains", 4),
        sampling.get("target_accept", 0.9),
        None,
    )
    check_seed(sampling.get("random_seed"))
    return sampling


def _check_reference(model: Any, spec: dict) -> None:
    """Check ``[output] subgroup_reference`` against the model's levels before sampling."""
    from .data.subgroups import reference_levels

    reference = spec.get("output", {}).get("subgroup_reference")
    if reference is not None:
        reference_levels(model.data.subgroups, reference)


def _quietly(make, *args: Any) -> Any:
    """Run ``make(*args)``, printing its warnings as one line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # pip-installed PyTensor finds no BLAS for its C backend, which pwbayes does not use
        warnings.filterwarnings("ignore", "PyTensor could not link to a BLAS")
        out = make(*args)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            print(f"pwbayes: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    return out


def _checks(result: Any, model: Any, sampling: dict[str, Any]) -> dict[str, Any]:
    """Predictive check, prior sensitivity and leave-one-out refits (the fit's settings)."""
    keys = ("draws", "tune", "chains", "random_seed")
    settings: dict[str, Any] = {k: sampling[k] for k in keys if k in sampling}
    m = result.record.model
    person = m.kind == "PersonModel"
    from .models.person.refit import can_hold_out

    # where a person model cannot hold a site out of its likelihood, each refit compiles
    dropped = m.person is not None and not can_hold_out(m.person.family, m.person.likelihood)
    print(f"\nchecking the model: 4 refits under other priors for tau, {len(m.sites)} leaving "
          f"one {m.site_noun} out{' (each of these compiles)' if dropped else ''} ...",
          flush=True)  # fmt: skip
    given = (model,) if person else ()  # a person fit's checks need its persons
    t0 = time.perf_counter()
    out = {
        "predictive": result.predictive_check(*given, random_seed=settings.get("random_seed")),
        "sensitivity": _quietly(lambda: result.sensitivity(*given, **settings)),
        "loo": _quietly(lambda: result.loo_sites(*given, **settings)),
    }
    print(f"checked in {time.perf_counter() - t0:.0f} s")
    print(out["predictive"].line())
    print(out["sensitivity"].line())
    print(out["loo"].line())
    return out


def _run(spec: dict, args: argparse.Namespace) -> int:
    from .report import export_table, write_outputs
    from .spec import kind_of, model_from_spec, output_folder, wants_checks

    t0 = time.perf_counter()
    sampling = _sampling(spec, args)
    model = _quietly(model_from_spec, spec)
    _check_reference(model, spec)
    print(model)
    print(
        f"\ncompiling the model (on a machine's first fit about a minute, cached afterwards), "
        f"then sampling {sampling.get('chains', 4)} chains ...",
        flush=True,
    )
    result = _quietly(lambda: model.fit(**sampling))
    t = result.record.timings
    print(f"compiled in {t.compile_s:.0f} s, sampled in {t.sample_s:.0f} s")
    if result.diagnostics.problems:
        print(f"pwbayes: warning: {result.diagnostics.line()}", file=sys.stderr)
    folder = Path(args.out) if args.out else output_folder(spec, "pwbayes-results")
    reference = spec.get("output", {}).get("subgroup_reference")
    checks = _checks(result, model, sampling) if wants_checks(spec) else {}
    files = write_outputs(result, folder, title=spec.get("title"), subgroup_reference=reference,
                          **checks)  # fmt: skip
    print(f"\ndone in {time.perf_counter() - t0:.1f} s; wrote:")
    for path in files.values():
        print(f"  {path}")
    eff = export_table(result.effects())
    if result.note:
        print(f"\nNOTE: {result.note}.")
    pooled = eff[(eff.level == "pooled") & eff.component.notna()]
    if len(pooled):
        unit = result.record.model.scale
        print(f"\npooled effect per component ({unit}; mean, 90% HDI, P(>0)):")
        for _, r in pooled.iterrows():
            print(
                f"  {r.component:<15} {r['mean']:6.1f}  [{r.hdi_low:6.1f}, {r.hdi_high:6.1f}]  "
                f"{r.p_positive:.2f}"
            )
    disclosure = result.record.disclosure
    if kind_of(spec) == "person" and disclosure is not None:
        print(f"\ndisclosure control: {len(disclosure.suppressed)} cell(s) suppressed (report.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
