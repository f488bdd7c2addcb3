"""Speed of design evaluation: the fast path against the exact path, in the same run.

Measures (2 cores; nothing else running):

1. one design by the fast path (``pw.design.evaluate``, 2000 prior draws), median of 20;
2. a grid of 8 persons-per-arm x 3 arm sets x 4 numbers of sites x ... designs
   (``pw.design.grid``), the issue's "hundreds of designs in under a minute";
3. the reference: the same single design by the exact path, unpooled
   (``pw.design.simulate(fit=False)``, 400 simulated experiments analysed with the
   published method), and one pooled replication (a real summary-model fit, compiled
   sampler reused) timed over 5 replications.

Usage: ``python benchmarks/design_speed.py`` (writes ``benchmarks/out/design_speed.json``).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from pathlib import Path

import pwbayes as pw
from pwbayes import design as D


def _timed(make, repeats: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = make()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, site="municipality", arm="arm", estimate="estimate", se="se")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(draws=1000, chains=2, random_seed=1, progress=False)
    design = D.Design(arms={"Extra Hulp": 300, "Werken Loont": 300}, comparison=300, sites=3,
                      outcome="work_gt_8h")  # fmt: skip
    prior = D.prior_draws(fit, draws=2000, random_seed=1)
    one, _ = _timed(lambda: D.evaluate(design, prior, random_seed=1), repeats=20)
    arms = [["Extra Hulp"], ["Extra Hulp", "Werken Loont"],
            ["Extra Hulp", "Werken Loont", "Zelf in Actie"]]  # fmt: skip
    persons = [100, 150, 200, 300, 450, 600, 900, 1200]
    sites = [1, 2, 3, 6]
    n_grid = len(arms) * len(persons) * len(sites) * 2  # two analyses
    grid_s, _ = _timed(
        lambda: [
            D.grid(
                prior,
                persons_per_arm=persons,
                arms=arms,
                sites=sites,
                analysis=a,
                outcome="work_gt_8h",
                random_seed=1,
            )
            for a in ("unpooled", "pooled")
        ]  # fmt: skip
    )
    exact_s, _ = _timed(lambda: D.simulate(design, fit, replications=400, fit=False,
                                           random_seed=1))  # fmt: skip
    single = D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=1, outcome="work_gt_8h")
    D.simulate(single, fit, replications=2, random_seed=9)  # compile once
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        pooled_s, _ = _timed(lambda: D.simulate(single, fit, replications=5, random_seed=2))
    out = {
        "fast_one_design_s": one,
        "grid_designs": n_grid,
        "grid_s": grid_s,
        "exact_unpooled_400_s": exact_s,
        "exact_pooled_per_replication_s": pooled_s / 5,
        "ratio_exact_unpooled_to_fast": exact_s / one,
        "ratio_one_pooled_replication_to_fast": pooled_s / 5 / one,
    }
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    (folder / "design_speed.json").write_text(json.dumps(out, indent=2))
    for key, value in out.items():
        print(f"{key:40s} {value:10.3f}")


if __name__ == "__main__":
    main()
