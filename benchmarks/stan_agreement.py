"""Agreement with Stan: pwbayes's summary and person-level models against the same in Stan.

Usage (needs the ``bench`` extra: ``pip install -e ".[bench]"``, which installs PyStan;
PyStan compiles each Stan program with the machine's C++ compiler, about a minute the
first time, cached afterwards)::

    python benchmarks/stan_agreement.py --model summary [--draws 5000]
    python benchmarks/stan_agreement.py --model person [--draws 5000] [--size 0.5]
    python benchmarks/stan_agreement.py --model national [--draws 5000] [--size 5]

Same data, same priors (pwbayes's defaults, read from the built model), 4 chains each.
``summary``: the SYNTHETIC six-municipality example (``work_gt_8h``), compared on every
``mu``, ``tau`` and ``beta``. ``person``: a SYNTHETIC population of ``--size`` times the
published one (0.5: about 5,600 people), binary outcome ``work_gt_8h``, four covariates,
exact likelihood; pwbayes samples its default (whitened) parameterisation, Stan the
textbook non-centred one; compared on ``alpha_mu``, ``alpha_sd``, ``mu``, ``tau``, every
``beta`` and ``gamma``. ``national``: the model pwbayes fits at national scale
(``likelihood="normal_approx"``: site effects integrated out of the normal approximation
of the likelihood; ``--size`` 5, nine binned covariates, the approximation forced since
``"auto"`` picks it from 100,000 rows) against the same marginal model in Stan; compared on
``alpha_mu``, ``alpha_sd``, ``mu`` and ``tau``. Posterior means and SDs must agree within
4 Monte Carlo standard errors (the two samplers' MCSEs combined:
``4 * sqrt(mcse_pwbayes^2 + mcse_stan^2)``).
Also prints the wall times and the smallest bulk ESS, for the record; the speed
comparison proper is ``speed.py``. Exit status 1 if any parameter disagrees.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import arviz as az
from stan_programs import (
    MARGINAL,
    PERSON,
    SUMMARY,
    compare,
    marginal_data,
    person_data,
    summary_data,
    to_idata,
)

import pwbayes as pw

PERSON_COVARIATES = ["age", "female", "basic_qualification", "distance_to_labour_market"]


def summary_case():
    """The summary model on the bundled example, its Stan program and data."""
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, site="municipality", arm="arm", estimate="estimate", se="se")
    names = ["mu", "tau", "beta"]
    return model, SUMMARY, summary_data(model), names


def person_case(size: float):
    """The binary person-level model on a simulated population, its Stan program and data."""
    df, _ = pw.examples.simulate_participants(random_seed=2, size=size)
    model = pw.PersonModel(
        df,
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=PERSON_COVARIATES,
        comparison={"Groningen": "reference"},
        likelihood="exact",
    )
    names = ["alpha_mu", "alpha_sd", "mu", "tau", "beta", "gamma"]
    return model, PERSON, person_data(model), names


def national_case(size: float):
    """The national-scale model (normal approximation) on binned covariates, in Stan too."""
    from pwbayes.data.population import COVARIATES

    df, _ = pw.examples.simulate_participants(random_seed=1, size=size)
    bins = {"age": [18, 30, 40, 50, 67], "benefit_duration_years": 4,
            "prior_earnings": [0, 1, 500, 1e9]}  # fmt: skip
    model = pw.PersonModel(
        pw.bin_covariates(df, bins),
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=list(COVARIATES),
        comparison={"Groningen": "reference"},
        likelihood="normal_approx",
    )
    return model, MARGINAL, marginal_data(model), ["alpha_mu", "alpha_sd", "mu", "tau"]


def main() -> int:
    import stan  # the bench extra

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["summary", "person", "national"], default="summary")
    ap.add_argument("--draws", type=int, default=5000, help="per chain, both samplers")
    ap.add_argument("--size", type=float, default=None, help="person 0.5, national 5")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--out", type=Path, default=None, help="default benchmarks/out/stan_<model>.json"
    )
    args = ap.parse_args()
    if args.model == "summary":
        model, program_code, data, names = summary_case()
    elif args.model == "person":
        model, program_code, data, names = person_case(args.size or 0.5)
    else:
        model, program_code, data, names = national_case(args.size or 5.0)
    start = time.perf_counter()
    mine = model.fit(draws=args.draws, tune=1000, random_seed=args.seed, progress=False)
    t_mine = time.perf_counter() - start
    start = time.perf_counter()
    program = stan.build(program_code, data=data, random_seed=args.seed)
    t_build = time.perf_counter() - start
    fit = program.sample(num_chains=4, num_samples=args.draws, num_warmup=1000)
    t_stan = time.perf_counter() - start
    coords = {k: v for k, v in model.coords.items() if k in ("site", "component", "covariate")}
    dims = {"mu": ["component"], "tau": ["component"], "beta": ["site", "component"],
            "gamma": ["covariate"]}  # fmt: skip
    theirs = to_idata(fit, names, coords, dims)
    rows = compare(mine.idata, theirs, names)
    ok = all(r["mean_ok"] and r["sd_ok"] for r in rows)
    ess = {
        name: float(az.ess(idata, var_names=names).to_array().min())
        for name, idata in (("pwbayes", mine.idata), ("stan", theirs))
    }
    out = {
        "model": args.model,
        "agree_within_4_mcse": ok,
        "parameters": len(rows),
        "worst_mean_gap_in_mcse": max(r["mean_gap_in_mcse"] for r in rows),
        "worst_sd_gap_in_mcse": max(r["sd_gap_in_mcse"] for r in rows),
        "seconds": {
            "pwbayes_fit": round(t_mine, 1),
            "stan_build": round(t_build, 1),
            "stan_build_and_sample": round(t_stan, 1),
        },  # fmt: skip
        "min_bulk_ess": ess,
        "divergences": {
            "pwbayes": int(mine.idata.sample_stats["diverging"].sum()),
            "stan": int(theirs.sample_stats["diverging"].sum()),
        },
        "draws_per_chain": args.draws,
        "rows": rows,
    }
    if args.model != "summary":
        out["people"] = len(model.data.y)
        out["participants"] = int(model.data.participant.sum())
        out["likelihood_rows"] = model.cells.size
    path = args.out or Path(f"benchmarks/out/stan_{args.model}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    for r in rows:
        if not (r["mean_ok"] and r["sd_ok"]):
            print("disagree:", r)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
