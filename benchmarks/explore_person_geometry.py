"""Parameterisations of the exact person-level model, for the speed of the full population.

Usage::

    python benchmarks/explore_person_geometry.py VARIANT [--size 1.0] [--draws 1000] [--tune 1000]

Each VARIANT writes the same exact logit model (site intercepts, site x component effects
with partial pooling, nine covariates, ``work_gt_8h``, Groningen against its reference
group; priors as ``PersonModel``'s defaults for this population) in another
parameterisation, samples it with nutpie (4 chains) and prints compile and sampling time,
leapfrog steps per draw, time per gradient, divergences and the ESS of ``mu`` and ``tau``
per component. ``plain`` is the non-centred parameterisation
(``PersonModel(..., parameterization="noncentered")``), the reference; run it in the same
session as the variant you compare. Figures in
``docs/benchmarks.md``.

Variants: ``plain``, ``lowrank`` (nutpie's low-rank mass matrix), ``full`` / ``diag``
(all site effects and covariate effects whitened by the stage-one normal approximation:
exact Cholesky, or a solve with a diagonal scale), ``site_diag`` / ``sitebatch``
(per-site 7 x 7 blocks given gamma: diagonal scale with one op set per site, or exact
Cholesky batched over sites), ``siteunrolled`` (the same with the Cholesky factorisation
and solves unrolled into elementwise operations), ``anchor`` (components run in one site
anchored on that site's effect), ``mustd`` (``mu`` standardised as in
``likelihood="normal_approx"``), ``vip`` (variationally-inferred partial centring with
weights from stage one), ``rot`` (site effects rotated by the SVD of each site's design),
``mixed`` (centred for components run in two or more sites).

Development tool: the variants that need a Jacobian add it as a ``pm.Potential``. None of
them is part of the package; ``PersonModel``'s default (``parameterization="whitened"``) is
the ``sitebatch`` transform written as one Op with numba kernels (``models/_whitening.py``),
plus ``mustd``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import arviz as az
import numpy as np
import nutpie
import pymc as pm
import pytensor.tensor as pt

import pwbayes as pw
from pwbayes.data.population import COVARIATES
from pwbayes.models.person.kernels.logit import logit_loglik

VARIANTS = (
    "plain",
    "lowrank",
    "full",
    "diag",
    "site_diag",
    "sitebatch",
    "siteunrolled",
    "anchor",
    "mustd",
    "vip",
    "rot",
    "mixed",
)


def setup(size: float):
    df, _ = pw.examples.simulate_participants(random_seed=1, size=size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small cells: stage one is only a preconditioner here
        m = pw.PersonModel(
            df,
            site="municipality",
            arm="arm",
            outcome="work_gt_8h",
            covariates=list(COVARIATES),
            comparison={"Groningen": "reference"},
            likelihood="normal_approx",
        )
    return m


def site_blocks(a, lay, prec):
    """Per site: H = A'PA, h = A'P psi_hat, K = A'P_(site, gamma) for phi_m = (alpha, beta)."""
    s, r, c = lay.n_sites, len(lay.cell_site), lay.design.shape[1]
    gidx = list(range(s + r, lay.size))
    h_mat, h_vec, k_mat = [], [], []
    for m in range(s):
        cells = [s + j for j in range(r) if lay.cell_site[j] == m]
        ids = [m, *cells]
        am = np.zeros((len(ids), 1 + c))
        am[0, 0] = 1.0
        for i, j in enumerate(cells):
            am[1 + i, 1:] = lay.design[lay.cell_arm[j - s]]
        pmm = prec[np.ix_(ids, ids)]
        h_mat.append(am.T @ pmm @ am)
        h_vec.append(am.T @ pmm @ a.psi_hat[ids])
        k_mat.append(am.T @ prec[np.ix_(ids, gidx)])
    return np.array(h_mat), np.array(h_vec), np.array(k_mat)


def unrolled_whitening(h_mat, sd7, bvec, eps):
    """``xi = B^-1 b + L^-T eps`` and ``-sum log diag L`` for ``B = I + D H D = L L'``, per site.

    The Cholesky factorisation and both triangular solves written out entry by entry as
    elementwise operations on vectors over sites, so that PyTensor fuses them into a few
    loops and differentiates them itself (no batched linear-algebra ops).
    """
    n = h_mat.shape[1]
    big = [
        [(1.0 if i == j else 0.0) + sd7[i] * h_mat[:, i, j] * sd7[j] for j in range(n)]
        for i in range(n)
    ]
    low = [[None] * n for _ in range(n)]
    for j in range(n):
        low[j][j] = pt.sqrt(big[j][j] - sum((low[j][k] ** 2 for k in range(j)), 0.0))
        for i in range(j + 1, n):
            acc = big[i][j] - sum((low[i][k] * low[j][k] for k in range(j)), 0.0)
            low[i][j] = acc / low[j][j]
    y = [None] * n
    for i in range(n):
        y[i] = (bvec[:, i] - sum((low[i][k] * y[k] for k in range(i)), 0.0)) / low[i][i]
    x = [None] * n
    for i in reversed(range(n)):
        acc = y[i] + eps[:, i] - sum((low[k][i] * x[k] for k in range(i + 1, n)), 0.0)
        x[i] = acc / low[i][i]
    jac = -sum(pt.sum(pt.log(low[i][i])) for i in range(n))
    return pt.stack(x, axis=1), jac


def build(m, variant: str) -> pm.Model:
    a, lay, d = m.stage_one, m.stage_one.layout, m.data
    s, c, k = lay.n_sites, lay.design.shape[1], lay.n_covariates
    r = len(lay.cell_site)
    pri = m.priors
    amap = np.zeros((lay.size, s + s * c + k))  # psi = A phi, phi = (alpha, beta, gamma)
    amap[:s, :s] = np.eye(s)
    for j, (site, arm) in enumerate(zip(lay.cell_site, lay.cell_arm, strict=True)):
        amap[s + j, s + site * c : s + (site + 1) * c] = lay.design[arm]
    amap[s + r :, s + s * c :] = np.eye(k)
    prec = np.linalg.inv(a.psi_cov)
    runs = lay.site_cell_map.sum(axis=0) > 0  # (site, component)
    n_runs = runs.sum(axis=0)
    design0 = np.vstack([np.zeros((1, c)), d.design])
    cell_idx = d.site_index * (len(d.arms) + 1) + (d.arm_index + 1)
    with pm.Model() as model:
        amu = pm.Normal("alpha_mu", **pri["alpha_mu"].params)
        asd = pm.HalfNormal("alpha_sd", **pri["alpha_sd"].params)
        tau = pm.HalfNormal("tau", **pri["tau"].params, shape=c)
        mu_prior = pm.Normal.dist(**pri["mu"].params)
        if variant in ("mustd", "anchor"):
            mu = None
        else:
            mu = pm.Normal("mu", **pri["mu"].params, shape=c)
        gamma = None
        if variant in ("plain", "lowrank", "rot"):
            u = pm.Normal("z", 0, 1, shape=(s, c))
            if variant == "rot":
                q = np.zeros((s * c, s * c))
                for site in range(s):
                    arms = sorted({int(x) for x in lay.cell_arm[lay.cell_site == site]})
                    q[site * c : (site + 1) * c, site * c : (site + 1) * c] = np.linalg.svd(
                        lay.design[arms], full_matrices=True
                    )[2].T
                u = pt.dot(q, u.reshape((-1,))).reshape((s, c))
            beta = mu + tau * u
            alpha = pm.Normal("alpha", amu, asd, shape=s)
        elif variant == "mustd":
            centre, fe_var = a.mu_scaling
            w = pm.Flat("mu_std", shape=c)
            scale = pt.sqrt(fe_var + tau**2 / n_runs)
            mu = pm.Deterministic("mu", centre + scale * w)
            pm.Potential("mu_prior", pt.sum(pm.logp(mu_prior, mu)) + pt.sum(pt.log(scale)))
            beta = mu + tau * pm.Normal("z", 0, 1, shape=(s, c))
            alpha = pm.Normal("alpha", amu, asd, shape=s)
        elif variant == "anchor":
            single = [j for j in range(c) if n_runs[j] == 1]
            multi = [j for j in range(c) if n_runs[j] != 1]
            b = pm.Flat("b", shape=len(single))
            w = pm.Normal("w", 0, 1, shape=len(single))
            mu_single = b - tau[single] * w
            pm.Potential("mu_single_prior", pt.sum(pm.logp(mu_prior, mu_single)))
            mu = pt.zeros(c)
            mu = pt.set_subtensor(
                mu[multi], pm.Normal("mu_multi", **pri["mu"].params, shape=len(multi))
            )
            mu = pt.set_subtensor(mu[single], mu_single)
            pm.Deterministic("mu", mu)
            beta = mu + tau * pm.Normal("z", 0, 1, shape=(s, c))
            for i, j in enumerate(single):
                beta = pt.set_subtensor(beta[int(np.flatnonzero(runs[:, j])[0]), j], b[i])
            alpha = pm.Normal("alpha", amu, asd, shape=s)
        elif variant in ("vip", "mixed"):
            if variant == "vip":
                var_theta = np.diag(a.psi_cov)[s : s + r]
                p_sc = np.zeros((s, c))
                for j in range(r):
                    p_sc[lay.cell_site[j]] += lay.design[lay.cell_arm[j]] / var_theta[j]
                lam = np.where(p_sc > 0, 0.09 * p_sc / (0.09 * p_sc + 1), 0.0)  # tau0 = 0.3
            else:
                lam = (runs & (n_runs[None, :] >= 2)).astype(float)
            bt = pm.Normal("beta_tilde", lam * mu, tau**lam, shape=(s, c))
            beta = mu + tau ** (1 - lam) * (bt - lam * mu)
            alpha = pm.Normal("alpha", amu, asd, shape=s)
        elif variant in ("full", "diag"):
            mean = pt.concatenate([pt.ones(s) * amu, pt.tile(mu, s), pt.zeros(k)])
            sd = pt.concatenate([pt.ones(s) * asd, pt.tile(tau, s), pt.ones(k)])
            big = pt.eye(s + s * c + k) + sd[:, None] * (amap.T @ prec @ amap) * sd[None, :]
            bvec = sd * pt.dot(amap.T @ prec, a.psi_hat - pt.dot(amap, mean))
            eps = pm.Flat("eps", shape=s + s * c + k)
            if variant == "full":
                chol = pt.linalg.cholesky(big)
                y1 = pt.linalg.solve_triangular(chol, bvec, lower=True)
                xi = pt.linalg.solve_triangular(chol.T, y1 + eps, lower=False)
                jac = -pt.sum(pt.log(pt.diag(chol)))
            else:
                scale = 1 / pt.sqrt(pt.diag(big))
                xi = pt.linalg.solve(big, bvec, assume_a="pos") + scale * eps
                jac = pt.sum(pt.log(scale))
            pm.Potential("jacobian", jac - 0.5 * pt.sum(xi**2))
            phi = mean + sd * xi
            alpha, beta, gamma = phi[:s], phi[s : s + s * c].reshape((s, c)), phi[s + s * c :]
        else:  # site_diag, sitebatch: per-site blocks given gamma
            h_mat, h_vec, k_mat = site_blocks(a, lay, prec)
            gamma = pm.Normal("gamma", **pri["gamma"].params, shape=k)
            mean7 = pt.concatenate([pt.stack([amu]), mu])
            sd7 = pt.concatenate([pt.stack([asd]), tau])
            lin = h_vec - pt.dot(h_mat, mean7) - pt.dot(k_mat, gamma - a.psi_hat[s + r :])
            big = np.eye(1 + c)[None] + sd7[None, :, None] * h_mat * sd7[None, None, :]
            bvec = sd7[None, :] * lin
            eps = pm.Flat("eps", shape=(s, 1 + c))
            if variant == "siteunrolled":
                xi, jac = unrolled_whitening(h_mat, sd7, bvec, eps)
            elif variant == "sitebatch":
                chol = pt.linalg.cholesky(big)
                y1 = pt.linalg.solve_triangular(chol, bvec[..., None], lower=True)
                xi = pt.linalg.solve_triangular(
                    chol.transpose(0, 2, 1), y1 + eps[..., None], lower=False
                )[..., 0]
                jac = -pt.sum(pt.log(pt.diagonal(chol, axis1=1, axis2=2)))
            else:
                rows, jac = [], 0.0
                for site in range(s):
                    scale = 1 / pt.sqrt(pt.diag(big[site]))
                    rows.append(
                        pt.linalg.solve(big[site], bvec[site], assume_a="pos") + scale * eps[site]
                    )
                    jac = jac + pt.sum(pt.log(scale))
                xi = pt.stack(rows)
            pm.Potential("jacobian", jac - 0.5 * pt.sum(xi**2))
            phi = mean7[None, :] + sd7[None, :] * xi
            alpha, beta = phi[:, 0], phi[:, 1:]
        if gamma is None:
            gamma = pm.Normal("gamma", **pri["gamma"].params, shape=k)
        cells = (alpha[:, None] + pt.dot(beta, design0.T)).flatten()
        data = np.column_stack([d.y, np.ones(len(d.y)), d.x])
        pm.Potential("loglik", logit_loglik(cells, gamma, cell_idx, data))
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variant", choices=VARIANTS)
    ap.add_argument("--size", type=float, default=1.0)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    args = ap.parse_args()
    model = build(setup(args.size), args.variant)
    t = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model)
    compile_s = time.perf_counter() - t
    extra = {"low_rank_modified_mass_matrix": True} if args.variant == "lowrank" else {}
    t = time.perf_counter()
    trace = nutpie.sample(
        compiled,
        draws=args.draws,
        tune=args.tune,
        chains=4,
        cores=2,
        seed=1,
        progress_bar=False,
        target_accept=0.95,
        **extra,
    )
    sample_s = time.perf_counter() - t
    steps = float(trace.sample_stats["n_steps"].mean())
    ess = az.ess(trace, var_names=["mu", "tau"])
    rhat = float(az.rhat(trace, var_names=["mu", "tau"]).to_array().max())
    per_grad = sample_s / (4 * (args.draws + args.tune) * steps / 2) * 1e3
    print(
        f"{args.variant}: compile {compile_s:.1f} s, sample {sample_s:.1f} s, {steps:.1f} steps "
        f"per draw, ~{per_grad:.2f} ms per gradient (kept draws' steps), divergences "
        f"{int(trace.sample_stats['diverging'].sum())}, max R-hat {rhat:.4f}"
    )
    print("bulk ESS mu: ", np.round(ess["mu"].values).tolist())
    print("bulk ESS tau:", np.round(ess["tau"].values).tolist())


if __name__ == "__main__":
    main()
