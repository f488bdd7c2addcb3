"""Simulation-based calibration of the summary model and the person-level binary model.

Usage::

    python benchmarks/sbc.py [--summary 500] [--person 200] [--jobs 2] [--out benchmarks/out/sbc]

Summary model: the SYNTHETIC six-municipality example's sites, arms and standard errors
(``work_gt_8h``), parameters drawn from the default priors (``mu ~ Normal(0, 2.5 s)``,
``tau ~ HalfNormal(s)``), estimates simulated with the rows' standard errors, fitted with
the same priors (4 chains x 1,000 draws). Person-level model: the people of a SYNTHETIC
population at size 0.3 (1,042 participants, covariate ``female``), outcomes simulated from
the priors of :func:`pwbayes.checks.sbc.sbc_person`, fitted with the exact likelihood (whitened).
Each also runs a deliberately wrong model (the fitted ``mu`` prior 10x too narrow), which
must fail. Writes rank histograms (PNG), the uniformity tests (CSV) and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pwbayes as pw  # noqa: E402
from pwbayes.checks.sbc import sbc_person, sbc_summary, uniformity  # noqa: E402
from pwbayes.plots.sbc import plot_ranks  # noqa: E402


def report(name: str, result: dict, out: Path, seconds: float) -> dict:
    """Save the histograms and tests of one run; return its summary."""
    tests = uniformity(result, bins=10)
    tests.to_csv(out / f"{name}_uniformity.csv", index=False)
    fig = plot_ranks(result, title=f"{name}: SBC rank histograms")
    fig.savefig(out / f"{name}_ranks.png", dpi=100)
    n_rep = len(next(iter(result["ranks"].values())))
    threshold = 0.01 / len(tests)
    summary = {
        "replications": n_rep,
        "parameters": len(tests),
        "min_p_value": float(tests.p_value.min()),
        "bonferroni_threshold": threshold,
        "uniform": bool(tests.p_value.min() > threshold),
        "share_p_below_0_05": float((tests.p_value < 0.05).mean()),
        "divergences": result["divergences"],
        "seconds": round(seconds, 1),
    }
    print(name, json.dumps(summary), flush=True)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--summary", type=int, default=500, help="replications (0: skip)")
    ap.add_argument("--person", type=int, default=200, help="replications (0: skip)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/sbc"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.summary:
        data = pw.examples.summary_effects()
        narrow = {"mu": pw.Prior("Normal", mu=0.0, sigma=1.0)}  # 10x too narrow
        for name, fit_priors in (("summary", None), ("summary_wrong_prior", narrow)):
            n = args.summary if fit_priors is None else max(args.summary // 5, 20)
            start = time.perf_counter()
            # fit_priors names only mu: tau keeps its default (the generating prior)
            run = sbc_summary(data, n=n, n_jobs=args.jobs, fit_priors=fit_priors)
            results[name] = report(name, run, args.out, time.perf_counter() - start)
    if args.person:
        people = pw.examples.simulate_participants(1, size=0.3).data
        people = people[people["arm"] != "reference"]
        base = {"alpha_mu": pw.Prior("Normal", mu=-1.0, sigma=1.0),
                "alpha_sd": pw.Prior("HalfNormal", sigma=0.5),
                "mu": pw.Prior("Normal", mu=0.0, sigma=0.5),
                "tau": pw.Prior("HalfNormal", sigma=0.3),
                "gamma": pw.Prior("Normal", mu=0.0, sigma=0.5)}  # fmt: skip
        narrow = {**base, "mu": pw.Prior("Normal", mu=0.0, sigma=0.05)}
        for name, fit_priors in (("person", None), ("person_wrong_prior", narrow)):
            n = args.person if fit_priors is None else max(args.person // 5, 20)
            start = time.perf_counter()
            run = sbc_person(people, n=n, n_jobs=args.jobs, priors=base, fit_priors=fit_priors)
            results[name] = report(name, run, args.out, time.perf_counter() - start)
    (args.out / "sbc.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
