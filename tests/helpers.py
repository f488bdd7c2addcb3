"""Shared test helpers: column names and fake posteriors with known truth.

Fake draws become results through the public post-processing
(:func:`pwbayes.result_from_draws`), exactly as a fit's draws do.
"""

import warnings

import arviz as az
import numpy as np

import pwbayes as pw

COLUMNS = {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"}
SCHOOL_COLUMNS = {"site": "school", "estimate": "estimate", "se": "se"}


def fit_within(model, *, divergences=2, rhat=1.02, ess_per_chain=50, **settings):
    """Fit ``model`` and check its convergence against the test's own tolerance.

    Floating point differs between processors, so a fit that is clean on one machine may
    show a divergence, or an R-hat just over the package's 1.01, on another. The package's
    :class:`~pwbayes.ConvergenceWarning` (an error under the test settings) is therefore
    set aside here and what the test tolerates asserted instead: at most ``divergences``
    divergent transitions, every R-hat at most ``rhat`` and every bulk and tail ESS at
    least ``ess_per_chain`` per chain (half the package's threshold).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(progress=False, **settings)
    assert_converged(fit.diagnostics, divergences=divergences, rhat=rhat,
                     ess_per_chain=ess_per_chain)  # fmt: skip
    return fit


def assert_converged(diagnostics, *, divergences=2, rhat=1.02, ess_per_chain=50):
    """Assert the tolerance of :func:`fit_within` on a fit's diagnostics."""
    d = diagnostics
    assert d.divergences <= divergences, d.problems
    for name, v in d.variables.items():
        assert not v.rhat > rhat, (name, v, d.problems)  # NaN: a constant variable
        assert not min(v.ess_bulk, v.ess_tail) < ess_per_chain * d.chains, (name, v)


def fake_result(model, seed=0, chains=2, draws=500, mu_loc=None, tau_scale=1.0):
    """A result with a known posterior: mu_c ~ N(loc_c, 1), tau_c ~ |N(0, tau_scale)|."""
    rng = np.random.default_rng(seed)
    coords = model.coords
    n_site, n_comp = len(coords["site"]), len(coords["component"])
    loc = np.arange(n_comp, dtype=float) if mu_loc is None else np.asarray(mu_loc, float)
    post = {}
    if model.pooling in ("partial", "full"):
        post["mu"] = loc + rng.standard_normal((chains, draws, n_comp))
    if model.pooling == "partial":
        post["tau"] = np.abs(rng.normal(0, tau_scale, (chains, draws, n_comp)))
        post["beta"] = post["mu"][:, :, None, :] + post["tau"][:, :, None, :] * rng.standard_normal(
            (chains, draws, n_site, n_comp)
        )
    elif model.pooling == "full":
        post["beta"] = np.repeat(post["mu"][:, :, None, :], n_site, axis=2)
    else:
        post["beta"] = rng.standard_normal((chains, draws, n_site, n_comp))
    x_row = model.data.design[model.data.arm_index]
    post["theta"] = np.einsum("cdrk,rk->cdr", post["beta"][:, :, model.data.site_index, :], x_row)
    dims = {
        "mu": ["component"],
        "tau": ["component"],
        "beta": ["site", "component"],
        "theta": ["row"],
    }
    idata = az.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
        coords={k: coords[k] for k in ("site", "component", "row")},
        dims={k: v for k, v in dims.items() if k in post},
    )
    return _quietly(model, idata, seed)


def _quietly(model, idata, seed):
    """The result of fake draws; their (random) diagnostics are not under test."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        return pw.result_from_draws(model, idata, random_seed=seed, sampler="fake")


def fake_person_result(model, seed=0, chains=2, draws=1000, delta_loc=None):
    """A PersonResult from fake draws, post-processed exactly as ``PersonModel.fit`` does.

    ``alpha ~ N(-1, 0.1)``, ``mu_c ~ N(0.2, 0.05)``, ``beta = mu + N(0, 0.05)``, ``gamma ~
    N(0, 0.05)`` and, with subgroups, ``delta ~ N(delta_loc, 0.05)`` (``(component,
    subgroup)`` means; default zero); with moderators ``moderator_effect ~ N(0.1, 0.05)``.
    """
    rng = np.random.default_rng(seed)
    c = model.coords
    n_site, n_comp, n_cov = len(c["site"]), len(c["component"]), len(c["covariate"])
    shape = (chains, draws)
    post = {
        "alpha_mu": rng.normal(-1, 0.1, shape),
        "alpha_sd": np.abs(rng.normal(0.3, 0.05, shape)),
        "alpha": rng.normal(-1, 0.1, (*shape, n_site)),
        "mu": rng.normal(0.2, 0.05, (*shape, n_comp)),
        "tau": np.abs(rng.normal(0.1, 0.02, (*shape, n_comp))),
    }
    if n_cov:
        post["gamma"] = rng.normal(0, 0.05, (*shape, n_cov))
    post["beta"] = post["mu"][:, :, None] + rng.normal(0, 0.05, (*shape, n_site, n_comp))
    dims = {"alpha": ["site"], "mu": ["component"], "tau": ["component"],
            "gamma": ["covariate"], "beta": ["site", "component"]}  # fmt: skip
    if "moderator" in c:
        post["moderator_effect"] = rng.normal(0.1, 0.05, (*shape, n_comp, len(c["moderator"])))
        dims["moderator_effect"] = ["component", "moderator"]
    if "subgroup" in c:
        loc = np.zeros((n_comp, len(c["subgroup"]))) if delta_loc is None else delta_loc
        post["delta"] = loc + rng.normal(0, 0.05, (*shape, *loc.shape))
        dims["delta"] = ["component", "subgroup"]
        if model.subgroups_by_site:
            post["delta_site"] = rng.normal(0, 0.05, (*shape, n_site, *loc.shape))
            dims["delta_site"] = ["site", "component", "subgroup"]
            post["tau_sub_site"] = np.abs(rng.normal(0.3, 0.05, (*shape, n_comp)))
            dims["tau_sub_site"] = ["component"]
    idata = az.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros(shape, dtype=bool)},
        coords={
            k: c[k] for k in ("site", "component", "covariate", "subgroup", "moderator") if k in c
        },  # fmt: skip
        dims=dims,
    )
    return _quietly(model, idata, seed)


def agree(idata, name, exact_mean, exact_sd, idx=None):
    """Assert a posterior's mean and SD within 4 Monte Carlo SEs (+0.1% of the SD) of exact."""
    da = idata.posterior[name] if idx is None else idata.posterior[name].isel(idx)
    draws = da.squeeze().values  # (chain, draw)
    mean, sd = float(draws.mean()), float(draws.std())
    ds = az.convert_to_dataset({"x": draws})
    mcse_mean = az.mcse(ds, method="mean")["x"].item()
    # MCSE of the SD by the delta method (as ArviZ, whose own mcse(method="sd") trips on numpy 2)
    sq = (draws - mean) ** 2
    ess_sq = az.ess(az.convert_to_dataset({"x": sq}), method="mean")["x"].item()
    mcse_sd = np.sqrt(sq.var() / ess_sq) / (2 * sd)
    assert abs(mean - exact_mean) < 4 * mcse_mean + 1e-3 * abs(exact_sd), (name, mean, exact_mean)
    assert abs(sd - exact_sd) < 4 * mcse_sd + 1e-3 * exact_sd, (name, sd, exact_sd)
