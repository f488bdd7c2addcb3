"""Coverage of the new-site prediction on synthetic worlds where the held-out site's truth is known.

Each world draws ``mu ~ Normal(0, 5)``, ``tau ~ HalfNormal(4)`` (one component), a
moderator value per site ``x ~ Normal(0, 1)`` with coefficient ``g ~ Normal(0, 4)`` per SD
(moderator variant only), seven site effects ``beta_j = mu + g z_j + tau eps_j`` and their
estimates ``y_j ~ Normal(beta_j, se_j)`` with ``se_j ~ Uniform(2, 5)``. The model is fitted
to six sites with the same priors; ``fit.predict_site(...)`` predicts the seventh, whose
true effect ``beta_7`` is known. Over worlds drawn from the prior, a calibrated 90%
interval covers the truth in 90% of them (the test of Cook, Gelman & Rubin 2006).

Usage: ``python benchmarks/predict_coverage.py [worlds]`` (default 100 per variant; writes
``benchmarks/out/predict_coverage.json``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import pwbayes as pw

PRIORS = {
    "mu": pw.Prior("Normal", mu=0, sigma=5),
    "tau": pw.Prior("HalfNormal", sigma=4),
    "moderator": pw.Prior("Normal", mu=0, sigma=4),
}


def world(seed: int, moderated: bool) -> tuple[pd.DataFrame, float, float]:
    """Seven sites' estimates, the held-out site's true effect and its moderator value."""
    rng = np.random.default_rng(seed)
    mu, tau = rng.normal(0, 5), abs(rng.normal(0, 4))
    x = rng.normal(0, 1, 7)
    fitted = x[:6]
    z = (x - fitted.mean()) / fitted.std()  # the model standardises over the fitted sites
    g = rng.normal(0, 4) if moderated else 0.0
    beta = mu + g * z + tau * rng.standard_normal(7)
    se = rng.uniform(2, 5, 7)
    y = beta + se * rng.standard_normal(7)
    data = pd.DataFrame({"site": [f"S{k}" for k in range(6)], "estimate": y[:6], "se": se[:6],
                         "x": fitted})  # fmt: skip
    return data, float(beta[6]), float(x[6])


def covered(seed: int, moderated: bool, interval: float = 0.9) -> tuple[bool, bool]:
    data, truth, x_new = world(seed, moderated)
    priors = PRIORS if moderated else {k: PRIORS[k] for k in ("mu", "tau")}
    model = pw.SummaryModel(data, site="site", estimate="estimate", se="se", priors=priors,
                            moderators=["x"] if moderated else None)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pw.ConvergenceWarning)
        fit = model.fit(draws=1000, tune=1000, chains=2, random_seed=seed, progress=False)
    table = fit.predict_site({"x": x_new} if moderated else None, hdi_prob=interval,
                             random_seed=seed)  # fmt: skip
    row = table[table.component.notna()].iloc[0]
    problem = any(issubclass(w.category, pw.ConvergenceWarning) for w in caught)
    return bool(row.hdi_low <= truth <= row.hdi_high), problem


def main(worlds: int = 100) -> dict:
    out: dict = {"worlds": worlds, "interval": 0.9}
    for moderated in (False, True):
        name = "with_moderator" if moderated else "new_site"
        start = time.perf_counter()
        results = [covered(seed, moderated) for seed in range(worlds)]
        hits = sum(r[0] for r in results)
        out[name] = {
            "covered": hits,
            "coverage": hits / worlds,
            "mc_se": float(np.sqrt(0.9 * 0.1 / worlds)),
            "fits_with_convergence_warnings": sum(r[1] for r in results),
            "seconds": time.perf_counter() - start,
        }
        print(name, out[name], flush=True)
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    (folder / "predict_coverage.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
