"""Person-model refits with other prior values reuse the compiled sampler (exact likelihood)."""

import arviz as az
import numpy as np
import pymc as pm
import pytest
from helpers import fit_within

import pwbayes as pw
from pwbayes.models.person.refit import with_priors, without_site

COLUMNS = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h",
           "comparison": {"Groningen": "reference"}}  # fmt: skip
NARROW = {"tau": pw.Prior("HalfNormal", sigma=0.02)}


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=4, size=0.3).data


@pytest.mark.parametrize("parameterization", ["whitened", "noncentered", "centered"])
def test_prior_values_are_data_of_the_graph(people, parameterization):
    model = pw.PersonModel(people, **COLUMNS, covariates=["age"], parameterization=parameterization)
    other = with_priors(model, {**NARROW, "mu[extra_hulp]": pw.Prior("Normal", mu=0.1, sigma=0.2)})
    assert other.structure_key() == model.structure_key()
    values = other.data_values()
    np.testing.assert_array_equal(values["tau_prior_sigma"], 0.02)
    j = other.data.components.index("extra_hulp")
    assert values["mu_prior_mu"][j] == 0.1 and values["mu_prior_sigma"][j] == 0.2
    # another family is another graph
    wide = with_priors(model, {"tau": pw.Prior("HalfStudentT", nu=3, sigma=0.5)})
    assert wide.structure_key() != model.structure_key()


def test_the_normal_approximation_takes_prior_values_as_data(people):
    """Under likelihood='normal_approx' too: the same structure, and the graph of the default
    priors with the other model's data values swapped in has that model's log density."""
    other_priors = {**NARROW, "mu": pw.Prior("Normal", mu=0.1, sigma=0.5),
                    "gamma": pw.Prior("Normal", mu=0.0, sigma=0.3),
                    "alpha_sd": pw.Prior("HalfNormal", sigma=0.7)}  # fmt: skip
    with pytest.warns(UserWarning, match="small cell"):  # a small population: the warning
        model = pw.PersonModel(people, **COLUMNS, covariates=["age"], likelihood="normal_approx")
    with pytest.warns(UserWarning, match="small cell"):
        other = with_priors(model, other_priors)
    assert other.structure_key() == model.structure_key()
    values = other.data_values()
    np.testing.assert_array_equal(values["gamma_prior_sigma"], [0.3])
    np.testing.assert_array_equal(values["tau_prior_sigma"], 0.02)
    want = other.model.compile_logp()
    with model.model:
        pm.set_data(values)
    got = model.model.compile_logp()
    rng = np.random.default_rng(2)
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.3, np.shape(v))
                 for k, v in model.model.initial_point().items()}  # fmt: skip
        assert got(point) == pytest.approx(want(point), rel=1e-10)
    # another family is another graph
    with pytest.warns(UserWarning, match="small cell"):
        wide = with_priors(model, {"tau": pw.Prior("HalfStudentT", nu=3, sigma=0.5)})
    assert wide.structure_key() != model.structure_key()


def test_a_held_out_site_adds_nothing_to_the_likelihood(people):
    """Non-centred, at random points: the full model's log density minus the held-out one
    is the site's binomial log-likelihood, ``sum k eta - n softplus(eta)``, computed here."""
    model = pw.PersonModel(people, **COLUMNS, parameterization="noncentered")
    out = model.leave_out("Utrecht")
    assert out.structure_key() == model.structure_key()
    assert out.held_out_sites == ("Utrecht",) and "held out of the likelihood: Utrecht" in repr(out)
    assert out.model_record().person.held_out_sites == ("Utrecht",)
    assert model.held_out_sites == () and model.cells.n.sum() > out.cells.n.sum()
    full, held = model.model.compile_logp(), out.model.compile_logp()
    rows, m = model.cells, model.data.sites.index("Utrecht")
    design = np.vstack([np.zeros((1, len(model.data.components))), model.data.design])
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = {
            k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in model.model.initial_point().items()
        }
        beta = point["mu"] + np.exp(point["tau_log__"]) * point["z"]
        eta = point["alpha"][rows.site_index] + np.einsum(
            "rc,rc->r", design[rows.arm_index + 1], beta[rows.site_index]
        )
        site = rows.site_index == m
        want = (rows.k * eta - rows.n * np.logaddexp(0, eta))[site].sum()
        assert full(point) - held(point) == pytest.approx(want, rel=1e-9)
    with pytest.raises(pw.DataError, match="not a site"):
        model.leave_out("Amsterdam")
    # held out twice is held out once; a prior refit of a held-out model stays held out
    assert out.leave_out("Utrecht").held_out_sites == ("Utrecht",)
    again = with_priors(out, NARROW)
    assert again.held_out_sites == ("Utrecht",) and again.cells.n.sum() == out.cells.n.sum()
    with pytest.raises(pw.DataError, match="held out of its likelihood"):
        without_site(out, "Deventer")


@pytest.mark.slow
def test_a_refit_with_other_prior_values_uses_them_without_compiling(people):
    """The refit reuses the compiled sampler and samples the new prior, not the old one:
    under tau ~ HalfNormal(0.02) (prior mean 0.016) the posterior mean of tau stays below
    0.03, where the default prior's is several times larger."""
    from pwbayes import sampling

    model = pw.PersonModel(people, **COLUMNS)
    first = fit_within(model, draws=300, tune=300, chains=2, random_seed=1, divergences=5)
    n_compiled = len(sampling._COMPILED)
    refit = fit_within(with_priors(model, NARROW), draws=300, tune=300, chains=2,
                       random_seed=1, divergences=5)  # fmt: skip
    assert len(sampling._COMPILED) == n_compiled
    assert refit.record.timings.compile_s < 0.2 * first.record.timings.compile_s
    new, old = refit.idata.posterior["tau"].values, first.idata.posterior["tau"].values
    assert new.mean() < 0.03 and old.mean() > 2 * 0.03, (new.mean(), old.mean())
    assert refit.record.model.priors["tau"] == {"dist": "HalfNormal", "sigma": 0.02}
    # a site held out of the likelihood: no compiling, and its effects are the hierarchy's,
    # (beta - mu) / tau ~ N(0, 1) draw by draw (the whitened block is the identity there)
    # (R-hat up to 1.05: the between-site SDs mix slowly in short chains; the test below
    # allows for it through the Monte Carlo SE)
    out = fit_within(model.leave_out("Utrecht"), draws=500, tune=500, chains=2, random_seed=2,
                     divergences=5, rhat=1.05)  # fmt: skip
    assert len(sampling._COMPILED) == n_compiled
    post = out.idata.posterior
    z = (post["beta"].sel(site="Utrecht") - post["mu"]) / post["tau"]
    mcse = az.mcse(z.to_dataset(name="z"))["z"].values
    assert (np.abs(z.mean(("chain", "draw")).values) < 4 * mcse + 0.02).all()
    assert (np.abs(z.std(("chain", "draw")).values - 1) < 0.15).all()
