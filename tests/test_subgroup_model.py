"""The subgroup terms of PersonModel ("what works for whom"), its tables, plot and disclosure."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from helpers import fake_person_result, fit_within
from scipy.special import expit

import pwbayes as pw
from pwbayes.models.person import PersonModel
from pwbayes.plots.subgroups import plot_subgroups

COLS = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
SUBGROUPS = ["basic_qualification", "distance_to_labour_market"]
EFFECTS = {"zelf_in_actie": 0.0, "extra_hulp": 0.1, "werken_loont": 0.1}


@pytest.fixture(scope="module")
def people():
    pop = pw.examples.simulate_participants(2, effects=EFFECTS, size=0.5, heterogeneity="utrecht")
    return pop.data


@pytest.fixture(scope="module")
def model(people):
    return PersonModel(people, **COLS, covariates=["female"], subgroups=SUBGROUPS)


@pytest.fixture(scope="module")
def small_cell_data(people):
    """Utrecht's Extra Hulp arm keeps 9 people with a basic qualification; Wageningen's 10."""
    keep = pd.Series(True, index=people.index)
    for site, n in (("Utrecht", 9), ("Wageningen", 10)):
        cell = people.index[
            (people.municipality == site)
            & (people.arm == "Extra Hulp")
            & people.basic_qualification
        ]
        keep[cell[n:]] = False
    return people[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------- building
def test_model_has_visible_subgroup_terms_and_coordinates(model):
    assert model.coords["subgroup"] == [
        "basic_qualification: False",
        "basic_qualification: True",
        "distance_to_labour_market: large",
        "distance_to_labour_market: medium",
        "distance_to_labour_market: small",
    ]
    assert repr(model.priors["tau_sub"]) == "HalfNormal(sigma=0.5)"
    assert "tau_sub ~ HalfNormal(sigma=0.5)" in repr(model)
    assert "subgroups (the same in every site): basic_qualification = False, True" in repr(model)
    free = {v.name for v in model.model.free_RVs}
    assert {"tau_sub", "z_sub_basic_qualification", "z_sub_distance_to_labour_market"} <= free
    assert "tau_sub_site" not in free
    # the subgroup variables are also covariates (main effects), as indicators
    assert "basic_qualification[True]" in model.data.covariates
    assert "distance_to_labour_market[small]" in model.data.covariates
    record = model.model_record()
    assert record.subgroups.levels["distance_to_labour_market"] == ("large", "medium", "small")
    assert model.disclosure.notes == () and model.disclosure.min_cell == 10


def test_by_site_terms_and_per_component_prior(people):
    m = PersonModel(
        people,
        **COLS,
        subgroups=["basic_qualification"],
        subgroups_by_site=True,
        priors={"tau_sub[extra_hulp]": pw.Prior("HalfNormal", sigma=0.2)},
    )
    free = {v.name for v in m.model.free_RVs}
    assert {"tau_sub", "tau_sub_site", "z_sub_site_basic_qualification"} <= free
    assert repr(m.priors["tau_sub[extra_hulp]"]) == "HalfNormal(sigma=0.2)"
    assert m.model["delta_site"].eval().shape == (6, len(m.data.components), 2)
    # the site's own differences enter the site-level effects, not the pooled ones
    result = fake_person_result(m)
    post = result.idata.posterior
    want = post["beta"] + post["delta"] + post["delta_site"]
    np.testing.assert_allclose(post["beta_sub"], want.transpose(*post["beta_sub"].dims))
    np.testing.assert_allclose(post["mu_sub"], (post["mu"] + post["delta"]).values)


def test_numeric_subgroup_is_binned_by_default_or_as_asked(people):
    m = PersonModel(people, **COLS, subgroups=["age"])
    levels = m.data.subgroups["age"]
    assert len(levels) == 4
    lows = [float(lev[1:].split(",")[0]) for lev in levels]
    assert lows == sorted(lows)  # numeric order, not text order
    m = PersonModel(people, **COLS, subgroups=["age"], subgroup_bins={"age": [18, 30, 45, 70]})
    assert m.data.subgroups["age"] == ["[18, 30)", "[30, 45)", "[45, 70)"]
    assert pd.api.types.is_numeric_dtype(people["age"])  # the caller's frame is untouched


@pytest.mark.parametrize("collapse", [False, True])
def test_likelihood_equals_direct_bernoulli_computation(people, collapse):
    m = PersonModel(
        people,
        **COLS,
        covariates=["female"],
        subgroups=SUBGROUPS,
        subgroups_by_site=True,
        parameterization="noncentered",
        collapse=collapse,
    )
    rng = np.random.default_rng(0)
    point = {
        name: rng.normal(0, 0.7, np.shape(value)) for name, value in m.model.initial_point().items()
    }
    names = ["loglik", "alpha", "beta", "gamma", "delta", "delta_site"]
    fn = m.model.compile_fn(
        [m.model[n] for n in names], inputs=m.model.value_vars, on_unused_input="ignore"
    )
    loglik, alpha, beta, gamma, delta, delta_site = fn(point)
    d = m.data
    sub = m.subgroup_layout
    offsets = np.cumsum([0, *sub.shape[:-1]])
    eta = alpha[d.site_index] + d.x @ gamma
    for i in range(len(d.y)):
        a = d.arm_index[i]
        if a < 0:
            continue
        cols = offsets + d.subgroup_index[i]
        effect = beta[d.site_index[i]] + delta[:, cols].sum(1)
        effect = effect + delta_site[d.site_index[i]][:, cols].sum(1)
        eta[i] += d.design[a] @ effect
    p = expit(eta)
    want = np.sum(d.y * np.log(p) + (1 - d.y) * np.log1p(-p))
    np.testing.assert_allclose(loglik, want, rtol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subgroups": ["no_such_column"]}, "not found"),
        ({"subgroups_by_site": True}, "needs subgroups"),
        ({"subgroups": SUBGROUPS, "likelihood": "normal_approx"}, "no subgroups; use"),
        ({"subgroups": ["female"], "subgroup_bins": {"female": 3}}, "not numeric"),
        ({"subgroups": ["age"], "subgroup_bins": {"female": 3}}, "not subgroups"),
        ({"subgroups": ["municipality"]}, "site/arm/outcome"),
        ({"subgroups": SUBGROUPS, "min_cell": 0}, "switch disclosure control off"),
    ],
)
def test_bad_subgroup_settings_are_refused(people, kwargs, message):
    with pytest.raises(pw.DataError, match=message):
        PersonModel(people, **COLS, **kwargs)


def test_one_level_subgroup_is_refused(people):
    one = people.assign(flag="yes")
    with pytest.raises(pw.DataError, match="one level"):
        PersonModel(one, **COLS, subgroups=["flag"])


# ---------------------------------------------------------------------------- tables
def test_subgroup_effects_table(model):
    result = fake_person_result(model)
    eff = result.effects(level="subgroup")
    assert set(eff.level) == {"subgroup"}
    assert {"subgroup", "subgroup_level"} <= set(eff.columns)
    ran = {(r.site, r.arm) for r in result.record.model.rows}
    site_rows = eff[eff.site.notna() & eff.arm.notna()]
    assert set(zip(site_rows.site, site_rows.arm, strict=True)) == ran
    pooled = eff[eff.site.isna() & eff.component.notna()]
    assert len(pooled) == len(model.data.components) * 5
    # percentage points by g-computation: a positive log-odds effect is positive in pp
    assert (pooled["mean"] > 0).all() and (pooled["mean"] < 20).all()
    assert eff.attrs["suppressed"] == [] and eff.attrs["min_cell"] == 10
    everything = result.effects()
    assert set(everything.level) == {"site", "pooled", "new_site", "subgroup"}
    assert len(result.effects(level=["site", "pooled"]).query("level == 'subgroup'")) == 0
    with pytest.raises(pw.DataError, match="not allowed"):
        result.effects(level="subgroups")


def test_subgroup_contrasts_are_differences_of_the_draws(model):
    n_comp = len(model.data.components)
    loc = np.zeros((n_comp, 5))
    eh = model.data.components.index("extra_hulp")
    loc[eh, :2] = [0.3, -0.3]  # without a basic qualification: +0.6 log-odds
    result = fake_person_result(model, delta_loc=loc)
    con = result.subgroup_contrasts(reference={"basic_qualification": "True"}, scale="model")
    row = con[(con.level == "pooled") & (con.component == "extra_hulp")]
    row = row[row.subgroup == "basic_qualification"].iloc[0]
    assert (row.subgroup_level, row.reference) == ("False", "True")
    mu_sub = result.idata.posterior["mu_sub"].sel(component="extra_hulp")
    diff = mu_sub.sel(subgroup="basic_qualification: False") - mu_sub.sel(
        subgroup="basic_qualification: True"
    )
    assert row["mean"] == pytest.approx(float(diff.mean()), rel=1e-12)
    assert row["p_positive"] == pytest.approx(float((diff > 0).mean()))
    assert row["mean"] == pytest.approx(0.6, abs=5 * 0.07 / np.sqrt(2000))
    pp = result.subgroup_contrasts(reference={"basic_qualification": "True"})
    pp = pp.dropna(subset=["component"])
    pp = pp[(pp.component == "extra_hulp") & pp.site.isna() & (pp.subgroup_level == "False")]
    assert pp.iloc[0].p_positive == 1.0 and pp.iloc[0]["mean"] > 2
    # default reference: each variable's first level; every other level once per estimand
    default = result.subgroup_contrasts()
    assert set(default.reference) == {"False", "large"}
    with pytest.raises(pw.DataError, match="not a level"):
        result.subgroup_contrasts(reference={"basic_qualification": "maybe"})
    with pytest.raises(pw.DataError, match="unknown subgroup"):
        result.subgroup_contrasts(reference={"age": "30"})


def test_subgroup_tables_need_a_subgroup_model(people):
    plain = fake_person_result(PersonModel(people, **COLS))
    with pytest.raises(pw.PwbayesError, match="needs a model with subgroups"):
        plain.effects(level="subgroup")
    with pytest.raises(pw.PwbayesError, match="needs a model with subgroups"):
        plain.subgroup_contrasts()
    assert "subgroup" not in plain.effects().columns


# ---------------------------------------------------------------------------- plot
def test_subgroup_forest_plot(model, people):
    result = fake_person_result(model)
    raw = pd.concat(
        [
            pw.subgroup_estimates(people, outcome="work_gt_8h", subgroup=v, site="municipality")
            for v in SUBGROUPS
        ]
    )
    fig = plot_subgroups(result, raw)
    axes = [ax for ax in fig.axes if ax.axison]
    singles = [a for a in model.data.arms if len(model.data.arm_components[a]) == 1]
    assert [ax.get_title() for ax in axes] == singles
    ticks = [t.get_text() for t in axes[0].get_yticklabels()]
    assert ticks[:4] == ["overall", "basic_qualification:", "  False", "  True"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [
        "overall (all participants)",
        "shrunk (pwbayes subgroup model)",
        "unpooled (this level alone)",
    ]
    assert "SYNTHETIC" in " ".join(t.get_text() for t in fig.texts)
    plt.close(fig)
    fig = result.plot_subgroups(site="Utrecht", arms=["Extra Hulp"])
    assert sum(ax.axison for ax in fig.axes) == 1
    plt.close(fig)
    with pytest.raises(pw.DataError, match="Unknown arm"):
        plot_subgroups(result, arms=["Basisbaan"])


# ---------------------------------------------------------------------------- disclosure
def test_a_cell_of_nine_never_appears_in_any_output(small_cell_data, tmp_path):
    m = PersonModel(small_cell_data, **COLS, subgroups=["basic_qualification"])
    result = fake_person_result(m)
    notes = list(result.record.disclosure.suppressed)
    assert notes == [
        "suppressed (fewer than 10 persons): site=Utrecht, arm=Extra Hulp, basic_qualification=True"
    ]
    hidden = ("Utrecht", "Extra Hulp", "True")

    def shows(table, site, arm, level):
        rows = table[(table.site == site) & (table.subgroup_level == level)]
        return ((rows.arm == arm) | (rows.component == "extra_hulp")).any()

    eff = result.effects()
    assert not shows(eff, *hidden) and shows(eff, "Wageningen", "Extra Hulp", "True")
    assert eff.attrs["suppressed"] == notes
    assert shows(eff, "Utrecht", "Extra Hulp", "False")  # the other level stays
    con = result.subgroup_contrasts()
    assert not shows(con, *hidden) and shows(con, "Wageningen", "Extra Hulp", "True")
    fig = result.plot_subgroups(site="Utrecht", arms=["Extra Hulp"])
    assert len(fig.axes[0].lines) + len(fig.axes[0].collections) > 0
    drawn = [c for c in fig.axes[0].containers]
    assert len(drawn) == 2  # overall and the level False; True is suppressed
    assert "1 cell(s) with fewer than 10 persons suppressed" in " ".join(
        t.get_text() for t in fig.texts
    )
    plt.close(fig)
    # the saved file holds NaN for the cell, no person-level data, and the note
    path = result.save(tmp_path / "fit.nc")
    back = pw.load_result(path)
    post = back.idata.posterior
    cell = {"site": "Utrecht", "subgroup": "basic_qualification: True"}
    assert np.isnan(post["theta_sub_pp"].sel(arm="Extra Hulp", **cell)).all()
    assert np.isnan(post["beta_sub_pp"].sel(component="extra_hulp", **cell)).all()
    assert np.isfinite(post["theta_sub_pp"].sel(arm="Extra Hulp", site="Wageningen")).all()
    assert set(back.idata.groups()) == {"posterior", "sample_stats", "observed_data",
                                        "constant_data"}  # fmt: skip
    assert back.idata.observed_data["y"].size == len(back.record.model.rows)
    assert not shows(back.effects(), *hidden)
    assert json.loads(back.record.to_json())["disclosure"]["suppressed"] == notes


def test_small_overall_cell_hides_its_site_arm_rows(people):
    keep = ~(people.municipality == "Utrecht") | (people.arm != "Extra Hulp")
    few = people.index[(people.municipality == "Utrecht") & (people.arm == "Extra Hulp")][:9]
    data = people[keep | people.index.isin(few)]
    m = PersonModel(data, **COLS)
    result = fake_person_result(m)
    eff = result.effects()
    assert not ((eff.site == "Utrecht") & (eff.arm == "Extra Hulp")).any()
    assert not ((eff.site == "Utrecht") & (eff.component == "extra_hulp")).any()
    row = next(r for r in result.record.model.rows if (r.site, r.arm) == ("Utrecht", "Extra Hulp"))
    assert row.estimate is None and row.se is None
    assert np.isnan(result.idata.observed_data["y"].sel(row="Utrecht: Extra Hulp"))
    assert np.isnan(result.idata.constant_data["se"].sel(row="Utrecht: Extra Hulp"))
    assert "site=Utrecht, arm=Extra Hulp" in result.record.disclosure.suppressed[0]
    table = pw.site_estimates(data, outcome="work_gt_8h")
    assert not ((table.site == "Utrecht") & (table.arm == "Extra Hulp")).any()
    assert table.attrs["suppressed"] == [
        "suppressed (fewer than 10 persons): site=Utrecht, arm=Extra Hulp"
    ]
    with pytest.warns(UserWarning, match="below CBS.s rule"):
        lower = pw.site_estimates(data, outcome="work_gt_8h", min_cell=9)
    assert len(lower) == len(table) + 1
    fig = result.plot_forest(arms=["Extra Hulp"])
    assert "Utrecht" not in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    plt.close(fig)


# ---------------------------------------------------------------------------- real fits
@pytest.mark.slow
def test_utrecht_like_heterogeneity_is_recovered_at_the_default_size():
    """Built-in differences: true sign with P > 0.9; 90% intervals contain the truth.

    Default size (3,482 participants), seed 3, 4 x 1000 draws. The tolerance on coverage:
    10 intervals at 90% (correlated), at least 8 must contain the truth (all 10 did here;
    ``benchmarks/recovery_subgroups.py`` gives the figures over seeds).
    """
    pop = pw.examples.simulate_participants(3, effects=EFFECTS, heterogeneity="utrecht")
    m = PersonModel(pop.data, **COLS, covariates=["age", "female"], subgroups=SUBGROUPS)
    # a divergence or two is tolerated (1 with seed 3 on this machine, also before 0.2)
    fit = fit_within(m, random_seed=3)
    refs = {"basic_qualification": "True", "distance_to_labour_market": "large"}
    con = fit.subgroup_contrasts(reference=refs)
    pooled = con[con.site.isna() & con.component.notna()].set_index(
        ["component", "subgroup", "subgroup_level"]
    )["p_positive"]
    assert pooled[("zelf_in_actie", "basic_qualification", "False")] > 0.9
    assert pooled[("extra_hulp", "basic_qualification", "False")] > 0.9
    assert pooled[("extra_hulp", "distance_to_labour_market", "medium")] < 0.1
    assert pooled[("extra_hulp", "distance_to_labour_market", "small")] < 0.1
    # components without built-in differences are not called
    assert pooled.loc["werken_loont"].between(0.05, 0.95).all()
    truth = pop.pooled_subgroup_truth(m.data.subgroups)
    eff = fit.effects(level="subgroup", scale="model")
    eff = eff[eff.site.isna() & eff.component.isin(["zelf_in_actie", "extra_hulp"])]
    both = eff.merge(truth, on=["component", "subgroup", "subgroup_level"])
    assert len(both) == 10
    assert ((both.hdi_low <= both.effect) & (both.effect <= both.hdi_high)).sum() >= 8


@pytest.mark.slow
def test_bcf_check_sees_the_built_in_difference():
    pytest.importorskip("stochtree")
    from pwbayes.checks.bcf import bcf_subgroup_effects

    pop = pw.examples.simulate_participants(3, effects=EFFECTS, heterogeneity="utrecht")
    out = bcf_subgroup_effects(
        pop.data,
        arm_label="Extra Hulp",
        outcome="work_gt_8h",
        subgroups=["distance_to_labour_market"],
        draws=200,
        burnin=200,
        random_seed=1,
    )
    by = out.set_index("subgroup_level")
    assert list(by.index) == ["large", "medium", "small"]
    # +1.0 log-odds for people far from the labour market: clearly the largest effect
    assert by.loc["large", "hdi_low"] > by.loc["medium", "mean"]
    assert (by["hdi_low"] < by["mean"]).all() and (by["mean"] < by["hdi_high"]).all()
    with pytest.raises(pw.DataError, match="no rows of arm"):
        bcf_subgroup_effects(pop.data, arm_label="App", outcome="work_gt_8h",
                             subgroups=["female"], site="municipality")  # fmt: skip


def test_percentage_points_by_level_equal_a_direct_g_computation(model):
    n_comp = len(model.data.components)
    rng = np.random.default_rng(1)
    result = fake_person_result(model, delta_loc=rng.normal(0, 0.5, (n_comp, 5)))
    post = result.idata.posterior.isel(chain=0)
    d = model.data
    keep = d.participant
    offsets = np.array([0, 2])  # basic_qualification (2 levels), then distance (3)
    cols = offsets + d.subgroup_index[keep]
    c = d.components.index("extra_hulp")
    a = d.arms.index("Extra Hulp")
    site = d.sites.index("Utrecht")
    for draw in range(3):
        alpha, gamma = post["alpha"].values[draw], post["gamma"].values[draw]
        delta, beta = post["delta"].values[draw], post["beta"].values[draw]
        base = alpha[d.site_index[keep]] + d.x[keep] @ gamma
        shift = post["mu"].values[draw, c] + delta[c, cols].sum(axis=1)
        site_shift = beta[d.site_index[keep], c] + delta[c, cols].sum(axis=1)
        gain = expit(base + shift) - expit(base)
        site_gain = expit(base + site_shift) - expit(base)
        for j, (var, level) in enumerate(model.subgroup_layout.pairs):
            v = SUBGROUPS.index(var)
            here = d.subgroup_index[keep][:, v] == model.data.subgroups[var].index(level)
            want = 100 * gain[here].mean()
            got = post["mu_sub_pp"].values[draw, c, j]
            np.testing.assert_allclose(got, want, rtol=1e-10)
            got_arm = post["mu_arm_sub_pp"].values[draw, a, j]  # single-component arm
            np.testing.assert_allclose(got_arm, want, rtol=1e-10)
            mine = here & (d.site_index[keep] == site)
            got_site = post["beta_sub_pp"].values[draw, site, c, j]
            np.testing.assert_allclose(got_site, 100 * site_gain[mine].mean(), rtol=1e-10)


def test_a_cell_without_variation_keeps_its_row_but_not_its_unpooled_estimate(people):
    """No events in Deventer's control group and one arm: no unpooled SE, the model still fits."""
    arm = "Zelf in Actie + Werken Loont"
    data = people.copy()
    quiet = (data.municipality == "Deventer") & data.arm.isin(["control", arm])
    data.loc[quiet, "work_gt_8h"] = False
    m = PersonModel(data, **COLS)
    row = next(r for r in m.model_record().rows if (r.site, r.arm) == ("Deventer", arm))
    assert row.se is None and row.estimate is None
    result = fake_person_result(m)
    assert len(result.common_effect()) == len(m.data.arms)
    assert ((result.effects().site == "Deventer") & (result.effects().arm == arm)).any()
    plt.close(result.plot_forest(arms=[arm]))
