"""A person model's prediction for a municipality that did not take part (fake posteriors)."""

import numpy as np
import pandas as pd
import pytest
from helpers import fake_person_result
from scipy import special

import pwbayes as pw
from pwbayes.results.person_predict import _intercept_for

COLUMNS = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=4, size=0.3).data


@pytest.fixture(scope="module")
def fit(people):
    model = pw.PersonModel(people, **COLUMNS, covariates=["age", "basic_qualification"],
                           comparison={"Groningen": "reference"})  # fmt: skip
    return fake_person_result(model)


@pytest.fixture(scope="module")
def plain_fit(people):
    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"})
    return fake_person_result(model)


def test_without_covariates_the_effect_is_the_shifted_base_rate(plain_fit):
    """No covariates, a known base rate: 100 (expit(logit(r) + mu + tau eps) - r), per draw."""
    rate, seed = 0.235, 7
    table = plain_fit.predict_site(pd.DataFrame(index=range(20)), base_rate=rate,
                                   random_seed=seed)  # fmt: skip
    post = plain_fit.idata.posterior
    mu = post["mu"].values.reshape(-1, post.sizes["component"])
    tau = post["tau"].values.reshape(mu.shape)
    beta = mu + tau * np.random.default_rng(seed).standard_normal(mu.shape)
    expected = 100 * (special.expit(special.logit(rate) + beta) - rate)
    comps = table[table.component.notna()].set_index("component")
    np.testing.assert_allclose(comps["mean"], expected.mean(0), rtol=1e-6)
    np.testing.assert_allclose(comps["sd"], expected.std(0, ddof=1), rtol=1e-6)
    arms = table[table.arm.notna()].set_index("arm")
    design = np.array(plain_fit.record.model.design())
    arm_effect = 100 * (special.expit(special.logit(rate) + beta @ design.T) - rate)
    np.testing.assert_allclose(arms["mean"], arm_effect.mean(0), rtol=1e-6)
    assert table.attrs["base_rate"] == rate and table.attrs["scale"] == "percentage points"


def test_margins_and_persons_give_the_same_prediction(fit):
    margins = {"age": {25: 0.25, 40: 0.5, 55: 0.25}, "basic_qualification": {True: 0.4, False: 0.6}}
    # persons whose covariates are independent with exactly these shares: 20 x the grid
    rows = [(a, q) for a, sa in ((25, 5), (40, 10), (55, 5)) for q, sq in ((True, 2), (False, 3))
            for _ in range(sa * sq)]  # fmt: skip
    persons = pd.DataFrame(rows, columns=["age", "basic_qualification"])
    a = fit.predict_site(margins, random_seed=3)
    b = fit.predict_site(persons, random_seed=3)
    np.testing.assert_allclose(a["mean"], b["mean"], rtol=1e-10)
    np.testing.assert_allclose(a["hdi_high"], b["hdi_high"], rtol=1e-10)
    # who lives there matters: a population without a basic qualification differs
    other = fit.predict_site({**margins, "basic_qualification": {False: 1.0}}, random_seed=3)
    assert not np.allclose(other["mean"], a["mean"])


def test_the_intercept_reproduces_the_base_rate():
    rng = np.random.default_rng(1)
    lin = rng.normal(0, 1, (50, 30))
    weights = rng.uniform(size=30)
    weights /= weights.sum()
    alpha = _intercept_for(0.3, lin, weights)
    np.testing.assert_allclose(special.expit(alpha[:, None] + lin) @ weights, 0.3, atol=1e-9)


@pytest.mark.parametrize(
    ("population", "error", "message"),
    [
        (pd.DataFrame({"age": [30] * 20}), pw.DataError, r"lacks the covariate column"),
        (pd.DataFrame({"age": [30] * 5, "basic_qualification": [True] * 5}), pw.DisclosureError,
         "fewer than 10"),
        ({"age": {30: 1.0}}, pw.DataError, "missing \\['basic_qualification'\\]"),
        ({"age": {30: 0.5}, "basic_qualification": {True: 1.0}}, pw.DataError, "add up to 1"),
        ("Amsterdam", pw.DataError, "give persons"),
        (pd.DataFrame({"age": ["x"] * 20, "basic_qualification": [True] * 20}), pw.DataError,
         "numbers or booleans"),
    ],
)  # fmt: skip
def test_bad_populations_are_refused(fit, population, error, message):
    with pytest.raises(error, match=message):
        fit.predict_site(population)


def test_a_bad_base_rate_is_refused(fit, people):
    persons = people[people.municipality == "Utrecht"]
    with pytest.raises(pw.DataError, match="between 0 and 1"):
        fit.predict_site(persons, base_rate=23.5)


def _subgroup_fit(people, by_site=False):
    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["basic_qualification"],
                           subgroups_by_site=by_site)  # fmt: skip
    # the terms of 'True' +0.4, of 'False' -0.4 log-odds (zero-sum), for every component
    loc = np.tile([-0.4, 0.4], (len(model.data.components), 1))
    return model, fake_person_result(model, delta_loc=loc)


def test_subgroup_prediction_averages_over_the_populations_levels(people):
    """Exact at a fake posterior: per draw, ``100 sum_l w_l (expit(b_l + beta + delta_l) -
    expit(b_l))`` with ``b_l = alpha + gamma x_l`` and alpha reproducing the base rate."""
    model, fit = _subgroup_fit(people)
    rate, seed, share = 0.25, 4, 0.4
    margins = {"basic_qualification": {True: share, False: 1 - share}}
    table = fit.predict_site(margins, base_rate=rate, random_seed=seed)
    post = fit.idata.posterior
    n = post.sizes["chain"] * post.sizes["draw"]
    mu = post["mu"].values.reshape(n, -1)
    tau = post["tau"].values.reshape(n, -1)
    beta = mu + tau * np.random.default_rng(seed).standard_normal(mu.shape)
    delta = post["delta"].values.reshape(n, mu.shape[1], 2)  # levels False, True
    m = fit.record.model.person
    j = list(m.covariates).index("basic_qualification[True]")
    x = (np.array([0.0, 1.0]) - m.covariate_mean[j]) / m.covariate_sd[j]  # False, True
    lin = post["gamma"].values.reshape(n, -1)[:, [j]] * x
    w = np.array([1 - share, share])
    alpha = _intercept_for(rate, lin, w)
    b = alpha[:, None] + lin  # (draw, level)
    p0 = special.expit(b) @ w
    p1 = np.einsum("dcl,l->dc", special.expit(b[:, None, :] + beta[:, :, None] + delta), w)
    effect = pd.Series((100 * (p1 - p0[:, None])).mean(0), index=post["mu"].component.values)
    comps = table[table.component.notna()].set_index("component")
    # a component whose subgroup terms disclosure control emptied is left out, not guessed
    assert set(effect[effect.isna()].index).isdisjoint(comps.index)
    np.testing.assert_allclose(comps["mean"], effect.dropna()[comps.index], rtol=1e-6)
    # who lives there matters: persons with a basic qualification gain more (+0.4 vs -0.4)
    rich = fit.predict_site({"basic_qualification": {True: 1.0}}, base_rate=rate, random_seed=seed)
    poor = fit.predict_site({"basic_qualification": {False: 1.0}}, base_rate=rate, random_seed=seed)
    assert (rich["mean"].to_numpy() > poor["mean"].to_numpy()).all()
    with pytest.raises(pw.DataError, match=r"'yes' that are not levels.*\['False', 'True'\]"):
        fit.predict_site({"basic_qualification": {"yes": 1.0}})
    with pytest.raises(
        pw.DataError, match=r"lacks the covariate column\(s\) \['basic_qualification'\]"
    ):
        fit.predict_site(pd.DataFrame({"age": range(20)}))


def test_subgroup_terms_that_vary_by_site_are_drawn_for_the_new_site(people):
    """With subgroups_by_site the new site gets its own zero-sum terms: the same mean
    (they average zero) within Monte Carlo error, and a wider prediction."""
    _, plain = _subgroup_fit(people)
    _, varying = _subgroup_fit(people, by_site=True)
    margins = {"basic_qualification": {True: 1.0}}
    a = plain.predict_site(margins, base_rate=0.25, random_seed=2)
    b = varying.predict_site(margins, base_rate=0.25, random_seed=2)
    se = np.hypot(a["sd"], b["sd"]) / np.sqrt(2000)
    assert (np.abs(a["mean"] - b["mean"]) < 4 * se + 0.05).all()
    assert (b["sd"] > 1.5 * a["sd"]).all()


def test_a_binned_subgroup_takes_its_levels_or_numbers_inside_them(people):
    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["age"])  # fmt: skip
    fit = fake_person_result(model)
    levels = fit.record.model.subgroups.levels["age"]
    assert levels[0].startswith("[") and len(levels) == 4
    edges = [float(v) for v in levels[1][1:-1].split(",")]  # the second bin
    by_number = fit.predict_site({"age": {edges[0]: 1.0}}, random_seed=1)
    by_label = fit.predict_site({"age": {levels[1]: 1.0}}, random_seed=1)
    pd.testing.assert_frame_equal(by_number, by_label)
    with pytest.raises(pw.DataError, match=r"outside the fit's bins"):
        fit.predict_site({"age": {200: 1.0}})


def test_person_loo_refits_without_each_site_and_predicts_it(people, monkeypatch):
    """The leave-one-out pipeline, with fake posteriors in place of the refits."""
    from pwbayes.models.person import PersonModel

    model = pw.PersonModel(people, **COLUMNS, covariates=["age"],
                           comparison={"Groningen": "reference"})  # fmt: skip
    fit = fake_person_result(model)
    seen = []

    def fake_fit(self, **settings):
        seen.append(self.held_out_sites)
        return fake_person_result(self, seed=len(seen))

    monkeypatch.setattr(PersonModel, "fit", fake_fit)
    loo = fit.loo_sites(model, random_seed=1)
    sites = model.data.sites
    # each site held out of the same model in turn, but Tilburg: both its arms hold
    # Werkbonus, which no other site ran, so it is skipped before any refit
    assert seen == [(s,) for s in sites if s != "Tilburg"]
    own = [r for r in fit.record.model.rows if r.estimate is not None]
    # every site x arm with its own estimate, but those of an arm no other site ran
    assert len(loo.rows) + len(loo.skipped) == len(own)
    assert any(s.startswith("Deventer: Zelf in Actie + Werken Loont + App (a component only")
               for s in loo.skipped)  # fmt: skip
    assert "Not predictable" in loo.line() and "see loo_persons" in loo.line()
    # Tilburg's arms both hold Werkbonus, which no other site ran
    assert set(loo.rows.site) == set(sites) - {"Tilburg"}
    assert sum(s.startswith("Tilburg") for s in loo.skipped) == 2
    assert loo.problems == ()
    # the fake refits have mu ~ N(0.2, 0.05), tau ~ 0.1 and small covariate effects (log-odds):
    # at the held-out site's comparison rate r the predicted effect of a one-component arm is
    # about 100 (expit(logit(r) + 0.2) - r)
    utrecht = people[people.municipality == "Utrecht"]
    r = utrecht.loc[utrecht.arm == "control", "work_gt_8h"].mean()
    expected = 100 * (special.expit(special.logit(r) + 0.2) - r)
    single = loo.rows[(loo.rows.site == "Utrecht")]
    assert len(single) == 3 and (np.abs(single.pred_mean - expected) < 0.6).all(), single
    assert (
        (loo.rows.pred_low < loo.rows.effect_low) & (loo.rows.effect_high < loo.rows.pred_high)
    ).all()
    assert loo.rows.pareto_k.isna().all() and not loo.rows.psis_ok.any()
    assert len(loo.sites) == len(sites) - 1 and np.isfinite(loo.elpd)  # Tilburg: nothing
    with pytest.raises(pw.DataError, match="the PersonModel this result was fitted from"):
        fit.loo_sites(pw.PersonModel(people[people.municipality != "Utrecht"], **COLUMNS,
                                     comparison={"Groningen": "reference"}))  # fmt: skip


def test_person_predictive_check_is_exact_at_known_probabilities(people):
    """At a point posterior without covariates every cell's replicated events are
    Binomial(n, p): ``p_row = P(X >= k)`` exactly, within Monte Carlo error."""
    from scipy import stats

    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"})
    fit = fake_person_result(model, draws=1000)
    post = fit.idata.posterior
    rng = np.random.default_rng(0)
    alpha = rng.normal(-1, 0.3, post.sizes["site"])
    beta = rng.normal(0.2, 0.1, (post.sizes["site"], post.sizes["component"]))
    post["alpha"].values[:] = alpha + 1e-9 * rng.standard_normal(post["alpha"].shape)
    post["beta"].values[:] = beta + 1e-9 * rng.standard_normal(post["beta"].shape)
    check = fit.predictive_check(model, draws=2000, random_seed=1)
    d = model.data
    n_draws = 2000
    for row in check.rows.itertuples():
        s = d.sites.index(row.site)
        group = -1 if row.arm == "comparison group" else d.arms.index(row.arm)
        cell = (d.site_index == s) & (d.arm_index == group)
        n, k = int(cell.sum()), int(d.y[cell].sum())
        shift = 0.0 if group < 0 else d.design[group] @ beta[s]
        p = special.expit(alpha[s] + shift)
        exact = stats.binom.sf(k - 1, n, p)
        assert abs(row.p_row - exact) < 4 * np.sqrt(exact * (1 - exact) / n_draws) + 2e-3, row
        assert row.estimate == pytest.approx(100 * k / n)
    assert set(check.statistics.statistic) == {"chi_square", "spread"}
    assert check.unit == "percent with the outcome"
    fig = check.plot()
    assert fig.axes and "SYNTHETIC" in " ".join(t.get_text() for t in fig.texts)
    answered = people[people.wellbeing_0_10.notna()]
    score = pw.PersonModel(answered, site="municipality", arm="arm", outcome="wellbeing_0_10",
                           family="normal")  # fmt: skip
    with pytest.raises(pw.DataError, match="binary outcome"):
        fake_person_result(score).predictive_check(score)


def test_person_log_likelihood_is_the_sum_over_persons(people):
    """Collapsed binomial rows give the persons' Bernoulli log likelihood, draw by draw."""
    from pwbayes.checks.person_rows import person_loglik_totals

    model = pw.PersonModel(people, **COLUMNS, covariates=["basic_qualification"],
                           comparison={"Groningen": "reference"})  # fmt: skip
    assert model.cells.collapsed  # so that the test compares two different sums
    fit = fake_person_result(model, draws=50)
    totals = person_loglik_totals(fit.idata.posterior, model)
    post = fit.idata.posterior
    d = model.data
    design = np.vstack([np.zeros((1, len(d.components))), d.design])
    for c in range(2):
        for k in range(3):
            a = post["alpha"].values[c, k][d.site_index]
            b = np.einsum("sc,gc->sg", post["beta"].values[c, k], design)
            eta = a + d.x @ post["gamma"].values[c, k] + b[d.site_index, d.arm_index + 1]
            p = special.expit(eta)
            expected = (d.y * np.log(p) + (1 - d.y) * np.log1p(-p)).sum()
            assert totals[c, k] == pytest.approx(expected, rel=1e-9)


def test_person_sensitivity_refits_with_each_prior(people, monkeypatch):
    """The person pipeline with fake refits: priors in the refit models, power-scaling."""
    from pwbayes.models.person import PersonModel

    own = {"tau[extra_hulp]": pw.Prior("HalfNormal", sigma=0.4)}
    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"}, priors=own)
    fit = fake_person_result(model)
    seen = []

    def fake_fit(self, **settings):
        seen.append(self.priors)
        return fake_person_result(self, seed=len(seen))

    monkeypatch.setattr(PersonModel, "fit", fake_fit)
    sens = fit.sensitivity(model, random_seed=1)
    fitted = model.priors["tau"]
    assert seen[0]["tau"] == fitted.widened(0.5)
    assert seen[0]["tau[extra_hulp]"] == pw.Prior("HalfNormal", sigma=0.2)
    assert "tau[extra_hulp]" not in seen[2]  # a calibrated prior replaces them all
    assert len(seen) == 4 and set(sens.table.prior) >= {"as fitted", "spread = effect"}
    assert set(sens.psens.variable) == {"mu", "tau"} and sens.unit == "percentage points"
    with pytest.raises(pw.DataError, match="needs the PersonModel"):
        fit.sensitivity(None)


def test_person_predictive_check_by_subgroup_level(people):
    """Subgroup cells: exact binomial tail at a point posterior; small levels hide their
    variable in that site x group (disclosure: no differencing)."""
    from scipy import stats

    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["basic_qualification"], min_cell=40)  # fmt: skip
    fit = fake_person_result(model, draws=1000, delta_loc=np.tile([0.3, -0.3], (6, 1)))
    post = fit.idata.posterior
    for name in ("alpha", "beta", "gamma", "delta"):
        # a point posterior; values that disclosure control emptied get a number, so that the
        # check of which cells may be shown can be tested at min_cell=40
        mean = np.nan_to_num(post[name].values.mean(axis=(0, 1)), nan=0.1)
        post[name].values[:] = mean + 1e-9 * np.random.default_rng(1).standard_normal(
            post[name].shape
        )
    check = fit.predictive_check(model, draws=2000, random_seed=2)
    sub = check.rows[check.rows.subgroup.notna()]
    assert len(sub) > 0 and sub.subgroup.str.startswith("basic_qualification: ").all()
    d, cells = model.data, model.cells
    a, b = post["alpha"].values[0, 0], post["beta"].values[0, 0]
    g, dl = post["gamma"].values[0, 0], post["delta"].values[0, 0]
    levels = model.subgroup_layout.levels["basic_qualification"]
    for row in sub.itertuples():
        s = d.sites.index(row.site)
        group = -1 if row.arm == "comparison group" else d.arms.index(row.arm)
        lev = levels.index(row.subgroup.split(": ")[1])
        in_cell = (cells.site_index == s) & (cells.arm_index == group) & (cells.group_index == lev)
        design = np.zeros(len(d.components)) if group < 0 else d.design[group]
        p = special.expit(a[s] + cells.x[in_cell] @ g + design @ (b[s] + dl[:, lev]))
        assert np.allclose(p, p[0])  # one probability per cell: Binomial(n, p)
        n, k = int(cells.n[in_cell].sum()), int(cells.k[in_cell].sum())
        exact = stats.binom.sf(k - 1, n, p[0])
        assert abs(row.p_row - exact) < 4 * np.sqrt(exact * (1 - exact) / 2000) + 2e-3, row
    # every shown site x group shows both levels or neither
    counts = sub.groupby(["site", "arm"]).size()
    assert (counts == len(levels)).all()
    for (site, arm), _ in counts.items():
        s = d.sites.index(site)
        group = -1 if arm == "comparison group" else d.arms.index(arm)
        for lev in range(len(levels)):
            n_lev = cells.n[(cells.site_index == s) & (cells.arm_index == group)
                            & (cells.group_index == lev)].sum()  # fmt: skip
            assert n_lev >= 40


def test_person_loo_with_subgroups_predicts_over_the_sites_levels(people, monkeypatch):
    """Fake refits: the held-out site is predicted over its persons' subgroup levels."""
    from pwbayes.models.person import PersonModel

    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["age"])  # fmt: skip
    fit = fake_person_result(model)
    monkeypatch.setattr(PersonModel, "fit", lambda self, **_: fake_person_result(self, seed=3))
    loo = fit.loo_sites(model, random_seed=1)
    utrecht = people[people.municipality == "Utrecht"]
    r = utrecht.loc[utrecht.arm == "control", "work_gt_8h"].mean()
    expected = 100 * (special.expit(special.logit(r) + 0.2) - r)
    single = loo.rows[loo.rows.site == "Utrecht"]
    assert len(single) == 3 and (np.abs(single.pred_mean - expected) < 0.8).all(), single


def test_dropping_a_site_keeps_the_full_models_bins_and_comparison(people):
    """For a score (no held-out mask) a site's persons are dropped and the model made again:
    a binned subgroup variable keeps the full model's bins (not the other sites' quartiles),
    and the per-site comparison groups of the other sites stay."""
    from pwbayes.models.person.refit import held_out, without_site

    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["age"])  # fmt: skip
    for site in ("Utrecht", "Deventer"):
        other = without_site(model, site)
        assert other.subgroup_layout.levels["age"] == model.subgroup_layout.levels["age"]
        assert other.data.comparison["Groningen"] == "reference"
    assert "Groningen" not in without_site(model, "Groningen").data.comparison
    answered = people[people.wellbeing_0_10.notna()]
    score = pw.PersonModel(answered, site="municipality", arm="arm", outcome="wellbeing_0_10",
                           family="normal")  # fmt: skip
    with pytest.raises(pw.DataError, match="needs a binary outcome and the exact likelihood"):
        held_out(score, "Utrecht")


def test_leave_one_person_out_is_arviz_loo_over_the_persons(people):
    """Collapsed rows counted once per person give ``arviz.loo`` over the persons exactly
    (computed here from each person's own Bernoulli log-likelihood), per site and in total;
    the uncollapsed model gives the same."""
    import arviz as az

    kw = {
        **COLUMNS,
        "covariates": ["basic_qualification"],
        "comparison": {"Groningen": "reference"},
    }
    collapsed = pw.PersonModel(people, **kw, collapse=True)
    rows = pw.PersonModel(people, **kw, collapse=False)
    assert collapsed.cells.size < rows.cells.size
    fit, fit_rows = fake_person_result(collapsed, draws=400), fake_person_result(rows, draws=400)
    got, got_rows = fit.loo_persons(collapsed), fit_rows.loo_persons(rows)
    post = fit.idata.posterior
    d = rows.data
    n = post.sizes["chain"] * post.sizes["draw"]
    alpha = post["alpha"].values.reshape(n, -1)
    beta = post["beta"].values.reshape(n, *post["beta"].shape[2:])
    gamma = post["gamma"].values.reshape(n, -1)
    design = np.vstack([np.zeros((1, len(d.components))), d.design])
    eta = alpha[:, d.site_index] + gamma @ d.x.T
    eta += np.einsum("dpc,pc->dp", beta[:, d.site_index], design[d.arm_index + 1])
    loglik = np.where(d.y > 0, -np.logaddexp(0, -eta), -np.logaddexp(0, eta))
    idata = az.InferenceData(
        posterior=post[["mu"]],
        log_likelihood=az.dict_to_dataset({"y": loglik.reshape(*post["alpha"].shape[:2], -1)}),
    )
    want = az.loo(idata, pointwise=True)
    total = got.sites.iloc[-1]
    assert total.elpd_loo == pytest.approx(want.elpd_loo, rel=1e-9)
    assert total.p_loo == pytest.approx(want.p_loo, rel=1e-6)
    assert total.se == pytest.approx(want.se, rel=1e-6)
    utrecht = d.site_index == d.sites.index("Utrecht")
    row = got.sites.set_index("site").loc["Utrecht"]
    assert row.elpd_loo == pytest.approx(np.asarray(want.loo_i)[utrecht].sum(), rel=1e-9)
    pd.testing.assert_frame_equal(got.sites, got_rows.sites, rtol=1e-9)
    assert "elpd_loo" in got.line() and got.sites.persons.iloc[-1] == f"about {round(len(d.y), -1)}"


def test_subgroup_terms_are_matched_by_name_not_by_the_records_order(people):
    """A record holding its subgroup variables in another order (an earlier pwbayes sorted
    them) predicts the same: the terms are looked up by their labels."""
    import dataclasses

    model = pw.PersonModel(people, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["household_type", "female"])  # fmt: skip
    n_comp, n_lev = len(model.data.components), len(model.subgroup_layout.labels)
    loc = np.random.default_rng(0).normal(0, 0.6, (n_comp, n_lev))
    fit = fake_person_result(model, delta_loc=loc)
    m = fit.record.model
    reordered = dict(reversed(list(m.subgroups.levels.items())))
    sub = dataclasses.replace(m.subgroups, levels=reordered)
    other = type(fit)(fit.idata, fit.record.replace(model=dataclasses.replace(m, subgroups=sub)))
    persons = people[people.municipality == "Utrecht"]
    a = fit.predict_site(persons, base_rate=0.2, random_seed=5)
    pd.testing.assert_frame_equal(other.predict_site(persons, base_rate=0.2, random_seed=5), a)


def test_refits_cut_a_continuous_subgroup_at_the_exact_edges(people):
    """Labels show edges to six digits; a refit without a site cuts at the exact edges, so
    every held-out person keeps a level (also without the site holding the maximum)."""
    from pwbayes.checks.loo_person import _refit_levels
    from pwbayes.models.person.refit import without_site

    data = people.assign(inc=people.benefit_duration_years * 1234.56789 + 0.001)
    model = pw.PersonModel(data, **COLUMNS, comparison={"Groningen": "reference"},
                           subgroups=["inc"])  # fmt: skip
    for site in model.data.sites:
        levels = _refit_levels(model, without_site(model, site).model_record())
        here = model.data.site_index == model.data.sites.index(site)
        assert (levels[here] >= 0).all(), site


def test_subgroup_levels_match_across_types():
    from pwbayes.data.subgroups import assign_levels

    np.testing.assert_array_equal(assign_levels(pd.Series([0, 1, 1]), ["0.0", "1.0"], "x"),
                                  [0, 1, 1])  # fmt: skip
    np.testing.assert_array_equal(assign_levels(pd.Series([1, 0]), ["False", "True"], "b"), [1, 0])
    np.testing.assert_array_equal(
        assign_levels(pd.Series(["True", True]), ["False", "True"], "b"), [1, 1]
    )
    # the labels' rounded edges allow for the rounding at the ends
    bins = ["[0.123457, 0.5)", "[0.5, 0.987654]"]
    np.testing.assert_array_equal(assign_levels(pd.Series([0.1234567, 0.9876543]), bins, "v"),
                                  [0, 1])  # fmt: skip
    with pytest.raises(pw.DataError, match="outside the fit's bins"):
        assign_levels(pd.Series([0.12]), bins, "v")


def test_a_score_outcome_predicts_the_new_site_effect_whatever_the_population(people):
    """A score's effect does not depend on who lives there (no subgroups): ``mu + tau eps``
    draw by draw, also for a population of many covariate cells."""
    answered = people[people.wellbeing_0_10.notna()]
    score = pw.PersonModel(answered, site="municipality", arm="arm", outcome="wellbeing_0_10",
                           family="normal", covariates=["wellbeing_0_10_baseline"])  # fmt: skip
    fit = fake_person_result(score)
    persons = answered[answered.municipality == "Utrecht"]
    assert persons.wellbeing_0_10_baseline.nunique() > 1  # several cells
    table = fit.predict_site(persons, random_seed=3)
    post = fit.idata.posterior
    mu = post["mu"].values.reshape(-1, post.sizes["component"])
    tau = post["tau"].values.reshape(mu.shape)
    beta = mu + tau * np.random.default_rng(3).standard_normal(mu.shape)
    comps = table[table.component.notna()].set_index("component")
    np.testing.assert_allclose(comps["mean"], beta.mean(0), rtol=1e-9)
    assert table.attrs["scale"] == fit.record.model.scale
