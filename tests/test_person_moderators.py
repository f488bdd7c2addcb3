"""Site-level moderators in the person model: inputs, record, effects and predictions."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import fake_person_result
from scipy import special

import pwbayes as pw

COLUMNS = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
COMPARISON = {"Groningen": "reference"}
#: the published site facts: one value per municipality, repeated on each of its rows
FACTS = pw.examples.summary_effects()


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=4, size=0.3).data


def _model(people, **kw):
    return pw.PersonModel(people, **COLUMNS, comparison=COMPARISON, **kw)


def test_moderators_from_a_site_table_or_from_the_persons(people):
    before = people.copy()
    by_table = _model(people, moderators=["randomisation", "final_month"], site_data=FACTS)
    facts = FACTS.groupby("municipality")[["randomisation", "final_month"]].first()
    merged = people.join(facts, on="municipality")
    by_person = _model(merged, moderators=["randomisation", "final_month"])
    pd.testing.assert_frame_equal(people, before)  # the caller's frame is untouched
    a, b = by_table.moderators, by_person.moderators
    assert a.names == b.names == ["randomisation=before_enrolment", "final_month"]
    np.testing.assert_array_equal(a.values, b.values)
    sites = by_table.data.sites
    expected = [1.0 if s in ("Deventer", "Groningen") else 0.0 for s in sites]
    np.testing.assert_array_equal(a.values[:, 0], expected)
    # standardised over the sites: mean 0, SD 1
    np.testing.assert_allclose(a.standardised.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(a.standardised.std(0), 1)
    assert by_table.coords["moderator"] == a.names
    assert "moderator" in by_table.priors and "site-level moderators" in repr(by_table)
    assert by_table.model["moderator_effect"].eval().shape == (len(by_table.data.components), 2)
    np.testing.assert_allclose(by_table.data_values()["moderator_values"], a.standardised)
    record = by_table.model_record()
    assert record.moderators["final_month"] == tuple(facts.loc[sites, "final_month"])
    # the same structure with other values reuses the compiled sampler (data, not graph)
    assert by_table.structure_key() == by_person.structure_key()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"moderators": ["randomisation"], "site_data": FACTS, "likelihood": "normal_approx"},
         r"no moderators; use likelihood='exact'"),
        ({"site_data": FACTS}, r"site_data is given but moderators is not"),
        ({"moderators": ["randomisation"],
          "site_data": FACTS[FACTS.municipality != "Utrecht"]}, r"no row for site\(s\) 'Utrecht'"),
        ({"moderators": ["age"]}, r"differs between the rows of site"),
        ({"moderators": ["randomisation"], "site_data": FACTS.to_dict()}, r"site_data=dict"),
        ({"moderators": ["randomisation"], "site_data": FACTS.drop(columns="municipality")},
         r"no site column 'municipality'"),
        ({"moderators": ["randomisation", "final_month", "participation_pct", "x", "y"],
          "site_data": FACTS.assign(x=FACTS.final_month ** 2, y=FACTS.participation_pct ** 2)},
         r"at least two more sites"),
    ],
)  # fmt: skip
def test_bad_moderators_are_refused_with_the_fix(people, kwargs, message):
    with pytest.raises(pw.DataError, match=message):
        _model(people, **kwargs)


@pytest.fixture(scope="module")
def fit(people):
    model = _model(people, moderators=["randomisation", "final_month"], site_data=FACTS)
    return fake_person_result(model)


def test_moderator_effects_on_the_log_odds_scale(fit):
    """The table holds the draws' means (fake: 0.1 per SD) and the per-unit effects."""
    table = fit.moderator_effects()
    post = fit.idata.posterior["moderator_effect"]
    assert table.attrs["scale"] == "log-odds"
    row = table[(table.component == "extra_hulp") & (table.moderator == "final_month")].iloc[0]
    draws = post.sel(component="extra_hulp", moderator="final_month").values.ravel()
    month_sd = np.std(list(fit.record.model.moderators["final_month"]))
    assert row.per_sd_mean == pytest.approx(draws.mean())
    assert row.per_unit_mean == pytest.approx(draws.mean() / month_sd)
    explained = {r["component"]: r for r in table.attrs["explained"]}
    assert np.isnan(explained["werkbonus"]["share_mean"])  # one site: nothing to explain
    assert 0 < explained["extra_hulp"]["share_mean"] < 1
    fig = fit.plot_moderators()
    assert "log-odds" in " ".join(ax.get_xlabel() for ax in fig.axes)


def test_prediction_adds_the_moderators_part_at_the_new_sites_values(people):
    """No covariates, a known base rate: ``100 (expit(logit(r) + mu + tau eps + g x) - r)``."""
    model = _model(people, moderators=["randomisation", "final_month"], site_data=FACTS)
    fit = fake_person_result(model)
    rate, seed = 0.235, 7
    new = {"randomisation=before_enrolment": 1, "final_month": 18}
    table = fit.predict_site(pd.DataFrame(index=range(20)), base_rate=rate, moderators=new,
                             random_seed=seed)  # fmt: skip
    post = fit.idata.posterior
    mu = post["mu"].values.reshape(-1, post.sizes["component"])
    tau = post["tau"].values.reshape(mu.shape)
    g = post["moderator_effect"].values.reshape(len(mu), mu.shape[1], 2)
    raw = model.moderators.values
    x = (np.array([1.0, 18.0]) - raw.mean(0)) / raw.std(0)
    beta = mu + tau * np.random.default_rng(seed).standard_normal(mu.shape) + g @ x
    expected = 100 * (special.expit(special.logit(rate) + beta) - rate)
    comps = table[table.component.notna()].set_index("component")
    np.testing.assert_allclose(comps["mean"], expected.mean(0), rtol=1e-6)
    assert table.attrs["moderators"] == new
    average = fit.predict_site(pd.DataFrame(index=range(20)), base_rate=rate, random_seed=seed)
    assert average.attrs["moderators"] == "the sites' average"
    assert not np.allclose(average["mean"], table["mean"])
    with pytest.raises(pw.DataError, match="each of the model's moderators"):
        fit.predict_site(pd.DataFrame(index=range(20)), moderators={"final_month": 18})


def test_a_fit_without_moderators_says_so(people):
    fit = fake_person_result(_model(people))
    with pytest.raises(pw.DataError, match="no site-level moderators"):
        fit.moderator_effects()
    with pytest.raises(pw.DataError, match="no site-level moderators; leave them out"):
        fit.predict_site(pd.DataFrame(index=range(20)), moderators={"final_month": 18})


def test_a_saved_fit_keeps_its_moderators(fit, tmp_path):
    path = fit.save(tmp_path / "moderated.nc")
    loaded = pw.load_result(path)
    assert loaded.record.model.moderators == fit.record.model.moderators
    pd.testing.assert_frame_equal(loaded.moderator_effects(), fit.moderator_effects())
    # a record holding them in another order (an earlier pwbayes sorted them) reads the same
    m = fit.record.model
    reordered = dict(reversed(list(m.moderators.items())))
    person = dataclasses.replace(m.person, moderators=reordered)
    record = fit.record.replace(model=dataclasses.replace(m, person=person))
    other = type(fit)(fit.idata, record)
    pd.testing.assert_frame_equal(other.moderator_effects(), fit.moderator_effects())
    new = {"randomisation=before_enrolment": 0, "final_month": 24}
    a = other.predict_site({}, moderators=new, random_seed=1)
    pd.testing.assert_frame_equal(a, fit.predict_site({}, moderators=new, random_seed=1))


def test_leave_one_out_predicts_each_site_at_its_own_moderator_values(people, monkeypatch):
    """Fake refits (``mu ~ 0.2``, moderator effects ``~ 0.1`` per SD): a held-out site's
    one-component arms are predicted at about ``expit(logit(r) + 0.2 + 0.1 x) - r`` with
    ``x`` its value standardised as in the model (the site is held out of the likelihood,
    not out of the model)."""
    from pwbayes.models.person import PersonModel

    model = _model(people, moderators=["final_month"], site_data=FACTS)
    fit = fake_person_result(model)
    monkeypatch.setattr(PersonModel, "fit", lambda self, **_: fake_person_result(self, seed=3))
    loo = fit.loo_sites(model, random_seed=1)
    utrecht = people[people.municipality == "Utrecht"]
    r = utrecht.loc[utrecht.arm == "control", "work_gt_8h"].mean()
    months = FACTS.groupby("municipality").final_month.first()
    x = (months["Utrecht"] - months.mean()) / months.std(ddof=0)
    expected = 100 * (special.expit(special.logit(r) + 0.2 + 0.1 * x) - r)
    single = loo.rows[loo.rows.site == "Utrecht"]
    assert len(single) == 3 and (np.abs(single.pred_mean - expected) < 0.6).all(), single
    # without Deventer the one other 'before' site remains; without both, no moderator
    two = _model(people, moderators=["randomisation"], site_data=FACTS)
    only = fake_person_result(two)
    both = people[people.municipality != "Groningen"]
    lone = pw.PersonModel(both, **COLUMNS, moderators=["randomisation"], site_data=FACTS)
    monkeypatch.setattr(PersonModel, "fit", lambda self, **_: fake_person_result(self, seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loo_lone = fake_person_result(lone).loo_sites(lone, random_seed=1)
    assert any("Deventer" in s and "share one value" in s for s in loo_lone.skipped)
    assert "Deventer" not in set(loo_lone.rows.site)
    assert len(only.loo_sites(two, random_seed=1).rows) > 0


@pytest.mark.slow
def test_a_known_moderator_effect_is_recovered(people):
    """Outcomes drawn from a model with a strong moderator effect and no other site
    differences: for the components run in three or more sites the posterior of the
    moderator effect covers the truth within 3 posterior SDs (plus 0.05 of Monte Carlo
    error, 1000 draws) and is at most a third as wide as a wide prior (SD 1.5): the data,
    not the prior, decide it; the strong positive effect on Extra Hulp is found."""
    from pwbayes.arms import default_parser

    rng = np.random.default_rng(11)
    months = FACTS.groupby("municipality").final_month.first()
    x = ((months - months.mean()) / months.std(ddof=0)).to_dict()
    truth = {"zelf_in_actie": -0.4, "extra_hulp": 0.6, "werken_loont": -0.4}
    parse = default_parser().parse
    pairs = zip(people.municipality, people.arm, strict=True)
    shift = np.array([sum(0.2 + truth.get(c, 0.0) * x[s] for c in parse(a)) for s, a in pairs])
    frame = people.assign(work_gt_8h=rng.random(len(people)) < special.expit(-1.3 + shift))
    wide = {"moderator": {"dist": "Normal", "mu": 0.0, "sigma": 1.5}}
    model = _model(frame, moderators=["final_month"], site_data=FACTS, priors=wide)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        result = model.fit(draws=500, tune=500, chains=2, random_seed=5, progress=False)
    post = result.idata.posterior["moderator_effect"].sel(moderator="final_month")
    for comp, true in truth.items():
        draws = post.sel(component=comp).values.ravel()
        assert abs(draws.mean() - true) < 3 * draws.std() + 0.05, (comp, draws.mean())
        assert draws.std() < 0.5, (comp, draws.std())
    table = result.moderator_effects().set_index("component")
    assert table.loc["extra_hulp", "p_positive"] > 0.95


def test_moderators_on_the_persons_may_be_missing_on_some_rows(people):
    facts = FACTS.groupby("municipality")[["final_month"]].first()
    merged = people.join(facts, on="municipality")
    merged.loc[merged.index[::7], "final_month"] = np.nan  # e.g. rows dropped for another reason
    model = _model(merged, moderators=["final_month"])
    np.testing.assert_array_equal(
        model.moderators.values[:, 0], facts.loc[model.data.sites, "final_month"]
    )
    merged.loc[merged.municipality == "Utrecht", "final_month"] = np.nan
    with pytest.raises(pw.DataError, match=r"no value for site\(s\) 'Utrecht'"):
        _model(merged, moderators=["final_month"])


def test_emptied_moderator_effects_are_left_out_not_read_as_negative(fit):
    import copy

    emptied = copy.deepcopy(fit)
    post = emptied.idata.posterior
    k = list(post["moderator_effect"].coords["component"].values).index("extra_hulp")
    post["moderator_effect"].values[:, :, k, :] = np.nan
    table = emptied.moderator_effects()
    assert "extra_hulp" not in set(table.component) and len(table) == len(
        fit.moderator_effects()) - 2  # fmt: skip
    explained = {r["component"]: r for r in table.attrs["explained"]}
    assert np.isnan(explained["extra_hulp"]["share_mean"])
    assert not table.p_positive.isna().any()
