"""Person-level data validation, the published-method bridge and the model graph."""

import numpy as np
import pandas as pd
import pytest
from helpers import fit_within
from scipy import stats
from scipy.special import expit, gammaln

import pwbayes as pw
from pwbayes.data.population import COVARIATES

PERSON = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
GRONINGEN_REF = {"Groningen": "reference"}


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=2, size=0.3).data


def _model(df, **kw):
    args = {
        **PERSON,
        "covariates": ["age", "basic_qualification"],
        "comparison": GRONINGEN_REF,
        **kw,
    }
    return pw.PersonModel(df, **args)


def test_structure_and_priors(people):
    before = people.copy(deep=True)
    model = _model(people, covariates=list(COVARIATES))
    pd.testing.assert_frame_equal(people, before)
    assert set(model.priors) == {"alpha_mu", "alpha_sd", "mu", "tau", "gamma"}
    coords = model.coords
    assert coords["site"][0] == "Deventer"
    assert "household_type[single_parent]" in coords["covariate"]
    assert "distance_to_labour_market[small]" in coords["covariate"]
    names = model.model.named_vars_to_dims
    assert names["beta"] == ("site", "component") and names["alpha"] == ("site",)
    assert "Groningen: groups other than the comparison 'reference'" in repr(model)
    assert model.data.dropped["Groningen: groups other than the comparison 'reference'"] > 0


def test_normal_family_has_sigma(people):
    model = _model(
        people,
        outcome="wellbeing_0_10",
        family="normal",
        covariates=["wellbeing_0_10_baseline"],
        comparison=None,
    )
    assert "sigma" in model.priors
    assert model.priors["mu"].params["sigma"] == pytest.approx(
        people[people.arm != "reference"].wellbeing_0_10.std(), rel=0.1
    )


def test_missing_values_refused_or_dropped_with_count(people):
    df = people.astype({"work_gt_8h": object, "age": float})
    df.loc[df.index[:3], "age"] = np.nan
    df.loc[df.index[5], "work_gt_8h"] = np.nan
    # counts of persons below min_cell are never shown as numbers (disclosure control)
    counts = r"fewer than 10 row\(s\).*'work_gt_8h': fewer than 10.*'age': fewer than 10"
    with pytest.raises(pw.DataError, match=counts):
        _model(df)
    # no total beside the small count (their difference would give it away)
    with pytest.warns(UserWarning, match=r"Dropped fewer than 10 row\(s\) with missing"):
        model = _model(df, missing="drop")
    assert model.data.dropped["missing values"] == 4  # in memory only
    record = model.model_record().person
    assert record.dropped["missing values"] == "fewer than 10"
    assert record.n_persons == f"about {round(len(model.data.y), -1)}"  # not exact
    assert "missing values (fewer than 10 rows)" in repr(model)
    assert f"about {round(len(model.data.y), -1)} rows" in repr(model)
    df.loc[df.index[:12], "age"] = np.nan  # 12 or more are shown
    with pytest.warns(UserWarning, match=r"Dropped 12 of \d+ row"):
        record = _model(df, missing="drop").model_record().person
    assert record.dropped["missing values"] == "12" and record.n_persons.isdigit()


def test_non_binary_outcome(people):
    df = people.assign(work_gt_8h=people.work_gt_8h.astype(int) * 2)
    with pytest.raises(pw.DataError, match=r"'work_gt_8h'.*0/1.*2"):
        _model(df)


def test_site_without_comparison_group(people):
    df = people[~((people.municipality == "Utrecht") & (people.arm == "control"))]
    with pytest.raises(pw.DataError, match="Site 'Utrecht' has no comparison group 'control'"):
        _model(df)


def test_arm_with_one_person(people):
    df = pd.concat([people, people.iloc[[0]].assign(arm="Werken Loont")], ignore_index=True)
    with pytest.raises(pw.DataError, match="fewer than 2 people.*Deventer: Werken Loont"):
        _model(df)


def test_constant_covariate(people):
    with pytest.raises(pw.DataError, match=r"\['constant'\] are constant"):
        _model(people.assign(constant=1.0), covariates=["age", "constant"])


def test_unknown_column_and_family(people):
    with pytest.raises(pw.DataError, match="covariate 'income'"):
        _model(people, covariates=["income"])
    with pytest.raises(pw.DataError, match="family='poisson'"):
        _model(people, family="poisson")


def test_site_estimates_equal_difference_in_means_without_covariates():
    """With only arm dummies, OLS = difference in means and HC1 = HC0 * n / (n - k)."""
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "municipality": "A",
            "arm": np.repeat(["control", "Extra Hulp"], n // 2),
            "y": rng.random(n) < np.repeat([0.2, 0.35], n // 2),
        }
    )
    table = pw.site_estimates(df, outcome="y")
    y0, y1 = df.y[df.arm == "control"].astype(float), df.y[df.arm != "control"].astype(float)
    assert table.estimate.item() == pytest.approx(100 * (y1.mean() - y0.mean()))
    hc0 = y1.var(ddof=0) / len(y1) + y0.var(ddof=0) / len(y0)
    assert table.se.item() == pytest.approx(100 * np.sqrt(hc0 * n / (n - 2)))
    assert table.n_arm.item() == 200 and table.comparison.item() == "control"


def test_site_estimates_feed_summary_model(people):
    table = pw.site_estimates(
        people, outcome="work_gt_8h", covariates=list(COVARIATES), comparison=GRONINGEN_REF
    )
    assert len(table) == 17
    assert table.attrs["note"].startswith("SYNTHETIC")
    model = pw.SummaryModel(table, site="site", arm="arm", estimate="estimate", se="se")
    assert model.coords["site"] == [
        "Deventer",
        "Tilburg",
        "Nijmegen",
        "Utrecht",
        "Groningen",
        "Wageningen",
    ]


def test_collapsed_likelihood_equals_row_level(people):
    """Binomial cells (kernel without log C(n, k)) and Bernoulli rows: the same log density."""
    covs = ["basic_qualification", "distance_to_labour_market", "health_problems"]
    collapsed = _model(people, covariates=covs, collapse=True, parameterization="noncentered")
    rows = _model(people, covariates=covs, collapse=False, parameterization="noncentered")
    assert collapsed.cells.size < len(rows.data.y) / 5
    assert collapsed.priors == rows.priors  # so the full log densities must be equal
    lp_c = collapsed.model.compile_logp()
    lp_r = rows.model.compile_logp()
    rng = np.random.default_rng(1)
    start = collapsed.model.initial_point()
    for _ in range(5):
        point = {
            name: value + rng.normal(0, 0.5, size=np.shape(value)) for name, value in start.items()
        }
        assert lp_c(point) == pytest.approx(lp_r(point), rel=1e-12, abs=1e-9)
        # and the kernel is the Binomial log-likelihood up to the constant log C(n, k)
    n, k = collapsed.cells.n, collapsed.cells.k
    eta = rng.normal(-1, 1, len(n))
    const = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    kernel = k * eta - n * np.logaddexp(0, eta)
    np.testing.assert_allclose(kernel + const, stats.binom.logpmf(k, n, 1 / (1 + np.exp(-eta))))


def test_auto_collapse_only_when_it_pays(people):
    assert not _model(people, covariates=list(COVARIATES)).cells.collapsed
    assert _model(people, covariates=["basic_qualification"]).cells.collapsed
    with pytest.raises(pw.DataError, match="collapse=True needs family='bernoulli'"):
        _model(
            people,
            outcome="wellbeing_0_10",
            family="normal",
            collapse=True,
            covariates=["wellbeing_0_10_baseline"],
            comparison=None,
        )


@pytest.mark.slow
def test_small_person_fit_contract(tmp_path):
    """A small collapsed fit: outcome-scale effects, real coords, no person data saved."""
    pop = pw.examples.simulate_participants(random_seed=4, size=0.5, effects={"extra_hulp": 0.4})
    model = pw.PersonModel(
        pop.data,
        **PERSON,
        covariates=["basic_qualification", "distance_to_labour_market"],
        comparison=GRONINGEN_REF,
    )
    assert model.cells.collapsed
    # 2,000 draws: with 1,000 the six-site components' tau reached R-hat 1.017 on this seed
    fit = fit_within(model, draws=2000, tune=1000, chains=4, random_seed=4, target_accept=0.95)
    eff = fit.effects()
    assert set(eff.level) == {"site", "pooled", "new_site"}
    assert eff.attrs["scale"] == "percentage points"
    logit = fit.effects(scale="model")
    assert logit.attrs["scale"] == "log-odds"
    # recovery, one seed: the pooled log-odds effects' 90% intervals hold the truth
    mu = logit[logit.estimand == "mu"].set_index("component")
    for comp in ("zelf_in_actie", "extra_hulp", "werken_loont"):
        true = 0.4 if comp == "extra_hulp" else 0.0
        assert mu.loc[comp, "hdi_low"] <= true <= mu.loc[comp, "hdi_high"], comp
    # a +0.4 log-odds effect at a ~20% base rate is about +6 percentage points
    pooled = eff[(eff.estimand == "mu") & (eff.component == "extra_hulp")].iloc[0]
    assert 0 < pooled["mean"] < 15 and pooled.p_positive > 0.8
    site_rows = eff[eff.estimand == "theta"]
    truth = pop.effects[pop.effects.outcome == "work_gt_8h"]
    merged = site_rows.merge(truth, on=["site", "arm"])
    assert len(merged) == 17
    covered = ((merged.hdi_low <= merged.effect) & (merged.effect <= merged.hdi_high)).mean()
    assert covered >= 0.7
    # g-computation by hand for one site x arm row, from the stored posterior draws; numpy's
    # SIMD and BLAS paths round the last bit differently from numba's loop, so a draw whose
    # effect is ~1e-5 pp can differ by 1e-10 relative: an absolute floor of 1e-12 pp
    # (CI on 2e17c7f: 6.7e-16 pp apart at 5.8e-6 pp)
    d = model.data  # participants one by one (the package collapses them into cells)
    site_c, x_c = d.site_index[d.participant], d.x[d.participant]
    w_c = np.ones(len(site_c))
    post = fit.idata.posterior.stack(s=("chain", "draw")).transpose("s", ...)
    m = model.data.sites.index("Utrecht")
    base = post["alpha"].values[:, [m]] + post["gamma"].values @ x_c[site_c == m].T
    shift = post["beta"].sel(site="Utrecht", component="extra_hulp").values[:, None]
    w = w_c[site_c == m]
    by_hand = 100 * ((expit(base + shift) - expit(base)) @ w) / w.sum()
    stored = post["theta_pp"].sel(row="Utrecht: Extra Hulp").values
    np.testing.assert_allclose(stored, by_hand, rtol=1e-10, atol=1e-12)
    # a combined arm (its own shift), and a pooled effect (all participants, own sites)
    m = model.data.sites.index("Deventer")
    base = post["alpha"].values[:, [m]] + post["gamma"].values @ x_c[site_c == m].T
    shift = (
        post["beta"].sel(site="Deventer", component=["extra_hulp", "werken_loont"]).sum("component")
    )
    w = w_c[site_c == m]
    by_hand = 100 * ((expit(base + shift.values[:, None]) - expit(base)) @ w) / w.sum()
    stored = post["theta_pp"].sel(row="Deventer: Extra Hulp + Werken Loont").values
    np.testing.assert_allclose(stored, by_hand, rtol=1e-10, atol=1e-12)
    base = post["alpha"].values[:, site_c] + post["gamma"].values @ x_c.T
    shift = post["mu"].sel(component="extra_hulp").values[:, None]
    by_hand = 100 * ((expit(base + shift) - expit(base)) @ w_c) / w_c.sum()
    stored = post["mu_pp"].sel(component="extra_hulp").values
    np.testing.assert_allclose(stored, by_hand, rtol=1e-10, atol=1e-12)
    path = fit.save(tmp_path / "person.nc")
    loaded = pw.load_result(path)
    assert isinstance(loaded, pw.PersonResult)
    # nothing person-level: only summary rows (site x arm) besides posterior draws
    for group in loaded.idata.groups():
        sizes = dict(getattr(loaded.idata, group).sizes)
        sizes.pop("chain", None), sizes.pop("draw", None)
        assert all(n < 50 for n in sizes.values()), (group, sizes)
    pd.testing.assert_frame_equal(loaded.effects(), eff)
    assert "obs" not in loaded.idata.posterior.dims


@pytest.mark.slow
def test_summary_and_person_level_agree():
    """Pooling site_estimates and fitting persons give the same pooled effects (within
    their posterior uncertainty)."""
    effects = {"zelf_in_actie": -0.2, "extra_hulp": 0.3, "werken_loont": 0.2}
    pop = pw.examples.simulate_participants(random_seed=6, effects=effects)
    covs = ["basic_qualification", "distance_to_labour_market", "health_problems"]
    table = pw.site_estimates(
        pop.data, outcome="work_gt_8h", covariates=covs, comparison=GRONINGEN_REF
    )
    summary = pw.SummaryModel(table, site="site", arm="arm", estimate="estimate", se="se")
    s_eff = fit_within(summary, random_seed=6).effects()
    person = pw.PersonModel(pop.data, **PERSON, covariates=covs, comparison=GRONINGEN_REF)
    # 2,000 draws and target_accept=0.99, as the diagnostics advise: with the defaults the
    # worst tau's bulk ESS was 344 on this seed, with 2,000 draws one transition diverged
    p_fit = fit_within(person, draws=2000, random_seed=6, target_accept=0.99)
    p_eff = p_fit.effects()
    for comp in effects:
        s = s_eff[(s_eff.estimand == "mu") & (s_eff.component == comp)].iloc[0]
        p = p_eff[(p_eff.estimand == "mu") & (p_eff.component == comp)].iloc[0]
        assert abs(s["mean"] - p["mean"]) < 2 * np.hypot(s["sd"], p["sd"]), comp


def test_bin_covariates(people):
    before = people.copy(deep=True)
    binned = pw.bin_covariates(people, {"age": [18, 30, 45, 67], "prior_earnings": 2})
    pd.testing.assert_frame_equal(people, before)
    assert set(binned.age) == {"[18, 30)", "[30, 45)", "[45, 67)"}
    assert binned.age.notna().all() and binned.prior_earnings.notna().all()
    model = _model(binned, covariates=["age", "basic_qualification", "household_type"])
    assert model.cells.collapsed
    with pytest.raises(pw.DataError, match="'household_type' is not numeric"):
        pw.bin_covariates(people, ["household_type"])
    with pytest.raises(pw.DataError, match="'income' not found"):
        pw.bin_covariates(people, ["income"])
    top = pd.DataFrame({"age": [18, 40, 50, 67]})
    assert list(pw.bin_covariates(top, {"age": [18, 45, 67]}).age) == [
        "[18, 45)",
        "[18, 45)",
        "[45, 67]",  # 67 is the top edge: the last bin says it holds it
        "[45, 67]",
    ]


def test_parameterisation_choice(people):
    default = _model(people)
    assert default.parameterization == "whitened" and "site_w" in default.model.named_vars
    assert "whitened" in repr(default)
    noncentred = _model(people, parameterization="noncentered")
    assert "z" in noncentred.model.named_vars
    centred = _model(people, parameterization="centered")
    assert "z" not in centred.model.named_vars
    assert "beta" in {v.name for v in centred.model.free_RVs}
    assert "centered" in repr(centred)
    # a different graph must never reuse another's compiled sampler
    keys = {m.structure_key() for m in (default, noncentred, centred)}
    assert len(keys) == 3
    assert _model(people).structure_key() == default.structure_key()
    with pytest.raises(pw.DataError, match="parameterization='auto' is not allowed"):
        _model(people, parameterization="auto")


@pytest.mark.slow
def test_normal_family_effects_on_one_scale(people):
    """For scores the model's scale is the outcome's: both tables are the same numbers."""
    import warnings

    model = _model(
        people,
        outcome="wellbeing_0_10",
        family="normal",
        covariates=["wellbeing_0_10_baseline"],
        comparison=None,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(draws=300, tune=300, random_seed=1, progress=False)
    outcome, model_scale = fit.effects(), fit.effects(scale="model")
    assert outcome.attrs["scale"] == model_scale.attrs["scale"] == "points"
    pd.testing.assert_frame_equal(outcome, model_scale, check_like=True, check_exact=False)
    assert not [v for v in fit.idata.posterior.data_vars if v.endswith("_pp")]
