"""How much do the priors decide: refits under other tau priors against exact integration."""

import numpy as np
import pandas as pd
import pytest
from exact import PRIORS, SCHOOLS, exact_eight_schools
from helpers import COLUMNS, SCHOOL_COLUMNS, fake_result, fit_within
from scipy import stats

import pwbayes as pw
from pwbayes.checks.sensitivity import (
    CONFLICT,
    STRONG_PRIOR,
    Sensitivity,
    tau_alternatives,
    typical_effect,
)


def test_calibrated_priors_have_the_stated_medians(example_model):
    fit = fake_result(example_model, mu_loc=[3.0, -4.0, 0.0, 0.0, 0.0, 0.0])
    typical = typical_effect(fit)
    means = fit.idata.posterior["mu"].mean(("chain", "draw")).values
    assert typical == pytest.approx(np.sqrt(np.mean(means**2)))
    alt = tau_alternatives(fit.record.model, typical)
    fitted = pw.Prior.from_value(fit.record.model.priors["tau"])
    half, twice = alt["half as wide"][0]["tau"], alt["twice as wide"][0]["tau"]
    assert half.params["sigma"] == pytest.approx(fitted.params["sigma"] / 2)
    assert twice.params["sigma"] == pytest.approx(fitted.params["sigma"] * 2)
    for name, ratio in (("spread = effect", 1), ("spread = 3 x effect", 3)):
        priors, source = alt[name]
        median = stats.halfnorm.median(scale=priors["tau"].params["sigma"])
        assert median == pytest.approx(ratio * typical, rel=1e-3)
        assert "(202" in source  # cites its source


def test_null_effects_still_give_a_usable_prior(example_model):
    """Pooled effects all but zero: the unit is a tenth of the median SE, not zero."""
    fit = fake_result(example_model, mu_loc=np.zeros(6))
    se = np.median([r.se for r in fit.record.model.rows])
    means = fit.idata.posterior["mu"].mean(("chain", "draw")).values
    assert np.sqrt(np.mean(means**2)) < 0.1 * se  # the fake posterior's means are near zero
    assert typical_effect(fit) == pytest.approx(0.1 * se)


def test_per_component_tau_priors_are_scaled_too(example_data):
    own = {"tau[extra_hulp]": pw.Prior("HalfNormal", sigma=1.0)}
    model = pw.SummaryModel(example_data, **COLUMNS, priors=own)
    alt = tau_alternatives(fake_result(model).record.model, 2.0)
    assert alt["half as wide"][0]["tau[extra_hulp]"] == pw.Prior("HalfNormal", sigma=0.5)
    assert alt["twice as wide"][0]["tau[extra_hulp]"] == pw.Prior("HalfNormal", sigma=2.0)
    assert set(alt["spread = effect"][0]) == {"tau"}  # replaces the per-component ones


def _fake_sensitivity():
    rows = []
    for prior, shift in (("as fitted", 0.0), ("wide", 0.5)):
        for comp in ("extra_hulp", "werkbonus"):
            for estimand in ("mu", "theta_new"):
                rows.append({"prior": prior, "tau_prior": "HalfNormal(sigma=1)", "source": "x",
                             "component": comp, "estimand": estimand, "mean": 1 + shift,
                             "sd": 1.0, "hdi_low": -1 + shift, "hdi_high": 3 + shift,
                             "p_positive": 0.8, "tau_median": 1.0, "shift": shift})  # fmt: skip
    psens = pd.DataFrame({"variable": ["tau"], "component": ["werkbonus"], "prior": [0.2],
                          "likelihood": [0.01], "diagnosis": [STRONG_PRIOR]})  # fmt: skip
    weak = {"werkbonus": "seen in one municipality only"}
    labels = {"extra_hulp": "Extra Hulp", "werkbonus": "Werkbonus"}
    return Sensitivity(pd.DataFrame(rows), psens, 2.0, "percentage points", weak, labels, "SYNTH")


def test_the_sensitivity_plot_and_line():
    sens = _fake_sensitivity()
    fig = sens.plot()
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.axison]
    assert titles == ["Extra Hulp", "Werkbonus (tau rests on its prior)"]
    assert len(fig.axes[0].get_yticklabels()) == 2  # one row per prior
    line = sens.line()
    assert "at most 0.50 posterior SDs" in line
    assert "tau[werkbonus] (strong prior / weak likelihood)" in line
    assert "werkbonus from +1.00 to +1.50" in line


def test_sensitivity_needs_partial_pooling(example_data):
    fit = fake_result(pw.SummaryModel(example_data, **COLUMNS, pooling="none"))
    with pytest.raises(pw.DataError, match="pooling='partial'"):
        fit.sensitivity()
    fit = fake_result(pw.SummaryModel(example_data, **COLUMNS))
    with pytest.raises(pw.DataError, match="typical=-1"):
        fit.sensitivity(typical=-1)
    with pytest.raises(pw.DataError, match="dict of name"):
        fit.sensitivity(priors={})


@pytest.mark.slow
def test_refits_under_other_priors_are_the_exact_posteriors():
    """Eight schools under tau ~ HalfNormal(3) and HalfNormal(25): mu and tau as integrated.

    The tolerance is four Monte Carlo SEs of the mean (ESS at least 400 asserted by the
    convergence check of the fit, so SE <= sd / 20) plus the grid's allowance.
    """
    model = pw.SummaryModel(SCHOOLS, **SCHOOL_COLUMNS, priors=PRIORS)
    fit = fit_within(model, draws=2000, tune=1000, chains=2, random_seed=5)
    priors = {
        "narrow": pw.Prior("HalfNormal", sigma=3.0),
        "wide": pw.Prior("HalfNormal", sigma=25.0),
    }
    sens = fit.sensitivity(priors=priors, draws=2000, tune=1000, chains=2, random_seed=1)
    table = sens.table.set_index(["prior", "estimand"])
    for name, sd in (("narrow", 3.0), ("wide", 25.0)):
        exact = exact_eight_schools(tau_sd=sd)
        row = table.loc[(name, "mu")]
        mean, post_sd = exact["mu"]
        assert abs(row["mean"] - mean) < 4 * post_sd / 20 + 1e-3, (name, row["mean"], mean)
        assert abs(row["sd"] / post_sd - 1) < 0.1, (name, row["sd"], post_sd)
        base = table.loc[("as fitted", "mu")]
        assert row["shift"] == pytest.approx((row["mean"] - base["mean"]) / base["sd"])
    # a narrower prior for tau pulls the schools together: tau's median falls
    assert table.loc[("narrow", "mu"), "tau_median"] < table.loc[("wide", "mu"), "tau_median"]
    # power-scaling: with eight schools tau's prior matters, mu's hardly
    psens = sens.psens.set_index("variable")
    assert psens.loc["tau", "prior"] > psens.loc["mu", "prior"]
    assert set(sens.psens.diagnosis) <= {"-", CONFLICT, STRONG_PRIOR}
