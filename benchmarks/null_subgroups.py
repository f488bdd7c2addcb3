"""False discoveries of subgroup differences when the subgroup variable has no effect.

Usage::

    python benchmarks/null_subgroups.py [--seeds 100] [--subgroup basic_qualification]
                                        [--draws 1000] [--no-model]

Each seed simulates the full SYNTHETIC population with additive component effects on the
log-odds scale that do not depend on the subgroup variable (zelf_in_actie -0.2,
extra_hulp +0.3, werken_loont +0.2; between-site SD 0.15; no ``heterogeneity``), then runs
the unpooled per-subgroup regressions (``pw.subgroup_estimates``, the published method
within each level) and tests every site x arm difference between levels at 10%
(``pw.subgroup_differences``). It reports the share of those contrasts called
significant, and the share of seeds in which at least one is. On the same data it fits the
shrunk subgroup model (``pw.PersonModel(..., subgroups=[subgroup])``) and reports the share
of its site x arm contrasts (``fit.subgroup_contrasts()``, the same 17 per seed) with
P(difference > 0) > 0.95 or < 0.05, on the log-odds scale, where the null holds exactly
(and, for reference, in percentage points).

The null holds exactly on the log-odds scale. On the percentage-point scale of the linear
model a constant log-odds effect is slightly larger where the base rate is nearer 50%
(people with a basic qualification are more job-ready), so a few tenths of the contrasts'
true values are not exactly zero; the figure is therefore an upper bound for a pure null.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

import pwbayes as pw

EFFECTS = {"zelf_in_actie": -0.2, "extra_hulp": 0.3, "werken_loont": 0.2}


def one(seed: int, subgroup: str, draws: int | None) -> dict:
    people = pw.examples.simulate_participants(random_seed=seed, effects=EFFECTS).data
    est = pw.subgroup_estimates(
        people,
        outcome="work_gt_8h",
        subgroup=subgroup,
        comparison={"Groningen": "reference"},
    )
    diff = pw.subgroup_differences(est)
    out = {
        "contrasts": len(diff),
        "significant": int(diff["significant"].sum()),
        "suppressed": len(est.attrs["suppressed"]),
    }
    if draws:
        model = pw.PersonModel(
            people,
            site="municipality",
            arm="arm",
            outcome="work_gt_8h",
            subgroups=[subgroup],
            comparison={"Groningen": "reference"},
            # fixed (the default centres it on each data set's mean), so that every seed
            # has the same model structure and reuses one compiled sampler
            priors={"alpha_mu": pw.Prior("Normal", mu=-1.0, sigma=1.5)},
        )
        fit = model.fit(draws=draws, tune=draws, random_seed=seed, progress=False)
        for scale in ("model", "outcome"):
            con = fit.subgroup_contrasts(scale=scale)
            site_arm = con[(con["level"] == "site") & con["arm"].notna()]
            p = site_arm["p_positive"]
            out[f"model_contrasts_{scale}"] = len(site_arm)
            out[f"model_flagged_{scale}"] = int(((p > 0.95) | (p < 0.05)).sum())
        pooled = fit.subgroup_contrasts(scale="model")
        pooled = pooled[(pooled["level"] == "pooled") & pooled["component"].notna()]
        p = pooled["p_positive"]
        out["model_pooled_contrasts"] = len(pooled)
        out["model_pooled_flagged"] = int(((p > 0.95) | (p < 0.05)).sum())
        out["divergences"] = fit.diagnostics.divergences
        out["fit_s"] = sum(dataclasses.asdict(fit.record.timings).values())
        out["compile_s"] = fit.record.timings.compile_s
    return out


def _share(runs, hits, total) -> tuple[float, float]:
    k, n = sum(r[hits] for r in runs), sum(r[total] for r in runs)
    share = k / n
    return share, float(np.sqrt(share * (1 - share) / n))


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--subgroup", default="basic_qualification")
    ap.add_argument("--draws", type=int, default=1000, help="per chain (and as many tuning)")
    ap.add_argument("--no-model", action="store_true", help="only the unpooled regressions")
    ap.add_argument("--json", default="benchmarks/out/null_subgroups.json")
    args = ap.parse_args()
    start = time.perf_counter()
    runs = []
    for seed in range(1, args.seeds + 1):
        runs.append(one(seed, args.subgroup, None if args.no_model else args.draws))
        print(f"seed {seed}: {runs[-1]}", flush=True)
    contrasts = sum(r["contrasts"] for r in runs)
    significant = sum(r["significant"] for r in runs)
    share = significant / contrasts
    out = {
        "seeds": args.seeds,
        "subgroup": args.subgroup,
        "contrasts": contrasts,
        "unpooled_share_significant_10pct": share,
        "unpooled_share_mc_se": float(np.sqrt(share * (1 - share) / contrasts)),
        "seeds_with_a_significant_contrast": float(np.mean([r["significant"] > 0 for r in runs])),
        "contrasts_per_seed": contrasts / args.seeds,
        "suppressed_cells_per_seed": float(np.mean([r["suppressed"] for r in runs])),
        "seconds": time.perf_counter() - start,
    }
    if not args.no_model:
        for scale in ("model", "outcome"):
            share, se = _share(runs, f"model_flagged_{scale}", f"model_contrasts_{scale}")
            out[f"model_share_flagged_{scale}_scale"] = share
            out[f"model_share_mc_se_{scale}_scale"] = se
        out["model_seeds_with_a_flagged_contrast"] = float(
            np.mean([r["model_flagged_model"] > 0 for r in runs])
        )
        share, se = _share(runs, "model_pooled_flagged", "model_pooled_contrasts")
        out["model_pooled_share_flagged"], out["model_pooled_share_mc_se"] = share, se
        out["model_draws"] = args.draws
        out["divergences_total"] = int(sum(r["divergences"] for r in runs))
        out["model_fit_s_median"] = float(np.median([r["fit_s"] for r in runs]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
