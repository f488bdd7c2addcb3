"""Leave one site out: held-out predictions against exact integration; the rebuilt model."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from exact import PRIORS, SCHOOLS, exact_held_out
from helpers import COLUMNS, SCHOOL_COLUMNS, fake_result, fit_within

import pwbayes as pw
from pwbayes.checks.loo import LooSites
from pwbayes.models.summary_record import summary_model_from_record


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"suspect": ["Nijmegen", "Tilburg"]},
        {"suspect": ["Nijmegen"], "suspect_action": "exclude", "interactions": True},
        {"pooling": "none"},
        {"priors": {"tau[werken_loont]": pw.Prior("HalfNormal", sigma=1.5)}},
    ],
)
def test_the_record_rebuilds_the_model(options, example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, **options)
    rebuilt = summary_model_from_record(model.model_record())
    assert rebuilt.structure_key() == model.structure_key()
    assert rebuilt.model_record().priors == model.model_record().priors
    assert rebuilt.model_record().summary == model.model_record().summary
    assert rebuilt.model_record().rows == model.model_record().rows
    original, values = model.data_values(), rebuilt.data_values()
    assert original.keys() == values.keys()
    for name, value in original.items():
        np.testing.assert_array_equal(values[name], value, err_msg=name)


def test_the_record_rebuilds_eight_schools_and_held_out_sites():
    model = pw.SummaryModel(SCHOOLS, **SCHOOL_COLUMNS, priors=PRIORS).leave_out("C")
    rebuilt = summary_model_from_record(model.model_record())
    assert rebuilt.held_out_sites == ["C"]
    assert rebuilt.structure_key() == model.structure_key()
    assert rebuilt.model_record() == model.model_record()
    other = summary_model_from_record(
        model.model_record(), priors={"tau": {"dist": "HalfNormal", "sigma": 1.0}}
    )
    assert other.priors["tau"] == pw.Prior("HalfNormal", sigma=1.0)
    assert other.structure_key() == model.structure_key()  # new values, same compiled graph


def test_a_registered_component_is_rebuilt(example_data):
    data = example_data.copy()
    data["arm"] = data["arm"].replace({"Extra Hulp": "Job coaching"})
    parser = pw.arms.ArmParser()
    parser.register("job_coaching", "Job coaching")
    model = pw.SummaryModel(data, **COLUMNS, parser=parser)
    rebuilt = summary_model_from_record(model.model_record())
    assert "job_coaching" in rebuilt.data.components
    assert rebuilt.structure_key() == model.structure_key()


def test_only_a_summary_record_is_rebuilt(example_model):
    record = dataclasses.replace(example_model.model_record(), kind="PersonModel")
    with pytest.raises(pw.RecordError, match="pass the model itself"):
        summary_model_from_record(record)


def _fake_loo(inside):
    n = len(inside)
    rows = pd.DataFrame({
        "site": [f"S{k}" for k in range(n)], "arm": "Extra Hulp",
        "estimate": np.linspace(-3, 3, n), "se": 1.0, "pred_mean": 0.0, "pred_low": -2.0,
        "pred_high": 2.0, "inside": inside, "lpd": -2.0, "ess": 1000.0,
        "effect_mean": 0.0, "effect_low": -1.0, "effect_high": 1.0,
        "elpd_psis": -2.0, "pareto_k": 0.2, "psis_ok": True,
    })  # fmt: skip
    sites = pd.DataFrame({"site": rows.site, "rows": 1, "lpd": rows.lpd, "inside": rows.inside})
    return LooSites(rows, sites, 0.9, "percentage points", "school", "SYNTHETIC")


def test_the_loo_plot_marks_what_falls_outside():
    loo = _fake_loo([True, False, True, True, False])
    fig = loo.plot()
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "site's own estimate (outside)" in labels
    assert len(ax.get_yticklabels()) == 5
    assert "3 of 5" in ax.get_title()
    assert any("SYNTHETIC" in t.get_text() for t in fig.texts)
    assert loo.coverage == pytest.approx(0.6)
    assert "3 of 5 held-out estimates" in loo.line()


def test_loo_needs_partial_pooling(example_data):
    fit = fake_result(pw.SummaryModel(example_data, **COLUMNS, pooling="none"))
    with pytest.raises(pw.DataError, match="pooling='partial'"):
        fit.loo_sites()


@pytest.mark.slow
def test_held_out_predictions_match_exact_integration():
    """Each school left out: its predictive density and interval are the exact ones.

    Tolerances are four Monte Carlo SEs: ``sqrt(rel_var / ess)`` for the log density
    (``rel_var`` exact, ``ess`` reported per row) and ``sqrt(q (1 - q) / ess) / density``
    for an interval end, plus the grid's allowance.
    """
    model = pw.SummaryModel(SCHOOLS, **SCHOOL_COLUMNS, priors=PRIORS)
    fit = fit_within(model, draws=2000, tune=1000, chains=2, random_seed=5)
    loo = fit.loo_sites(draws=2000, tune=1000, chains=2, random_seed=9)
    assert list(loo.sites.site) == list(SCHOOLS.school)
    # one row per school: a site's density is its row's
    np.testing.assert_allclose(loo.sites.lpd, loo.rows.lpd, rtol=1e-10)
    for j, row in loo.rows.iterrows():
        exact = exact_held_out(j)
        ess = row.ess
        assert ess > 400, row
        assert abs(row.lpd - exact["lpd"]) < 4 * np.sqrt(exact["rel_var"] / ess) + 1e-3, row
        for end, q in (("low", 0.05), ("high", 0.95)):
            tol = 4 * np.sqrt(q * (1 - q) / ess) / exact[f"dens_{end}"] + 0.05
            assert abs(row[f"pred_{end}"] - exact[end]) < tol, (row.site, end, exact[end])
        if row.psis_ok:  # PSIS without refitting agrees where its Pareto k says it is valid
            assert abs(row.elpd_psis - exact["lpd"]) < 0.1, row
    assert loo.elpd == pytest.approx(loo.rows.lpd.sum())
