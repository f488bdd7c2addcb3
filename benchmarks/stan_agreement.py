"""Agreement with Stan: the summary model written in Stan (PyStan) against pwbayes.

Usage (needs the ``bench`` extra: ``pip install -e ".[bench]"``, which installs PyStan;
PyStan compiles the Stan program with the machine's C++ compiler, 1-2 minutes the first
time)::

    python benchmarks/stan_agreement.py [--draws 5000] [--out benchmarks/out/stan_agreement.json]

Same data (the SYNTHETIC six-municipality example, ``work_gt_8h``), same priors (pwbayes's
defaults, read from the model), same non-centred parameterisation. For every ``mu``,
``tau`` and ``beta`` the posterior means and SDs must agree within 4 Monte Carlo standard
errors (the two samplers' MCSEs combined: ``4 * sqrt(mcse_pwbayes^2 + mcse_stan^2)``).
Also prints each sampler's wall time and the smallest bulk ESS, for the record; the speed
comparison proper is a separate script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import arviz as az
import numpy as np

import pwbayes as pw

STAN_SUMMARY = """
data {
  int<lower=1> N;                  // summary rows
  int<lower=1> S;                  // sites
  int<lower=1> C;                  // components
  array[N] int<lower=1, upper=S> site;
  matrix[N, C] x;                  // which components each row's arm contains
  vector[N] y;
  vector<lower=0>[N] se;
  vector[C] mu_loc;
  vector<lower=0>[C] mu_scale;
  vector<lower=0>[C] tau_scale;
}
parameters {
  vector[C] mu;
  vector<lower=0>[C] tau;
  matrix[S, C] z;
}
transformed parameters {
  matrix[S, C] beta;
  for (s in 1:S) beta[s] = mu' + tau' .* z[s];
}
model {
  mu ~ normal(mu_loc, mu_scale);
  tau ~ normal(0, tau_scale);      // half-normal through the lower bound
  to_vector(z) ~ std_normal();
  for (n in 1:N) y[n] ~ normal(x[n] * beta[site[n]]', se[n]);
}
"""


def stan_data(model) -> dict:
    """The Stan program's data from a pwbayes SummaryModel (its rows and priors)."""
    d = model.data
    _, mu = model._priors.params("mu", d.components)
    _, tau = model._priors.params("tau", d.components)
    return {
        "N": len(d.rows),
        "S": len(d.sites),
        "C": len(d.components),
        "site": (d.site_index + 1).tolist(),
        "x": d.design[d.arm_index].tolist(),
        "y": d.rows["estimate"].tolist(),
        "se": d.rows["se"].tolist(),
        "mu_loc": mu["mu"].tolist(),
        "mu_scale": mu["sigma"].tolist(),
        "tau_scale": tau["sigma"].tolist(),
    }


def stan_idata(fit, model) -> az.InferenceData:
    """PyStan draws as InferenceData with pwbayes's dims and coords."""
    d = model.data
    chains = fit.num_chains
    post = {}
    for name in ("mu", "tau", "beta"):
        # (dims..., draws * chains), the chain index running fastest (PyStan 3's Fit)
        values = np.moveaxis(fit[name], -1, 0)
        values = values.reshape(-1, chains, *values.shape[1:])
        post[name] = np.swapaxes(values, 0, 1)
    return az.from_dict(
        posterior=post,
        coords={"site": d.sites, "component": d.components},
        dims={"mu": ["component"], "tau": ["component"], "beta": ["site", "component"]},
    )


def compare(a: az.InferenceData, b: az.InferenceData) -> list[dict]:
    """Means and SDs of every scalar, with the allowed gap of 4 combined MCSEs."""
    names = ["mu", "tau", "beta"]
    sa = az.summary(a, var_names=names, kind="all", round_to="none")
    sb = az.summary(b, var_names=names, kind="all", round_to="none")
    rows = []
    for key in sa.index:
        ra, rb = sa.loc[key], sb.loc[key]
        mean_gap, mean_tol = (
            abs(ra["mean"] - rb["mean"]),
            4 * np.hypot(ra["mcse_mean"], rb["mcse_mean"]),
        )
        sd_gap, sd_tol = abs(ra["sd"] - rb["sd"]), 4 * np.hypot(ra["mcse_sd"], rb["mcse_sd"])
        rows.append({"parameter": key, "mean_pwbayes": ra["mean"], "mean_stan": rb["mean"],
                     "sd_pwbayes": ra["sd"], "sd_stan": rb["sd"],
                     "mean_ok": bool(mean_gap <= mean_tol), "sd_ok": bool(sd_gap <= sd_tol),
                     "mean_gap_in_mcse": float(mean_gap / (mean_tol / 4)),
                     "sd_gap_in_mcse": float(sd_gap / (sd_tol / 4))})  # fmt: skip
    return rows


def main() -> None:
    import stan  # the bench extra

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=5000, help="per chain, both samplers")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/stan_agreement.json"))
    args = ap.parse_args()
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, site="municipality", arm="arm", estimate="estimate", se="se")
    start = time.perf_counter()
    mine = model.fit(draws=args.draws, tune=1000, random_seed=args.seed, progress=False)
    t_mine = time.perf_counter() - start
    start = time.perf_counter()
    program = stan.build(STAN_SUMMARY, data=stan_data(model), random_seed=args.seed)
    t_build = time.perf_counter() - start
    fit = program.sample(num_chains=4, num_samples=args.draws, num_warmup=1000)
    t_stan = time.perf_counter() - start
    theirs = stan_idata(fit, model)
    rows = compare(mine.idata, theirs)
    ok = all(r["mean_ok"] and r["sd_ok"] for r in rows)
    ess = {
        name: float(az.ess(idata, var_names=["mu", "tau", "beta"]).to_array().min())
        for name, idata in (("pwbayes", mine.idata), ("stan", theirs))
    }
    out = {
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
        "draws_per_chain": args.draws,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    if not ok:
        for r in rows:
            if not (r["mean_ok"] and r["sd_ok"]):
                print("disagree:", r)


if __name__ == "__main__":
    main()
