"""Person-level model on the SYNTHETIC six-municipality population, any size.

Usage::

    python benchmarks/bench_person_fit.py [--draws 1000] [--tune 1000] [--size 1.0] [--binned]
        [--chains 4] [--target-accept P] [--parameterization whitened|noncentered|centered]
        [--likelihood auto|exact|normal_approx] [--json PATH]

``--binned`` cuts age, benefit duration and prior earnings into bins
(``pw.bin_covariates``), so that people sharing all nine covariate values collapse into
binomial counts. The national-scale configuration is ``--size 100 --binned`` (1.13 M rows;
``likelihood="auto"`` then uses the normal approximation); ``--likelihood exact`` with a
few draws gives the exact likelihood's cost per draw on the same data, for the ratio.
Peak memory is the process's maximum resident set size.

Fits ``work_gt_8h`` with the nine background covariates (Groningen compared with its
reference group) and prints the wall time of each stage (compile, sample, effects), R-hat,
bulk ESS of ``mu`` and ``tau``, divergences and the sampler's mean leapfrog steps per draw.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import time
import warnings
from pathlib import Path

import arviz as az

import pwbayes as pw
from pwbayes.data.population import COVARIATES


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--binned", action="store_true")
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--target-accept", type=float, default=None, help="default: fit()'s")
    ap.add_argument(
        "--parameterization", default="whitened", choices=["whitened", "noncentered", "centered"]
    )
    ap.add_argument("--likelihood", default="auto", choices=["auto", "exact", "normal_approx"])
    ap.add_argument("--json", default="benchmarks/out/person_fit.json")
    args = ap.parse_args()
    out: dict = {"settings": vars(args)}
    t0 = time.perf_counter()
    df, _ = pw.examples.simulate_participants(random_seed=1, size=args.size)
    out["simulate_s"] = time.perf_counter() - t0
    out["rows"] = len(df)
    if args.binned:
        df = pw.bin_covariates(
            df,
            {
                "age": [18, 30, 40, 50, 67],
                "benefit_duration_years": 4,
                "prior_earnings": [0, 1, 500, 1e9],
            },
        )
    t = time.perf_counter()
    model = pw.PersonModel(
        df,
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=list(COVARIATES),
        comparison={"Groningen": "reference"},
        parameterization=args.parameterization,
        likelihood=args.likelihood,
    )
    _ = model.model
    out["build_s"] = time.perf_counter() - t
    out["likelihood"] = model.likelihood
    out["likelihood_rows"] = model.cells.size
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        extra = {} if args.target_accept is None else {"target_accept": args.target_accept}
        fit = model.fit(
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            random_seed=1,
            progress=False,
            **extra,
        )
    out["fit_s"] = time.perf_counter() - t
    out["total_s"] = time.perf_counter() - t0
    ess = az.ess(fit.idata, var_names=["mu", "tau"])
    out["ess_bulk_min"] = {v: float(ess[v].min()) for v in ("mu", "tau")}
    out["rhat_max"] = max(v.rhat for v in fit.diagnostics.variables.values())
    out["divergences"] = fit.diagnostics.divergences
    out["mean_steps"] = float(fit.idata.sample_stats["n_steps"].mean())
    out["timings"] = dataclasses.asdict(fit.record.timings)
    out["ess_per_sample_s_tau"] = out["ess_bulk_min"]["tau"] / fit.record.timings.sample_s
    out["peak_memory_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
