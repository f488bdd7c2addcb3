"""Nothing that rests on fewer than 10 persons leaves a fit, by any door.

On data with small cells of every kind (:mod:`disclosure_case`), a result made from fake
draws (fast) and from a real fit with few draws (slow) are walked whole: every group,
variable, coordinate and attribute of ``fit.idata`` and of the saved file, the record,
every table and its attrs, the figures, and every file that the command line writes.
"""

import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from disclosure_case import (
    COLS,
    EXACT_LEVEL,
    EXACT_ROW,
    RARE,
    SMALL_LEVEL,
    SMALL_ROWS,
    figure_parts,
    file_parts,
    forbidden,
    idata_parts,
    leaks,
    model,
    parser,
    people,
    record_parts,
    small_counts_in,
    table_parts,
)
from helpers import fake_person_result

import pwbayes as pw
from pwbayes.report import write_outputs


@pytest.fixture(scope="module")
def case():
    data = people()
    m = model(data)
    return m, forbidden(m)


def test_the_small_cells_are_found_and_the_cells_of_ten_are_not(case):
    m, _ = case
    notes = "\n".join(m.disclosure.notes)
    for found in ("site=Deventer, arm=Keuze", "site=Utrecht, arm=Basisbaan",
                  "site=all sites, arm=Basisbaan", f"covariate={RARE}",
                  "site=Utrecht, arm=Extra Hulp, basic_qualification=True"):  # fmt: skip
        assert found in notes
    assert "site=Nijmegen, arm=Keuze\n" not in notes + "\n"
    assert "site=Wageningen, arm=Extra Hulp, basic_qualification=True" not in notes
    assert not any(str(n) in notes for n in (3, 4, 7, 8, 9))  # names, never counts


def walk(result, bad, folder):
    """Every part of every output of ``result``: memory, tables, figures, files."""
    parts = [*idata_parts(result.idata), *record_parts(result.record)]
    tables = [
        result.effects(),
        result.effects(scale="model", threshold=1.0),
        result.subgroup_contrasts(),
        result.subgroup_contrasts(scale="model"),
        result.heterogeneity(),
        result.covariate_effects(),
        result.common_effect(),
        result.summary(var_names=list(result.idata.posterior.data_vars)),
    ]
    for table in tables:
        parts += table_parts(table)
    figures = (result.plot_forest(), result.plot_subgroups(), result.plot_subgroups(site="Utrecht"))
    for fig in figures:
        parts += figure_parts(fig)
        plt.close(fig)
    files = write_outputs(result, folder, title="disclosure walk")
    assert {"effects", "forest", "report", "posterior"} <= set(files)
    for path in folder.iterdir():
        parts += file_parts(path)
    back = pw.load_result(files["posterior"])
    parts += [*idata_parts(back.idata), *record_parts(back.record)]
    return parts, back


def check(result, bad, folder):
    parts, back = walk(result, bad, folder)
    assert leaks(parts, bad) == []
    assert small_counts_in(parts) == []
    for res in (result, back):
        post, rec = res.idata.posterior, res.record
        for label in SMALL_ROWS:
            for name in ("theta", "theta_pp"):
                assert np.isnan(post[name].sel(row=label)).all(), (name, label)
            assert np.isnan(res.idata.observed_data["y"].sel(row=label))
            assert np.isnan(res.idata.constant_data["se"].sel(row=label))
            row = next(r for r in rec.model.rows if r.label == label)
            assert row.estimate is None and row.se is None
        for name in ("mu", "mu_pp", "tau", "theta_new", "theta_new_pp"):
            assert np.isnan(post[name].sel(component="basisbaan")).all(), name
        for name in ("beta", "beta_pp"):
            assert np.isnan(post[name].sel(site="Deventer", component="keuze")).all()
            assert np.isnan(post[name].sel(site="Utrecht", component="basisbaan")).all()
        assert np.isnan(post["gamma"].sel(covariate=RARE)).all()
        site, arm, level = SMALL_LEVEL
        assert np.isnan(post["theta_sub_pp"].sel(site=site, arm=arm, subgroup=level)).all()
        person = rec.model.person
        k = person.covariates.index(RARE)
        assert person.covariate_mean[k] is None and person.covariate_sd[k] is None
        assert person.dropped == {"missing values": "fewer than 10"}
        # no over-suppression: cells of exactly 10 persons stay
        assert np.isfinite(post["theta_pp"].sel(row=EXACT_ROW)).all()
        assert np.isfinite(res.idata.observed_data["y"].sel(row=EXACT_ROW))
        site, arm, level = EXACT_LEVEL
        assert np.isfinite(post["theta_sub_pp"].sel(site=site, arm=arm, subgroup=level)).all()
        eff = res.effects()
        assert ((eff.site == "Nijmegen") & (eff.arm == "Keuze")).any()
        assert not ((eff.site == "Deventer") & (eff.arm == "Keuze")).any()
        assert not (eff.component == "basisbaan").any() and not (eff.arm == "Basisbaan").any()
        assert RARE not in set(res.covariate_effects().covariate)
        assert eff.attrs["suppressed"] == list(rec.disclosure.suppressed)
    report = (folder / "report.md").read_text()
    assert "| Deventer | Keuze |" not in report and "| Nijmegen | Keuze |" in report
    assert report.index("Disclosure control") < report.index("## Pooled effect")
    assert "suppressed (fewer than 10 persons): site=Deventer, arm=Keuze" in report


def test_nothing_small_leaves_a_result_of_fake_draws(case, tmp_path):
    m, bad = case
    check(fake_person_result(m), bad, tmp_path / "fake")


@pytest.mark.slow
def test_nothing_small_leaves_a_real_fit(case, tmp_path):
    m, bad = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)  # 2 x 100 draws: not converged
        fit = m.fit(draws=100, tune=100, chains=2, random_seed=3, progress=False)
    check(fit, bad, tmp_path / "real")


def test_an_output_no_rule_covers_is_not_released(case):
    """Fail closed: a posterior variable of unknown dimensions stops the result."""
    import arviz as az

    m, _ = case
    draws = fake_person_result(m).idata.posterior[["alpha_mu", "alpha_sd", "alpha", "mu", "tau",
                                                   "beta", "gamma", "delta"]]  # fmt: skip
    odd = draws.assign(odd=draws["beta"].rename(component="feature"))
    idata = az.InferenceData(posterior=odd, sample_stats=fake_person_result(m).idata.sample_stats)
    with pytest.raises(pw.DisclosureError, match="odd.*no small-cell rule covers"):
        pw.result_from_draws(m, idata, random_seed=1)


def test_a_summary_model_has_no_persons_to_protect(fake_example_result):
    assert fake_example_result.record.disclosure is None
    assert "suppressed" not in fake_example_result.effects().attrs
    assert json.loads(fake_example_result.record.to_json())["disclosure"] is None


def test_an_arm_is_hidden_wherever_one_of_its_components_is(case):
    """A small combined arm hides its components' site effects, so every arm sharing them."""
    data = people()
    few = data[(data.municipality == "Utrecht") & (data.arm == "control")].head(6)
    data = pd.concat([data, few.assign(arm="Extra Hulp + Werken Loont")], ignore_index=True)
    result = fake_person_result(model(data))
    post, rows = result.idata.posterior, {r.label: r for r in result.record.model.rows}
    for component in ("extra_hulp", "werken_loont"):
        assert np.isnan(post["beta"].sel(site="Utrecht", component=component)).all()
    for arm in ("Extra Hulp", "Werken Loont", "Extra Hulp + Werken Loont"):
        label = f"Utrecht: {arm}"
        assert np.isnan(post["theta"].sel(row=label)).all(), label  # theta = sum of betas
        assert np.isnan(post["theta_pp"].sel(row=label)).all(), label
        assert rows[label].estimate is None  # the record says what the data groups say
    assert np.isfinite(post["theta"].sel(row="Utrecht: Zelf in Actie")).all()
    assert np.isfinite(post["theta"].sel(row="Wageningen: Extra Hulp")).all()


@pytest.mark.parametrize(
    ("common", "rare_value", "n_rare", "rare"),
    [((1,), 2, 4, True), ((0, 1), 2, 3, True), ((0, 1), 2, 12, False)],
    ids=["coded 1/2", "three values", "three values, none rare"],
)
def test_covariates_of_few_values_with_a_rare_one(case, common, rare_value, n_rare, rare):
    """With at most three values, count, mean and SD give the number with each away."""
    data = people().dropna().reset_index(drop=True)
    values = np.resize(np.array(common), len(data))
    values[:n_rare] = rare_value
    data["few_values"] = values
    m = pw.PersonModel(data, **COLS, covariates=["few_values"], parser=parser())
    result = fake_person_result(m)
    person = result.record.model.person
    assert (person.covariate_mean[0] is None) is rare
    assert bool(np.isnan(result.idata.posterior["gamma"]).all()) is rare
    assert ("few_values" in set(result.covariate_effects().covariate)) is not rare


def test_only_known_attributes_and_dimension_coordinates_pass(case):
    import arviz as az

    from pwbayes.postprocess.disclosure import SAFE_ATTRS

    m, _ = case
    result = fake_person_result(m)
    for group in result.idata.groups():
        assert set(result.idata[group].attrs) <= SAFE_ATTRS, group
        for name in result.idata[group].data_vars:
            assert not result.idata[group][name].attrs, (group, name)
    post = result.idata.posterior[["alpha_mu", "alpha_sd", "alpha", "mu", "tau", "beta", "gamma",
                                   "delta"]]  # fmt: skip
    post["mu"].attrs["unpooled"] = 18.59
    post.attrs["note about a cell"] = "7 persons"
    stats = result.idata.sample_stats
    back = pw.result_from_draws(m, az.InferenceData(posterior=post, sample_stats=stats))
    assert "unpooled" not in back.idata.posterior["mu"].attrs
    assert "note about a cell" not in back.idata.posterior.attrs
    odd = post.assign_coords(size_of_cell=("site", np.arange(post.sizes["site"])))
    with pytest.raises(pw.DisclosureError, match="other coordinates"):
        pw.result_from_draws(m, az.InferenceData(posterior=odd, sample_stats=stats))


def test_tables_keep_their_columns_when_everything_is_hidden(case):
    m, _ = case
    result = fake_person_result(m)
    empty = result.effects(level="new_site", threshold=1.0).iloc[0:0]
    assert list(result.effects(level="subgroup").columns)[-2:] == ["subgroup", "subgroup_level"]
    assert "p_gt_threshold" in empty.columns
    assert result.heterogeneity().attrs["scale"] == "log-odds"  # tau is on the model's scale


def test_nothing_small_leaves_the_person_checks(case, monkeypatch):
    """Predictive check, leave-one-out and prediction of a fit with small cells: walked whole.

    The case model hides a rare covariate's effect: checks that need it refuse. Without it,
    the small cells (Deventer: Keuze, 7 persons; Utrecht: Basisbaan, 8) appear nowhere in
    what the checks return or draw: not their unpooled estimate or SE, nor their share.
    """
    m, _ = case
    with pytest.raises(pw.DataError, match="removed the effects of covariate"):
        fake_person_result(m).predictive_check(m)
    data = people()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Dropped fewer than 10")
        plain = pw.PersonModel(data, **COLS, covariates=["age"], missing="drop", parser=parser())
    bad = forbidden_rows(plain)
    fit = fake_person_result(plain)
    check = fit.predictive_check(plain, random_seed=1)
    shown = set(zip(check.rows.site, check.rows.arm, strict=True))
    # the small cells' shares are simple fractions (2 of 8 = 25%) that other cells share by
    # chance, so they are checked by cell, the unpooled estimates and SEs by value
    assert not {tuple(label.split(": ")) for label in SMALL_ROWS} & shown
    fig = check.plot()
    parts = [*table_parts(check.rows), *table_parts(check.statistics), *figure_parts(fig)]
    plt.close(fig)
    assert not leaks(parts, bad)

    def fake_fit(self, **settings):
        return fake_person_result(self, seed=3)

    monkeypatch.setattr(pw.PersonModel, "fit", fake_fit)
    with warnings.catch_warnings():  # each refit drops the same rows again, and says so
        warnings.filterwarnings("ignore", message="Dropped fewer than 10")
        loo = fit.loo_sites(plain, random_seed=1)
    fig = loo.plot()
    parts = [*table_parts(loo.rows), *table_parts(loo.sites), *figure_parts(fig), loo.line()]
    plt.close(fig)
    assert not leaks(parts, bad)
    assert not any("Deventer: Keuze (" in s and any(ch.isdigit() for ch in s.split("(")[1])
                   for s in loo.skipped)  # fmt: skip
    # leave one person out: per site sums and counts of persons as disclosure allows
    persons = fit.loo_persons(plain)
    assert not leaks([*table_parts(persons.sites), persons.line()], bad)
    for text in persons.sites.persons:  # in tens: rows on emptied effects are left out
        assert text.startswith("fewer than") or text.startswith("about "), text
    for text in persons.sites.high_k:  # "": a site without figures
        assert text == "" or text.startswith(("fewer than", "about ")) or int(text) >= 10, text
    # the total covers the sites with figures only: nothing follows by difference
    shown = persons.sites.iloc[:-1].dropna(subset=["elpd_loo"])
    assert len(shown) < len(persons.sites) - 1  # some site was hidden in this case
    assert persons.sites.elpd_loo.iloc[-1] == pytest.approx(shown.elpd_loo.sum())
    assert persons.sites.p_loo.iloc[-1] == pytest.approx(shown.p_loo.sum())


def forbidden_rows(m: pw.PersonModel) -> dict[str, float]:
    """The small cells' unpooled estimates and SEs."""
    from pwbayes.data.site_estimates import estimates_from

    table = estimates_from(m.data, family="bernoulli")
    table = table.assign(row=table.site + ": " + table.arm)
    out = {}
    for label in SMALL_ROWS:
        row = table[table.row == label].iloc[0]
        out[f"estimate {label}"], out[f"se {label}"] = float(row.estimate), float(row.se)
    return out
