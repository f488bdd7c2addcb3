import numpy as np
import pytest
from helpers import COLUMNS

import pwbayes as pw


def test_defaults_visible_and_scaled(example_model):
    priors = example_model.priors
    assert set(priors) == {"mu", "tau"}
    s = example_model.data.rows["se"].median()
    assert priors["tau"].dist == "HalfNormal"
    assert priors["tau"].params["sigma"] == pytest.approx(s, rel=0.05)
    assert priors["mu"].params["sigma"] == pytest.approx(2.5 * s, rel=0.05)
    assert "tau ~ HalfNormal" in repr(example_model)


def test_user_priors_override(example_data):
    model = pw.SummaryModel(
        example_data,
        **COLUMNS,
        priors={
            "tau": pw.Prior("HalfNormal", sigma=2.0),
            "mu[werken_loont]": {"dist": "Normal", "mu": 1.0, "sigma": 3.0},
        },
    )
    assert model.priors["tau"] == pw.Prior("HalfNormal", sigma=2.0)
    assert model.priors["mu[werken_loont]"].params == {"mu": 1.0, "sigma": 3.0}
    # the override reaches the PyMC graph: per-component sigma vector
    mu_rv = model.model["mu"]
    sigma = mu_rv.owner.inputs[-1].eval()
    comps = model.coords["component"]
    assert sigma[comps.index("werken_loont")] == 3.0
    assert sigma[comps.index("zelf_in_actie")] == model.priors["mu"].params["sigma"]


def test_unknown_prior_variable(example_data):
    with pytest.raises(pw.PriorError, match=r"'sigma_site'.*mu .*tau"):
        pw.SummaryModel(
            example_data, **COLUMNS, priors={"sigma_site": pw.Prior("HalfNormal", sigma=1)}
        )


def test_prior_for_absent_variable(example_data):
    with pytest.raises(pw.PriorError, match="'tau'"):
        pw.SummaryModel(
            example_data, **COLUMNS, pooling="full", priors={"tau": pw.Prior("HalfNormal", sigma=1)}
        )


def test_tau_needs_positive_prior(example_data):
    with pytest.raises(pw.PriorError, match="positive distribution"):
        pw.SummaryModel(example_data, **COLUMNS, priors={"tau": pw.Prior("Normal", mu=0, sigma=1)})


def test_per_component_prior_must_keep_family(example_data):
    with pytest.raises(pw.PriorError, match="family"):
        pw.SummaryModel(
            example_data, **COLUMNS, priors={"tau[app]": pw.Prior("HalfCauchy", beta=1)}
        )


def test_per_component_prior_unknown_component(example_data):
    with pytest.raises(pw.PriorError, match="'basisbaan'"):
        pw.SummaryModel(
            example_data, **COLUMNS, priors={"mu[basisbaan]": pw.Prior("Normal", mu=0, sigma=1)}
        )


@pytest.mark.parametrize(
    ("dist", "params", "match"),
    [
        ("Norma", {"mu": 0, "sigma": 1}, "Unknown prior distribution"),
        ("Normal", {"mu": 0}, "exactly the parameters"),
        ("Normal", {"mu": 0, "sd": 1}, "exactly the parameters"),
        ("HalfNormal", {"sigma": -1}, "must be > 0"),
        ("Normal", {"mu": float("nan"), "sigma": 1}, "finite"),
        ("Uniform", {"lower": 2, "upper": 1}, "lower < upper"),
    ],
)
def test_bad_prior(dist, params, match):
    with pytest.raises(pw.PriorError, match=match):
        pw.Prior(dist, **params)


def test_prior_roundtrip():
    p = pw.Prior("StudentT", nu=3, mu=0, sigma=2.5)
    assert pw.Prior.from_value(p.to_dict()) == p
    assert repr(p) == "StudentT(nu=3, mu=0, sigma=2.5)"


@pytest.mark.parametrize(
    ("dist", "params"),
    [
        ("Normal", {"mu": 1, "sigma": 2}),
        ("StudentT", {"nu": 3, "mu": 1, "sigma": 2}),
        ("Cauchy", {"alpha": 0, "beta": 2}),
        ("HalfNormal", {"sigma": 2}),
        ("HalfStudentT", {"nu": 3, "sigma": 2}),
        ("HalfCauchy", {"beta": 2}),
        ("Exponential", {"lam": 0.5}),
        ("Gamma", {"alpha": 2, "beta": 0.5}),
        ("Uniform", {"lower": 0, "upper": 5}),
    ],
)
def test_prior_log_density_is_pymcs(dist, params):
    """The log density used by power-scaling is the one PyMC samples from (Cauchy at 0 too)."""
    import pymc as pm

    x = np.array([0.3, 1.2, 4.0])
    prior = pw.Prior(dist, **params)
    expected = pm.logp(getattr(pm, dist).dist(**params), x).eval()
    np.testing.assert_allclose(prior.logpdf(x), expected, rtol=1e-6, atol=1e-6)
    wide = prior.widened(2.0)
    assert wide.dist == dist
    # twice as wide: the density at 2x is half the density at x (scale families), log 2 apart
    if dist not in ("StudentT", "Normal", "Cauchy", "Uniform"):
        np.testing.assert_allclose(wide.logpdf(2 * x), prior.logpdf(x) - np.log(2), rtol=1e-9)


def test_a_gamma_shape_must_be_positive_but_a_cauchy_location_may_be_zero():
    assert pw.Prior("Cauchy", alpha=0, beta=1).params["alpha"] == 0
    with pytest.raises(pw.PriorError, match="alpha=0"):
        pw.Prior("Gamma", alpha=0, beta=1)


@pytest.mark.parametrize(
    ("dist", "params", "median"),
    [
        ("HalfNormal", {"sigma": 2}, 2 * 0.6744897501960817),
        ("HalfStudentT", {"nu": 3, "sigma": 2}, 2 * 0.7648923284627357),
        ("Normal", {"mu": 1, "sigma": 2}, 1.0),
        ("Exponential", {"lam": 0.5}, 2 * np.log(2)),
    ],
)
def test_prior_draws_have_the_prior_median(dist, params, median):
    draws = pw.Prior(dist, **params).draws(40000, np.random.default_rng(1))
    # MC error of a sample median: sqrt(1/4 / n) / density at the median, well below 0.05
    assert abs(np.median(draws) - median) < 0.05
