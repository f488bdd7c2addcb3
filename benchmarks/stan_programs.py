"""pwbayes's models written in Stan, for the agreement and speed benchmarks.

Three programs, each fed from a built pwbayes model object (its data, as the model sees
them, and its priors in force), so that Stan and pwbayes sample the same posterior:

``SUMMARY``
    The summary model, non-centred: ``y ~ N(x beta_site, se)``, ``beta = mu + tau z``.
``PERSON``
    The person-level binary model with the exact likelihood, in the textbook non-centred
    form a Stan user would write (``binomial_logit_glm`` over the model's likelihood rows:
    people, or collapsed cells). Same covariates (standardised as pwbayes does).
``MARGINAL``
    The person-level model with ``likelihood="normal_approx"`` (what ``"auto"`` picks at
    national scale): the normal approximation of the likelihood in the site parameters,
    which are integrated out, so only the hyperparameters are sampled; ``mu`` enters
    standardised exactly as in pwbayes (a change of variables with its Jacobian).

Needs the ``bench`` extra (PyStan 3). Used by ``stan_agreement.py`` and ``speed.py``.
"""

from __future__ import annotations

import arviz as az
import numpy as np

SUMMARY = """
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

PERSON = """
data {
  int<lower=1> N;                  // likelihood rows (people or collapsed cells)
  int<lower=1> S;                  // sites
  int<lower=1> G;                  // comparison + arms
  int<lower=1> C;                  // components
  int<lower=1> P;                  // covariates (standardised)
  array[N] int<lower=1, upper=S * G> cell;   // (site - 1) * G + group
  array[N] int<lower=0> k;         // events
  array[N] int<lower=1> n;         // trials
  matrix[N, P] x;
  matrix[G, C] design;             // first row: the comparison group (zeros)
  real alpha_mu_loc;
  real<lower=0> alpha_mu_scale;
  real<lower=0> alpha_sd_scale;
  vector[C] mu_loc;
  vector<lower=0>[C] mu_scale;
  vector<lower=0>[C] tau_scale;
  vector[P] gamma_loc;
  vector<lower=0>[P] gamma_scale;
}
parameters {
  real alpha_mu;
  real<lower=0> alpha_sd;
  vector[S] alpha_z;
  vector[C] mu;
  vector<lower=0>[C] tau;
  matrix[S, C] z;
  vector[P] gamma;
}
transformed parameters {
  vector[S] alpha = alpha_mu + alpha_sd * alpha_z;
  matrix[S, C] beta = rep_matrix(mu', S) + rep_matrix(tau', S) .* z;
}
model {
  // linear predictor of every site x group cell, laid out site by site
  vector[S * G] eta = to_vector((rep_matrix(alpha, G) + beta * design')');
  alpha_mu ~ normal(alpha_mu_loc, alpha_mu_scale);
  alpha_sd ~ normal(0, alpha_sd_scale);
  alpha_z ~ std_normal();
  mu ~ normal(mu_loc, mu_scale);
  tau ~ normal(0, tau_scale);
  to_vector(z) ~ std_normal();
  gamma ~ normal(gamma_loc, gamma_scale);
  k ~ binomial_logit_glm(n, x, eta[cell], gamma);
}
"""

MARGINAL = """
data {
  int<lower=1> S;                  // sites
  int<lower=1> R;                  // site x arm cells
  int<lower=1> C;                  // components
  int<lower=0> P;                  // covariates
  vector[S + R + P] psi_hat;       // stage-one maximum likelihood
  matrix[S + R + P, S + R + P] psi_cov;
  matrix[R, C] cell_design;
  array[C] matrix[S + R + P, S + R + P] g;   // tau_c^2 blocks of the prior covariance
  vector[P] gamma_loc;
  vector<lower=0>[P] gamma_scale;
  vector[C] mu_centre;             // pwbayes's standardisation of mu (a change of variables)
  vector<lower=0>[C] mu_var;
  vector<lower=1>[C] sites_per_component;
  real alpha_mu_loc;
  real<lower=0> alpha_mu_scale;
  real<lower=0> alpha_sd_scale;
  vector[C] mu_loc;
  vector<lower=0>[C] mu_scale;
  vector<lower=0>[C] tau_scale;
}
transformed data {
  matrix[S + R + P, S + R + P] fixed = psi_cov;
  for (p in 1:P) fixed[S + R + p, S + R + p] += square(gamma_scale[p]);
}
parameters {
  real alpha_mu;
  real<lower=0> alpha_sd;
  vector<lower=0>[C] tau;
  vector[C] mu_std;
}
transformed parameters {
  vector[C] scale = sqrt(mu_var + square(tau) ./ sites_per_component);
  vector[C] mu = mu_centre + scale .* mu_std;
}
model {
  matrix[S + R + P, S + R + P] cov = fixed;
  vector[S + R + P] m = append_row(rep_vector(alpha_mu, S),
                                   append_row(cell_design * mu, gamma_loc));
  for (s in 1:S) cov[s, s] += square(alpha_sd);
  for (c in 1:C) cov += square(tau[c]) * g[c];
  alpha_mu ~ normal(alpha_mu_loc, alpha_mu_scale);
  alpha_sd ~ normal(0, alpha_sd_scale);
  tau ~ normal(0, tau_scale);
  mu ~ normal(mu_loc, mu_scale);
  target += sum(log(scale));       // Jacobian of mu_std -> mu
  psi_hat ~ multi_normal(m, cov);
}
"""


def _normal(priors, var, labels) -> tuple[np.ndarray, np.ndarray]:
    dist, params = priors.params(var, labels)
    if dist not in ("Normal", "HalfNormal"):
        raise ValueError(f"the Stan programs take Normal/HalfNormal priors; {var} has {dist}")
    return np.broadcast_to(params.get("mu", 0.0), len(labels)), params["sigma"]


def summary_data(model) -> dict:
    """Data of ``SUMMARY`` from a :class:`pwbayes.SummaryModel` (its rows and priors)."""
    d = model.data
    mu_loc, mu_scale = _normal(model._priors, "mu", d.components)
    return {
        "N": len(d.rows),
        "S": len(d.sites),
        "C": len(d.components),
        "site": (d.site_index + 1).tolist(),
        "x": d.design[d.arm_index].tolist(),
        "y": d.rows["estimate"].tolist(),
        "se": d.rows["se"].tolist(),
        "mu_loc": mu_loc.tolist(),
        "mu_scale": mu_scale.tolist(),
        "tau_scale": _normal(model._priors, "tau", d.components)[1].tolist(),
    }


def _hyper_priors(model) -> dict:
    d, pri = model.data, model._priors
    base = {k: pri.base[k].params for k in ("alpha_mu", "alpha_sd")}
    mu_loc, mu_scale = _normal(pri, "mu", d.components)
    out = {
        "alpha_mu_loc": float(base["alpha_mu"]["mu"]),
        "alpha_mu_scale": float(base["alpha_mu"]["sigma"]),
        "alpha_sd_scale": float(base["alpha_sd"]["sigma"]),
        "mu_loc": mu_loc.tolist(),
        "mu_scale": mu_scale.tolist(),
        "tau_scale": _normal(pri, "tau", d.components)[1].tolist(),
    }
    if d.covariates:
        loc, scale = _normal(pri, "gamma", d.covariates)
        out.update(gamma_loc=loc.tolist(), gamma_scale=scale.tolist())
    else:
        out.update(gamma_loc=[], gamma_scale=[])
    return out


def person_data(model) -> dict:
    """Data of ``PERSON`` from a bernoulli :class:`pwbayes.PersonModel` (exact likelihood)."""
    d = model.data
    if model.family != "bernoulli" or model.likelihood != "exact" or d.subgroups:
        raise ValueError("PERSON is the binary model with the exact likelihood, no subgroups")
    if not d.covariates:
        raise ValueError("PERSON needs at least one covariate (binomial_logit_glm)")
    rows = model.cells.loglik_data()
    groups = len(d.arms) + 1
    return {
        "N": len(rows),
        "S": len(d.sites),
        "G": groups,
        "C": len(d.components),
        "P": len(d.covariates),
        "cell": (model.cells.cell_index() + 1).tolist(),
        "k": np.rint(rows[:, 0]).astype(int).tolist(),
        "n": np.rint(rows[:, 1]).astype(int).tolist(),
        "x": rows[:, 2:].tolist(),
        "design": np.vstack([np.zeros((1, len(d.components))), d.design]).tolist(),
        **_hyper_priors(model),
    }


def marginal_data(model) -> dict:
    """Data of ``MARGINAL`` from a :class:`pwbayes.PersonModel` with the normal approximation."""
    from pwbayes.models.person.marginal import prior_blocks

    if model.likelihood != "normal_approx":
        raise ValueError("MARGINAL is the model with likelihood='normal_approx'")
    a = model.stage_one
    layout = a.layout
    _, g, _ = prior_blocks(layout, a.gamma_sd)
    sites_per_component = (layout.site_cell_map.sum(axis=0) > 0).sum(axis=0)
    return {
        "S": layout.n_sites,
        "R": len(layout.cell_site),
        "C": layout.design.shape[1],
        "P": layout.n_covariates,
        "psi_hat": a.psi_hat.tolist(),
        # symmetrised: Stan's multi_normal checks symmetry to the last digit
        "psi_cov": ((a.psi_cov + a.psi_cov.T) / 2).tolist(),
        "cell_design": layout.cell_design.tolist(),
        "g": g.tolist(),
        "mu_centre": np.asarray(a.mu_scaling[0]).tolist(),
        "mu_var": np.asarray(a.mu_scaling[1]).tolist(),
        "sites_per_component": sites_per_component.astype(float).tolist(),
        **_hyper_priors(model),
    }


def to_idata(fit, names, coords: dict, dims: dict) -> az.InferenceData:
    """PyStan 3 draws of ``names`` as InferenceData (chains x draws x ...), with coords."""
    chains = fit.num_chains
    post = {}
    for name in names:
        # (dims..., draws * chains), the chain index running fastest (PyStan 3's Fit)
        values = np.moveaxis(fit[name], -1, 0)
        if name not in dims:  # a scalar: PyStan gives it shape (1, draws * chains)
            values = values[:, 0]
        values = values.reshape(-1, chains, *values.shape[1:])
        post[name] = np.swapaxes(values, 0, 1)
    stats = {}
    if "divergent__" in fit.sample_and_sampler_param_names:
        div = np.asarray(fit["divergent__"]).reshape(-1, chains).T
        stats["diverging"] = div.astype(bool)
        steps = np.asarray(fit["n_leapfrog__"]).reshape(-1, chains).T
        stats["n_steps"] = steps
    return az.from_dict(
        posterior=post,
        sample_stats=stats or None,
        coords=coords,
        dims={k: v for k, v in dims.items() if k in names},
    )


def compare(a: az.InferenceData, b: az.InferenceData, names) -> list[dict]:
    """Means and SDs of every scalar of ``names``, with the allowed gap of 4 combined MCSEs."""
    sa = az.summary(a, var_names=list(names), kind="all", round_to="none")
    sb = az.summary(b, var_names=list(names), kind="all", round_to="none")
    rows = []
    for key in sa.index:
        ra, rb = sa.loc[key], sb.loc[key]
        mean_se = np.hypot(ra["mcse_mean"], rb["mcse_mean"])
        sd_se = np.hypot(ra["mcse_sd"], rb["mcse_sd"])
        mean_gap, sd_gap = abs(ra["mean"] - rb["mean"]), abs(ra["sd"] - rb["sd"])
        rows.append({"parameter": key, "mean_pwbayes": ra["mean"], "mean_stan": rb["mean"],
                     "sd_pwbayes": ra["sd"], "sd_stan": rb["sd"],
                     "mean_ok": bool(mean_gap <= 4 * mean_se), "sd_ok": bool(sd_gap <= 4 * sd_se),
                     "mean_gap_in_mcse": float(mean_gap / mean_se),
                     "sd_gap_in_mcse": float(sd_gap / sd_se)})  # fmt: skip
    return rows
