"""Coverage of a person model's prediction for a municipality it has not seen.

Each world is a SYNTHETIC population (``simulate_participants``) with additive component
effects drawn at random (log-odds ``Normal(0, 0.25)`` for Zelf in Actie, Extra Hulp and
Werken Loont) and a between-site SD drawn from ``Uniform(0.05, 0.3)``. The person model is
fitted without Utrecht; ``fit.predict_site(population=Utrecht's participants,
base_rate=Utrecht's comparison-group rate)`` predicts the three single-component arms
there, whose true effects (percentage points over Utrecht's participants) the simulation
knows. Over the worlds the 90% intervals should cover the truth about 90% of the time
(approximately: the worlds are not drawn from the model's own priors).

Usage: ``python benchmarks/person_predict_coverage.py [worlds]`` (default 20; writes
``benchmarks/out/person_predict_coverage.json``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import pwbayes as pw

HELD_OUT = "Utrecht"
ARMS = ("Zelf in Actie", "Extra Hulp", "Werken Loont")
COMPONENTS = ("zelf_in_actie", "extra_hulp", "werken_loont")


def one_world(seed: int) -> dict:
    rng = np.random.default_rng(10_000 + seed)
    effects = {c: float(rng.normal(0, 0.25)) for c in COMPONENTS}
    sd = float(rng.uniform(0.05, 0.3))
    pop = pw.examples.simulate_participants(random_seed=seed, effects=effects, size=0.5,
                                            between_site_sd=sd)  # fmt: skip
    people = pop.data
    fitted = people[people.municipality != HELD_OUT]
    target = people[people.municipality == HELD_OUT]
    control = target[target.arm.str.lower().str.startswith("contr")]
    model = pw.PersonModel(fitted, site="municipality", arm="arm", outcome="work_gt_8h",
                           covariates=["age", "basic_qualification"],
                           comparison={"Groningen": "reference"})  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(draws=1000, tune=1000, chains=2, random_seed=seed, progress=False)
    table = fit.predict_site(target, base_rate=float(control.work_gt_8h.mean()), random_seed=seed)
    truth = pop.effects[(pop.effects.outcome == "work_gt_8h") & (pop.effects.site == HELD_OUT)]
    out = {"problems": any(issubclass(w.category, pw.ConvergenceWarning) for w in caught)}
    for arm in ARMS:
        row = table[table.arm == arm].iloc[0]
        true = float(truth.loc[truth.arm == arm, "effect"].iloc[0])
        out[arm] = bool(row.hdi_low <= true <= row.hdi_high)
    return out


def main(worlds: int = 20) -> dict:
    start = time.perf_counter()
    results = []
    for seed in range(worlds):
        results.append(one_world(seed))
        print(seed, results[-1], flush=True)
    hits = {arm: sum(r[arm] for r in results) for arm in ARMS}
    total = sum(hits.values())
    out = {
        "worlds": worlds,
        "interval": 0.9,
        "covered_per_arm": hits,
        "coverage": total / (3 * worlds),
        "fits_with_convergence_warnings": sum(r["problems"] for r in results),
        "seconds": time.perf_counter() - start,
    }
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    (folder / "person_predict_coverage.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
