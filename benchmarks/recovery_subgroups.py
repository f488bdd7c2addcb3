"""Recovery of built-in subgroup differences ("what works for whom") by the subgroup model.

For each seed: a SYNTHETIC full-size population with the Utrecht-like heterogeneity
(``simulate_participants(heterogeneity="utrecht")``: +0.7 log-odds for people without a
basic qualification in Zelf in Actie and Extra Hulp, and for people far from the labour
market in Extra Hulp), a ``PersonModel`` with both subgroup variables, and two checks:

* the pooled contrasts of the built-in differences have the true sign with
  P(difference > 0) > 0.9 (or < 0.1 for a negative one);
* the 90% intervals of the pooled log-odds effect of every component with built-in
  heterogeneity in every level contain the truth (in the model's convention: the
  subgroup terms sum to zero over each variable's levels).

Usage::

    python benchmarks/recovery_subgroups.py --seeds 10 --out benchmarks/out/recovery_subgroups.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import pwbayes as pw

EFFECTS = {"zelf_in_actie": 0.0, "extra_hulp": 0.1, "werken_loont": 0.1}
SUBGROUPS = ["basic_qualification", "distance_to_labour_market"]
OUTCOME = "work_gt_8h"
#: (component, variable, level, reference, true sign of level minus reference)
BUILT_IN = [
    ("zelf_in_actie", "basic_qualification", "False", "True", 1),
    ("extra_hulp", "basic_qualification", "False", "True", 1),
    ("extra_hulp", "distance_to_labour_market", "medium", "large", -1),
    ("extra_hulp", "distance_to_labour_market", "small", "large", -1),
]


def fit_one(seed: int, draws: int) -> dict:
    """Fit one population; return the checks."""
    pop = pw.examples.simulate_participants(seed, effects=EFFECTS, heterogeneity="utrecht")
    model = pw.PersonModel(
        pop.data,
        site="municipality",
        arm="arm",
        outcome=OUTCOME,
        covariates=["age", "female"],
        subgroups=SUBGROUPS,
    )
    start = time.perf_counter()
    result = model.fit(draws=draws, tune=draws, random_seed=seed, progress=False)
    seconds = time.perf_counter() - start
    refs = {"basic_qualification": "True", "distance_to_labour_market": "large"}
    con = result.subgroup_contrasts(reference=refs)
    pooled = con[con.site.isna() & con.component.notna()].set_index(
        ["component", "subgroup", "subgroup_level"]
    )
    signs = []
    for comp, var, lev, _ref, sign in BUILT_IN:
        p = float(pooled.loc[(comp, var, lev), "p_positive"])
        signs.append({"contrast": f"{comp}: {var} {lev} - {_ref}", "p_positive": p,
                      "true_sign_p_gt_0_9": bool(p > 0.9 if sign > 0 else p < 0.1)})  # fmt: skip
    truth = pop.pooled_subgroup_truth(model.data.subgroups)
    eff = result.effects(level="subgroup", scale="model")
    eff = eff[eff.site.isna() & eff.component.isin(["zelf_in_actie", "extra_hulp"])]
    both = eff.merge(truth, on=["component", "subgroup", "subgroup_level"])
    covered = ((both.hdi_low <= both.effect) & (both.effect <= both.hdi_high)).tolist()
    d = result.diagnostics
    return {
        "seed": seed,
        "seconds": round(seconds, 1),
        "signs": signs,
        "covered": int(sum(covered)),
        "intervals": len(covered),
        "max_rhat": round(max(v["rhat"] for v in d["variables"].values()), 4),
        "divergences": d["divergences"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        runs.append(fit_one(seed, args.draws))
        r = runs[-1]
        print(
            f"seed {seed}: {r['seconds']} s, signs "
            f"{[round(s['p_positive'], 3) for s in r['signs']]}, covered {r['covered']}/"
            f"{r['intervals']}, R-hat {r['max_rhat']}, divergences {r['divergences']}",
            flush=True,
        )
    ok = np.array([[s["true_sign_p_gt_0_9"] for s in r["signs"]] for r in runs])
    cover = sum(r["covered"] for r in runs) / sum(r["intervals"] for r in runs)
    summary = {
        "seeds": args.seeds,
        "draws": args.draws,
        "share_true_sign_p_gt_0_9_per_contrast": dict(
            zip(
                [s["contrast"] for s in runs[0]["signs"]],
                ok.mean(axis=0).round(3).tolist(),
                strict=True,
            )
        ),  # fmt: skip
        "seeds_all_four": float(ok.all(axis=1).mean()),
        "coverage_90": round(cover, 3),
    }
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
