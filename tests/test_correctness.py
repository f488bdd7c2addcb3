"""Sampled posteriors against exact results (numerical integration / conjugacy).

Tolerances are 4 Monte Carlo standard errors (ArviZ's MCSE of the mean and of the SD)
plus a small allowance for the grid integration.
"""

import warnings

import numpy as np
import pytest
from exact import MU_SD, SCHOOLS, TAU_SD, S, Y, exact_eight_schools
from helpers import COLUMNS, SCHOOL_COLUMNS, agree, assert_converged, fit_within

import pwbayes as pw

pytestmark = pytest.mark.slow


def test_eight_schools_matches_numerical_integration():
    model = pw.SummaryModel(
        SCHOOLS,
        **SCHOOL_COLUMNS,
        priors={
            "mu": pw.Prior("Normal", mu=0, sigma=MU_SD),
            "tau": pw.Prior("HalfNormal", sigma=TAU_SD),
        },
    )
    fit = fit_within(model, draws=4000, tune=1000, chains=4, random_seed=2024)
    exact = exact_eight_schools()
    agree(fit.idata, "mu", *exact["mu"])
    agree(fit.idata, "tau", *exact["tau"])
    # the grid covers the posterior: the model is not simply returning the prior
    assert exact["tau"][0] < 0.9 * TAU_SD * np.sqrt(2 / np.pi)


def test_no_pooling_reproduces_each_site():
    """pooling='none': theta_j | y ~ Normal(y_j * k_j, ...) with k_j = sd0^2/(sd0^2 + s_j^2)."""
    sd0 = 100.0
    model = pw.SummaryModel(
        SCHOOLS,
        **SCHOOL_COLUMNS,
        pooling="none",
        priors={"beta": pw.Prior("Normal", mu=0, sigma=sd0)},
    )
    fit = fit_within(model, draws=2000, tune=1000, chains=4, random_seed=5)
    k = sd0**2 / (sd0**2 + S**2)
    for j in range(len(Y)):
        agree(fit.idata, "theta", Y[j] * k[j], np.sqrt(k[j]) * S[j], idx={"row": j})
    eff = fit.effects()
    np.testing.assert_allclose(eff[eff.estimand == "theta"]["mean"], Y, atol=1.5)


def test_full_pooling_is_precision_weighted_mean():
    sd0 = 1000.0
    model = pw.SummaryModel(
        SCHOOLS,
        **SCHOOL_COLUMNS,
        pooling="full",
        priors={"mu": pw.Prior("Normal", mu=0, sigma=sd0)},
    )
    fit = fit_within(model, draws=2000, tune=1000, chains=4, random_seed=6)
    w = 1 / S**2
    agree(fit.idata, "mu", (w * Y).sum() / (w.sum() + sd0**-2), (w.sum() + sd0**-2) ** -0.5)
    # every school's theta equals the common mean
    theta = fit.idata.posterior["theta"]
    np.testing.assert_allclose(theta.std("row"), 0.0, atol=1e-9)


def test_example_fit_contract(fitted_example):
    """The bundled example: real names in coords, converged, effects per DESIGN.md."""
    post = fitted_example.idata.posterior
    assert list(post["beta"].coords["site"].values)[:2] == ["Deventer", "Tilburg"]
    assert post["tau"].dims == ("chain", "draw", "component")
    assert post["theta_new"].dims == ("chain", "draw", "component")
    assert_converged(fitted_example.diagnostics)
    eff = fitted_example.effects()
    assert set(eff.level) == {"site", "pooled", "new_site"}
    pooled = eff[(eff.level == "pooled") & eff.component.notna()]
    assert list(pooled.component) == [
        "zelf_in_actie",
        "extra_hulp",
        "werken_loont",
        "werkbonus",
        "app",
        "keuze",
    ]
    # shrinkage: every partially pooled estimate is nearer the pooled arm effect than its own
    pf = fitted_example.pooling_factors()
    assert ((pf.pooling_factor > 0) & (pf.pooling_factor < 1)).all()


def test_interactions_and_bias_fit():
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(
        data,
        **COLUMNS,
        interactions=True,
        suspect=["Nijmegen", "Tilburg"],
    )
    fit = fit_within(model, draws=1000, tune=1000, chains=4, random_seed=3)
    post = fit.idata.posterior
    assert post["interaction"].dims == ("chain", "draw", "combined_arm")
    assert list(post["bias"].coords["bias_site"].values) == ["Tilburg", "Nijmegen"]
    assert fit.record.model.summary.suspect_rows[0].startswith("Tilburg")
    # mu_arm of a combined arm includes its interaction term
    arm = "Zelf in Actie + Werken Loont"
    expected = post["mu"].sel(component=["zelf_in_actie", "werken_loont"]).sum("component") + post[
        "interaction"
    ].sel(combined_arm=arm)
    np.testing.assert_allclose(post["mu_arm"].sel(arm=arm), expected)


def test_pymc_sampler_fallback():
    model = pw.SummaryModel(SCHOOLS, **SCHOOL_COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(
            draws=200, tune=200, chains=2, random_seed=1, sampler="pymc", progress=False
        )
    assert fit.record.sampling.sampler == "pymc"
    assert fit.idata.posterior["mu"].shape == (2, 200, 1)
    assert "theta_new" in fit.idata.posterior


def test_compiled_model_reused_with_new_data():
    """A second model of the same structure reuses the compiled sampler with its own data."""
    from pwbayes import sampling

    sd0 = 1000.0
    priors = {"mu": pw.Prior("Normal", mu=0, sigma=sd0)}
    kw = {**SCHOOL_COLUMNS, "pooling": "full", "priors": priors}
    first = pw.SummaryModel(SCHOOLS, **kw)
    fit_within(first, draws=500, chains=2, random_seed=1)
    n_cached = len(sampling._COMPILED)
    shifted = SCHOOLS.assign(estimate=SCHOOLS.estimate + 10.0)
    second = pw.SummaryModel(shifted, **kw)
    assert second.structure_key() == first.structure_key()
    fit = fit_within(second, draws=2000, chains=4, random_seed=2)
    assert len(sampling._COMPILED) == n_cached  # nothing compiled again
    w = 1 / S**2
    agree(fit.idata, "mu", (w * (Y + 10)).sum() / (w.sum() + sd0**-2), (w.sum() + sd0**-2) ** -0.5)


def test_compiled_model_reused_with_new_prior_values():
    """Prior parameters are data: new values reuse the compiled sampler, and count.

    Full pooling with a normal prior on ``mu`` is conjugate, so the refit's posterior is
    known exactly: ``mu ~ Normal(5, 2)`` pulls it towards 5.
    """
    from pwbayes import sampling

    kw = {**SCHOOL_COLUMNS, "pooling": "full"}
    first = pw.SummaryModel(SCHOOLS, **kw, priors={"mu": pw.Prior("Normal", mu=0, sigma=1000)})
    fit_within(first, draws=500, chains=2, random_seed=1)
    n_cached = len(sampling._COMPILED)
    second = pw.SummaryModel(SCHOOLS, **kw, priors={"mu": pw.Prior("Normal", mu=5, sigma=2)})
    assert second.structure_key() == first.structure_key()
    fit = fit_within(second, draws=2000, chains=4, random_seed=2)
    assert len(sampling._COMPILED) == n_cached  # nothing compiled again
    assert fit.record.model.priors["mu"] == {"dist": "Normal", "mu": 5.0, "sigma": 2.0}
    w, w0 = 1 / S**2, 1 / 2.0**2
    agree(fit.idata, "mu", ((w * Y).sum() + 5 * w0) / (w.sum() + w0), (w.sum() + w0) ** -0.5)


def test_leaving_a_site_out_is_fitting_without_it():
    """``leave_out`` masks a site's likelihood: the posterior is the exact one without it.

    The refit reuses the compiled sampler (the mask is data); the held-out school's effect
    is then its predictive from the other seven.
    """
    from pwbayes import sampling

    priors = {"mu": pw.Prior("Normal", mu=0, sigma=MU_SD),
              "tau": pw.Prior("HalfNormal", sigma=TAU_SD)}  # fmt: skip
    model = pw.SummaryModel(SCHOOLS, **SCHOOL_COLUMNS, priors=priors)
    with warnings.catch_warnings():  # this fit only compiles; its draws are not used
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        model.fit(draws=100, tune=100, chains=2, random_seed=1, progress=False)
    n_cached = len(sampling._COMPILED)
    held = model.leave_out("A")
    assert held.structure_key() == model.structure_key()
    fit = fit_within(held, draws=4000, tune=1000, chains=4, random_seed=7)
    assert len(sampling._COMPILED) == n_cached
    assert fit.record.model.summary.held_out_sites == ("A",)
    exact = exact_eight_schools(keep=SCHOOLS.school.to_numpy() != "A")
    agree(fit.idata, "mu", *exact["mu"])
    agree(fit.idata, "tau", *exact["tau"])
    with pytest.raises(pw.DataError, match="not a site"):
        model.leave_out("Z")
