"""Parameter recovery of the person-level model across repeated simulated populations.

Usage::

    python benchmarks/recovery_person.py [--seeds 20] [--size 1.0]

Each seed simulates a population with additive component effects (log-odds:
zelf_in_actie -0.2, extra_hulp +0.3, werken_loont +0.2, others 0; between-site SD 0.15),
fits ``work_gt_8h`` with three categorical covariates (collapsed likelihood) and records
whether the 90% HDI contains the truth: for the pooled component effects ``mu`` (log-odds,
components run in more than one site) and for every site x arm effect in percentage points.
Nominal coverage is 90%.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

import pwbayes as pw

EFFECTS = {"zelf_in_actie": -0.2, "extra_hulp": 0.3, "werken_loont": 0.2}
COVARIATES = ["basic_qualification", "distance_to_labour_market", "health_problems"]


def one(seed: int, size: float) -> dict:
    pop = pw.examples.simulate_participants(random_seed=seed, size=size, effects=EFFECTS)
    model = pw.PersonModel(
        pop.data,
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=COVARIATES,
        comparison={"Groningen": "reference"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(draws=1000, tune=1000, random_seed=seed, progress=False)
    logit = fit.effects(scale="model")
    mu = logit[(logit.estimand == "mu") & logit.component.isin(list(EFFECTS))]
    mu_cover = [bool(r.hdi_low <= EFFECTS[r.component] <= r.hdi_high) for r in mu.itertuples()]
    eff = fit.effects()
    truth = pop.effects[pop.effects.outcome == "work_gt_8h"]
    site = eff[eff.estimand == "theta"].merge(truth, on=["site", "arm"])
    site_cover = ((site.hdi_low <= site.effect) & (site.effect <= site.hdi_high)).tolist()
    return {
        "seed": seed,
        "mu_covered": mu_cover,
        "site_covered": site_cover,
        "divergences": fit.diagnostics.divergences,
        "max_rhat": max(v.rhat for v in fit.diagnostics.variables.values()),
    }


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--json", default="benchmarks/out/recovery_person.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runs = [one(seed, args.size) for seed in range(1, args.seeds + 1)]
    mu = np.concatenate([r["mu_covered"] for r in runs])
    site = np.concatenate([r["site_covered"] for r in runs])
    out = {
        "seeds": args.seeds,
        "size": args.size,
        "mu_coverage": float(mu.mean()),
        "mu_intervals": int(mu.size),
        "site_arm_coverage": float(site.mean()),
        "site_arm_intervals": int(site.size),
        "max_rhat": max(r["max_rhat"] for r in runs),
        "divergences": sum(r["divergences"] for r in runs),
        "seconds": time.perf_counter() - t0,
        "runs": runs,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print({k: v for k, v in out.items() if k != "runs"})
    return out


if __name__ == "__main__":
    main()
