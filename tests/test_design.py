"""Designs of the next experiment: the fast path against closed forms, published figures and
simulation, and the refusal of designs that cannot be evaluated."""

import numpy as np
import pandas as pd
import pytest
from helpers import fake_person_result
from scipy import stats

import pwbayes as pw
from pwbayes import design as D
from pwbayes.design.evaluate import priors

Z90 = stats.norm.ppf(0.95)


def _point(effect, **kw):
    """A prior without spread: the effect of Extra Hulp is ``effect``, in every site."""
    return D.EffectPrior(mu={"Extra Hulp": effect}, **kw)


# ------------------------------------------------------------------ (a) classical power
CASES = [(21, 5.0, 300, 300), (12, 3.0, 600, 300), (44, -6.0, 200, 400), (30, 8.0, 150, 150)]


@pytest.mark.parametrize(("base", "effect", "n_arm", "n_comp"), CASES)
def test_no_prior_spread_gives_classical_power(base, effect, n_arm, n_comp):
    """tau = 0, mu_sd = 0, unpooled: assurance is the power of the two-proportion test."""
    design = D.Design(arms={"Extra Hulp": n_arm}, comparison=n_comp, base_rate=base)
    row = D.evaluate(design, _point(effect), draws=50, random_seed=1).iloc[0]
    p1, p0 = (base + effect) / 100, base / 100
    se = 100 * np.sqrt(p1 * (1 - p1) / n_arm + p0 * (1 - p0) / n_comp)
    right, wrong = stats.norm.cdf(abs(effect) / se - Z90), stats.norm.cdf(-abs(effect) / se - Z90)
    assert row.assurance == pytest.approx(right, abs=1e-9)
    assert row.p_significant == pytest.approx(right + wrong, abs=1e-9)
    assert row.se_unpooled == pytest.approx(se, rel=1e-9)
    # Against simulated experiments analysed as published (Wald test, estimated SEs):
    # Monte Carlo error plus the normal approximation's own (at most 0.014 on these cases).
    rng, reps = np.random.default_rng(7), 40_000
    x1 = rng.binomial(n_arm, p1, reps) / n_arm
    x0 = rng.binomial(n_comp, p0, reps) / n_comp
    z = (x1 - x0) / np.sqrt(x1 * (1 - x1) / n_arm + x0 * (1 - x0) / n_comp)
    simulated = np.mean((np.abs(z) > Z90) & (np.sign(z) == np.sign(effect)))
    mcse = np.sqrt(simulated * (1 - simulated) / reps)
    assert abs(row.assurance - simulated) < 4 * mcse + 0.02


# ------------------------------------------------------------------ (c) Gelman & Carlin
@pytest.mark.parametrize(
    ("effect", "se", "power", "type_s", "exaggeration"),
    [(0.1, 3.28, 0.0501, 0.464, 77), (2.0, 8.1, 0.0570, 0.240, 9.5)],
    ids=["beauty-and-sex-ratio", "example-2"],
)
def test_type_s_and_m_match_gelman_and_carlin(effect, se, power, type_s, exaggeration):
    """Gelman & Carlin (2014), retrodesign(A, s): power, type S and exaggeration at 95%."""
    n = 100
    prior = D.EffectPrior(mu={"extra_hulp": effect}, unit="points", outcome=None)
    design = D.Design(arms={"Extra Hulp": n}, comparison=n, outcome_sd=se * np.sqrt(n / 2),
                      level=0.95)  # fmt: skip
    row = D.evaluate(design, prior, draws=10, random_seed=1).iloc[0]
    assert row.se_unpooled == pytest.approx(se)
    assert row.p_significant == pytest.approx(power, abs=1e-4)
    assert row.type_s == pytest.approx(type_s, abs=1e-3)
    # The exaggeration ratio, E(|estimate| | significant) / effect, in closed form; checked
    # against a simulation of a million estimates, within 4 of its Monte Carlo SEs.
    est = np.random.default_rng(3).normal(effect, se, 1_000_000)
    kept = np.abs(est[np.abs(est) > 1.959964 * se])
    assert abs(row.type_m - kept.mean() / effect) < 4 * kept.std() / np.sqrt(kept.size) / effect
    assert row.type_m == pytest.approx(exaggeration, rel=0.02)  # published, rounded


# ------------------------------------------------------------------ what the table says
def test_more_persons_more_assurance_and_pooling_never_hurts():
    prior = D.EffectPrior(mu={"extra_hulp": 3.0, "werken_loont": 1.0}, tau={"extra_hulp": 2.0},
                          mu_sd={"extra_hulp": 1.5, "werken_loont": 1.0},
                          outcome="work_gt_8h")  # fmt: skip
    table = D.grid(prior, persons_per_arm=[100, 300, 900], arms=[["Extra Hulp", "Werken Loont"]],
                   sites=[1, 3], random_seed=2)  # fmt: skip
    site = table[(table.level == "site") & (table.name == "Extra Hulp")]
    for _, by_sites in site.groupby("sites"):
        assert by_sites.sort_values("persons").assurance.is_monotonic_increasing
    assert (table.posterior_sd <= table.prior_sd + 1e-9).all()
    assert set(table.columns) >= set(D.COLUMNS) | {"persons_per_arm", "n_arms"}
    assert len(table) == 3 * 2 * 4  # 2 components x (site, pooled) per design
    pooled = table[table.level == "pooled"]
    assert pooled.assurance.isna().all()  # unpooled analysis: no pooled test
    assert table.attrs["unit"] == "percentage points"


def test_combined_arms_identify_components_or_say_they_cannot():
    prior = D.EffectPrior(mu={"zelf_in_actie": 1.0, "werken_loont": 2.0}, outcome="work_gt_8h")
    both = D.Design(arms={"Zelf in Actie + Werken Loont": 300}, comparison=300)
    table = D.evaluate(both, prior, draws=100, random_seed=1)
    arm = table[table.estimand == "arm"].iloc[0]
    assert arm["name"] == "Zelf in Actie + Werken Loont" and arm.assurance > 0
    components = table[(table.estimand == "component") & (table.level == "site")]
    assert components.assurance.isna().all()  # only given together: not separately
    factorial = D.Design(arms={"Zelf in Actie + Werken Loont": 300, "Werken Loont": 300},
                         comparison=300)  # fmt: skip
    table = D.evaluate(factorial, prior, draws=100, random_seed=1)
    assert table.query("estimand == 'component' and level == 'site'").assurance.notna().all()


def test_subgroup_contrast_power_from_its_closed_form():
    share, n, diff, base = 0.4, 500, 5.0, 20
    prior = D.EffectPrior(mu={"extra_hulp": 0.0})
    contrast = D.Contrast("basic_qualification", share=share, difference=diff)
    design = D.Design(arms={"Extra Hulp": n}, comparison=n, base_rate=base, contrast=contrast)
    row = D.evaluate(design, prior, draws=20, random_seed=1).query("estimand == 'contrast'")
    p = base / 100
    se = 100 * np.sqrt(2 * p * (1 - p) / n * (1 / share + 1 / (1 - share)))
    assert row.assurance.iloc[0] == pytest.approx(stats.norm.cdf(diff / se - Z90), abs=1e-9)


# ------------------------------------------------------------------ priors from fits
@pytest.fixture(scope="module")
def person_fit():
    people = pw.examples.simulate_participants(random_seed=4, size=0.3).data
    model = pw.PersonModel(people, site="municipality", arm="arm", outcome="work_gt_8h",
                           comparison={"Groningen": "reference"},
                           subgroups=["basic_qualification"])  # fmt: skip
    delta = np.zeros((len(model.coords["component"]), 2))
    delta[:, 0] = 0.2  # basic_qualification False: a larger effect (log-odds)
    return fake_person_result(model, delta_loc=delta)


def test_prior_from_a_person_fit(person_fit):
    draws = D.prior_draws(person_fit, draws=500, random_seed=1)
    post = person_fit.idata.posterior
    assert draws.mu.shape == (500, len(draws.components))
    i = draws.components.index("extra_hulp")
    assert draws.mu[:, i].mean() == pytest.approx(
        float(post["mu_pp"].sel(component="extra_hulp").mean()), abs=0.2
    )
    assert (draws.tau >= 0).all() and draws.outcome == "work_gt_8h"
    assert draws.levels("basic_qualification") == ["False", "True"]
    new = D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=2)
    old = D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=["Utrecht"])
    sub = D.Design(arms={"Extra Hulp": 300}, comparison=300,
                   subgroup={"basic_qualification": "False"})  # fmt: skip
    table = D.evaluate([new, old, sub], person_fit, draws=500, random_seed=1)
    assert table.design.nunique() == 3
    assert table.attrs["design_prior"].startswith("PersonModel fit")


def test_subgroup_contrast_from_the_prior(person_fit):
    contrast = D.Contrast("basic_qualification", levels=("False", "True"))
    design = D.Design(arms={"Extra Hulp": 600}, comparison=600, sites=2, contrast=contrast,
                      analysis="pooled")  # fmt: skip
    row = D.evaluate(design, person_fit, draws=500, random_seed=1).query("estimand == 'contrast'")
    assert row["name"].iloc[0] == "Extra Hulp: False - True"
    assert row.posterior_sd.iloc[0] < row.prior_sd.iloc[0]


def test_summary_fit_is_a_prior(fake_example_result):
    design = D.Design(arms={"Extra Hulp": 300, "Werken Loont": 300}, comparison=300,
                      sites=["Utrecht", "Deventer"], outcome="work_gt_8h")  # fmt: skip
    table = D.evaluate(design, fake_example_result, draws=300, random_seed=1)
    assert set(table.level) == {"site"}  # existing sites: no pooled row
    assert table.assurance.between(0, 1).all()
    again = D.evaluate(design, fake_example_result, draws=300, random_seed=1)
    pd.testing.assert_frame_equal(table, again)  # the seed fixes everything


# ------------------------------------------------------------------ (d) refused
PRIOR = D.EffectPrior(mu={"extra_hulp": 3.0, "werken_loont": 1.0}, outcome="work_gt_8h")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: D.Design(arms={"Extra Hulp": 0}, comparison=300), r"arms\['Extra Hulp'\]=0"),
        (lambda: D.Design(arms={}, comparison=300), "mapping of arm label"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=0), "comparison=0"),
        (lambda: D.Design(arms={"Extra Hulp": 300.5}, comparison=300), "whole number"),
        (lambda: D.Design(arms={"Extra Hoop": 300}, comparison=300), "Extra Hoop"),
        (lambda: D.Design(arms={"control": 300}, comparison=300), "comparison group"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300, analysis="bayes"),
         "analysis='bayes'"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300, base_rate=0.21),
         "looks like a proportion"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300, level=90),
         "not 90"),
        (lambda: D.Design.from_total(900, ["Extra Hulp"],
                                     allocation={"Extra Hulp": 0.5, "comparison": 0.4}),
         "adds up to 0.9"),
        (lambda: D.evaluate(D.Design(arms={"Werkbonus": 300}, comparison=300), PRIOR),
         "knows nothing about 'werkbonus'"),
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300,
                                     subgroup={"basic_qualification": "False"}), PRIOR),
         "has no such level"),
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300,
                                     contrast=D.Contrast("age")), PRIOR),
         "no subgroup 'age'"),
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300,
                                     sites=["Amsterdam"]), PRIOR),
         "'Amsterdam' is not a site of the prior"),
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300), "fit.nc"),
         "give a fitted pwbayes result"),
    ],
    ids=["no-persons", "no-arms", "no-comparison", "half-person", "unknown-component",
         "comparison-as-arm", "analysis", "proportion", "level-percent", "allocation",
         "unknown-to-prior", "subgroup-level", "contrast-variable", "unknown-site",
         "prior-type"],
)  # fmt: skip
def test_bad_designs_are_refused(make, message):
    with pytest.raises(pw.PwbayesError, match=message):
        make()


def test_from_total_splits_equally_or_as_asked():
    equal = D.Design.from_total(900, ["Extra Hulp", "Werken Loont"])
    assert equal.arms == {"Extra Hulp": 300, "Werken Loont": 300} and equal.comparison == 300
    asked = D.Design.from_total(1000, ["Extra Hulp"], allocation={"Extra Hulp": 0.6,
                                                                  "comparison": 0.4})  # fmt: skip
    assert asked.arms == {"Extra Hulp": 600} and asked.persons == 1000


def test_a_design_gets_the_same_figures_alone_in_a_list_or_in_a_grid():
    prior = D.EffectPrior(mu={"extra_hulp": 3.0}, tau={"extra_hulp": 2.0},
                          mu_sd={"extra_hulp": 1.0}, outcome="work_gt_8h")  # fmt: skip
    d = D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=2, outcome="work_gt_8h")
    other = D.Design(arms={"Extra Hulp": 100}, comparison=100)
    alone = D.evaluate(d, prior, draws=500, random_seed=3)
    listed = D.evaluate([other, d], prior, draws=500, random_seed=3)
    swept = D.grid(prior, persons_per_arm=300, arms=[["Extra Hulp"]], sites=2, draws=500,
                   outcome="work_gt_8h", random_seed=3)  # fmt: skip
    for table in (listed[listed.design == d.label], swept):
        np.testing.assert_allclose(table.assurance.to_numpy(), alone.assurance.to_numpy())
        np.testing.assert_allclose(table.p_conclusive.to_numpy(), alone.p_conclusive.to_numpy())


def test_pooled_update_is_the_normal_normal_one_without_spread_between_sites():
    """tau = 0: the site's effect is mu; its posterior SD is 1/sqrt(1/prior + 1/se^2).

    The fast path reweights 500 prior draws by each simulated data set (importance
    sampling), so the normal-normal SD holds up to Monte Carlo error: with an effective
    sample of about 400 draws per data set and 4000 data sets, well within 1%.
    """
    prior = D.EffectPrior(mu={"extra_hulp": 4.0}, mu_sd={"extra_hulp": 2.0})
    d = D.Design(arms={"Extra Hulp": 400}, comparison=200, base_rate=30, analysis="pooled")
    table = D.evaluate(d, prior, draws=4000, random_seed=1)
    draws, _ = priors(prior, None, 4000, 1)  # the draws evaluate() used
    p0 = 0.30
    p1 = np.clip(p0 + draws.mu[:, 0] / 100, 0.005, 0.995)
    se2 = 1e4 * (p1 * (1 - p1) / 400 + p0 * (1 - p0) / 200)
    prior_var = table.prior_sd.iloc[0] ** 2
    expected = np.mean(1 / np.sqrt(1 / prior_var + 1 / se2))
    assert table.posterior_sd.to_numpy() == pytest.approx([expected, expected], rel=0.01)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300), PRIOR,
                            draws=0), "draws=0"),
        (lambda: D.evaluate(D.Design(arms={"Extra Hulp": 300}, comparison=300), PRIOR,
                            random_seed=-1), "random_seed=-1"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=0),
         "new municipalities"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300,
                          subgroup={"basic_qualification": "False"},
                          contrast=D.Contrast("basic_qualification", difference=5.0)),
         "needs persons of both"),
        (lambda: D.Design(arms={"Extra Hulp": 300}, comparison=300, base_rate={"Utrect": 20}),
         "names 'Utrect'"),
        (lambda: D.Contrast("x", levels="ab"), "give two levels"),
        (lambda: D.Contrast("x", difference="abc"), "finite number"),
        (lambda: D.EffectPrior(mu={"Extra Hulp": 3, "extra_hulp": 5}), "twice"),
        (lambda: D.EffectPrior(mu={"extra_hulp": 3}, unit="percent points"), "exactly"),
        (lambda: D.simulate(D.Design(arms={"Extra Hulp": 300}, comparison=300,
                                     analysis="pooled"), PRIOR, fit=False), "needs fit=True"),
        (lambda: D.grid(PRIOR, persons_per_arm="100", arms=[["Extra Hulp"]]), "whole numbers"),
    ],
    ids=["draws", "seed", "sites-0", "subgroup-and-contrast", "base-rate-key", "levels-text",
         "difference-text", "component-twice", "unit-typo", "pooled-needs-fits", "grid-text"],
)  # fmt: skip
def test_more_bad_inputs_are_refused(make, message):
    with pytest.raises(pw.PwbayesError, match=message):
        make()


def test_from_total_keeps_every_person_and_the_callers_dicts():
    split = D.Design.from_total(100, ["Extra Hulp", "Werken Loont"])
    assert split.persons == 100 and sorted([*split.arms.values(), split.comparison]) == [33, 33, 34]
    rates = {"new site 1": 20.0}
    d = D.Design(arms={"Extra Hulp": 300}, comparison=300, base_rate=rates)
    rates["new site 1"] = 500.0
    assert d.base_rate == {"new site 1": 20.0}
