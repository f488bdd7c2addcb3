"""Validate the fast path of ``pw.design`` against simulated experiments analysed for real.

Prior: the summary-level fit of the SYNTHETIC example (``work_gt_8h``; 2 chains x 1000
draws, seed 11). For three designs, ``pw.design.evaluate`` (closed forms, 4000 prior draws)
against ``pw.design.simulate`` (``replications`` simulated experiments: persons drawn from
the prior's effects, the published per-site method, and the summary model refitted on the
old and new rows): assurance, P(conclusive) and their Monte Carlo SEs.

Usage: ``python benchmarks/design_validation.py [replications]`` (default 200; writes
``benchmarks/out/design_validation.csv``). One sampling job; about 10 minutes on 2 cores.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

import pwbayes as pw
from pwbayes import design as D

DESIGNS = [
    D.Design(name="A: Extra Hulp 300 + comparison 300, 1 new site",
             arms={"Extra Hulp": 300}, comparison=300, outcome="work_gt_8h"),
    D.Design(name="B: Extra Hulp 900 + comparison 300, 1 new site",
             arms={"Extra Hulp": 900}, comparison=300, outcome="work_gt_8h"),
    D.Design(name="C: Extra Hulp 300, Werken Loont 300 + comparison 300, 3 new sites",
             arms={"Extra Hulp": 300, "Werken Loont": 300}, comparison=300, sites=3,
             outcome="work_gt_8h"),
]  # fmt: skip


def main(replications: int) -> None:
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, site="municipality", arm="arm", estimate="estimate", se="se")
    fit = model.fit(draws=1000, tune=1000, chains=2, random_seed=11, progress=False)
    rows = []
    for design in DESIGNS:
        start = time.perf_counter()
        fast = D.evaluate(design, fit, draws=4000, random_seed=1)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pw.ConvergenceWarning)
            exact = D.simulate(design, fit, replications=replications, random_seed=2)
        problems = "; ".join(str(w.message).split(";")[0] for w in caught)
        both = fast.merge(exact, on=["design", "estimand", "level", "name"],
                          suffixes=("_fast", "_exact"))  # fmt: skip
        for _, r in both.iterrows():
            row = {"design": r["design"], "level": r["level"], "name": r["name"]}
            for col in ("assurance", "p_conclusive"):
                row[f"{col}_fast"] = r[f"{col}_fast"]
                row[f"{col}_exact"] = r[f"{col}_exact"]
                row[f"{col}_mcse"] = r[f"{col}_mcse"]
                gap, mcse = r[f"{col}_fast"] - r[f"{col}_exact"], r[f"{col}_mcse"]
                row[f"{col}_z"] = gap / mcse if mcse > 0 else float("nan")
            row["replications"] = replications
            row["fit_problems"] = problems
            rows.append(row)
        print(f"{design.label}: {time.perf_counter() - start:.0f} s", flush=True)
    out = pd.DataFrame(rows)
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    out.to_csv(folder / "design_validation.csv", index=False)
    print(out.drop(columns=["fit_problems"]).round(3).to_string(index=False))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
