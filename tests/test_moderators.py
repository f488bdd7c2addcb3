"""Site-level moderators (meta-regression): exact posterior, checks, prediction, record."""

import numpy as np
import pandas as pd
import pytest
from exact import MU_SD, PRIORS, SCHOOLS, TAU_SD, exact_meta_regression
from helpers import COLUMNS, SCHOOL_COLUMNS, agree, fit_within

import pwbayes as pw
from pwbayes.models.summary_record import summary_model_from_record

X = np.array([1.0, 0.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0])  # an arbitrary school characteristic
G_SD = 8.0


def _schools():
    data = SCHOOLS.copy()
    data["x"] = X
    return data


@pytest.mark.slow
def test_meta_regression_matches_numerical_integration():
    """Eight schools with a moderator: mu and its coefficient as integrated on a grid."""
    priors = {**PRIORS, "moderator": pw.Prior("Normal", mu=0, sigma=G_SD)}
    model = pw.SummaryModel(_schools(), **SCHOOL_COLUMNS, priors=priors, moderators=["x"])
    fit = fit_within(model, draws=4000, tune=1000, chains=4, random_seed=21)
    exact = exact_meta_regression(X, G_SD, TAU_SD)
    agree(fit.idata, "mu", *exact["mu"])
    agree(fit.idata, "moderator_effect", *exact["g"])
    table = fit.moderator_effects()
    row = table.iloc[0]
    assert row.per_unit_mean == pytest.approx(row.per_sd_mean / X.std())
    explained = table.attrs["explained"][0]
    assert 0 <= explained["share_low"] <= explained["share_mean"] <= explained["share_high"] <= 1
    assert 0 < explained["prior_share_mean"] < 1
    assert MU_SD == 20.0  # the exact integration's prior


def test_moderators_are_checked(example_data):
    data = example_data.copy()
    base = dict(**COLUMNS)
    cases = [
        (["absent"], "not found"),
        ("comparison_level_pct", "a list of site-level columns"),
        (["outcome"], "same value"),
        (["published_direction"], "differs between the rows"),
    ]
    for columns, message in cases:
        with pytest.raises(pw.DataError, match=message):
            pw.SummaryModel(data, **base, moderators=columns)
    with pytest.raises(pw.DataError, match="pooling='partial'"):
        pw.SummaryModel(data, **base, pooling="none", moderators=["comparison_level_pct"])
    data["three"] = data.municipality.map({"Deventer": "a", "Tilburg": "b"}).fillna("c")
    with pytest.raises(pw.DataError, match="text with 3 values"):
        pw.SummaryModel(data, **base, moderators=["three"])
    data["gap"] = data.comparison_level_pct.where(data.municipality != "Utrecht")
    with pytest.raises(pw.DataError, match="missing values.*Utrecht"):
        pw.SummaryModel(data, **base, moderators=["gap"])
    for k in range(5):
        codes = {s: i * (k + 1) % 7 for i, s in enumerate(pd.unique(data.municipality))}
        data[f"m{k}"] = data.municipality.map(codes)
    with pytest.raises(pw.DataError, match="at least two more sites"):
        pw.SummaryModel(data, **base, moderators=[f"m{k}" for k in range(5)])
    assert data.columns.tolist()[: len(example_data.columns)] == example_data.columns.tolist()


def test_a_two_level_text_moderator_is_an_indicator_and_is_recorded(example_data):
    data = example_data.copy()
    before = {"Deventer", "Groningen", "Wageningen"}
    data["randomisation"] = np.where(data.municipality.isin(before), "before_enrolment",
                                     "after_enrolment")  # fmt: skip
    model = pw.SummaryModel(data, **COLUMNS, moderators=["randomisation", "comparison_level_pct"])
    assert model.coords["moderator"] == ["randomisation=before_enrolment", "comparison_level_pct"]
    assert "moderator" in model.priors and "moderator_effect" in model.model.named_vars
    record = model.model_record()
    values = record.summary.moderators["randomisation=before_enrolment"]
    assert values == tuple(float(s in before) for s in record.sites)
    rebuilt = summary_model_from_record(record)
    assert rebuilt.structure_key() == model.structure_key()
    np.testing.assert_array_equal(rebuilt.moderators.values, model.moderators.values)


def test_new_site_prediction_uses_the_moderators(example_data):
    """predict_site: mean of mu + g . x_std + tau eps against the draws it is made from."""
    from helpers import _quietly

    model = pw.SummaryModel(example_data, **COLUMNS, moderators=["comparison_level_pct"])
    rng = np.random.default_rng(3)
    shape = (2, 2000)
    n_site, n_comp = len(model.coords["site"]), len(model.coords["component"])
    post = {"mu": rng.normal(1.0, 0.5, (*shape, n_comp)),
            "tau": np.abs(rng.normal(0, 1, (*shape, n_comp))),
            "moderator_effect": rng.normal(2.0, 0.3, (*shape, n_comp, 1)),
            "z": rng.standard_normal((*shape, n_site, n_comp))}  # fmt: skip
    post["beta"] = post["mu"][:, :, None] + post["tau"][:, :, None] * post["z"]
    x = model.data.design[model.data.arm_index]
    post["theta"] = np.einsum("cdrk,rk->cdr", post["beta"][:, :, model.data.site_index], x)
    import arviz as az

    dims = {"mu": ["component"], "tau": ["component"], "z": ["site", "component"],
            "beta": ["site", "component"], "theta": ["row"],
            "moderator_effect": ["component", "moderator"]}  # fmt: skip
    idata = az.from_dict(posterior=post, sample_stats={"diverging": np.zeros(shape, bool)},
                         coords=model.coords, dims=dims)  # fmt: skip
    fit = _quietly(model, idata, 1)
    values = np.array(model.moderators.values[:, 0])
    z = (35.0 - values.mean()) / values.std()
    table = fit.predict_site({"comparison_level_pct": 35.0}, random_seed=1)
    comps = table[table.component.notna()].set_index("component")
    n = shape[0] * shape[1]
    expected = 1.0 + 2.0 * z
    sd = np.sqrt(0.5**2 + (0.3 * z) ** 2 + 1.0)  # mu, g x and tau * eps (E tau^2 = 1)
    assert (np.abs(comps["mean"] - expected) < 4 * sd / np.sqrt(n)).all()
    assert (np.abs(comps["sd"] / sd - 1) < 0.1).all()
    arms = table[table.arm.notna()]
    assert len(arms) == len(model.data.arms) and table.attrs["moderators"] == {
        "comparison_level_pct": 35.0
    }
    at_mean = fit.predict_site(random_seed=1).set_index("component")
    assert abs(at_mean.loc["extra_hulp", "mean"] - 1.0) < 4 * np.sqrt(1.25) / np.sqrt(n)
    with pytest.raises(pw.DataError, match="each of the model's moderators"):
        fit.predict_site({"comparison": 3})
    with pytest.raises(pw.DataError, match="finite numbers"):
        fit.predict_site({"comparison_level_pct": float("nan")})
    explained = fit.moderator_effects().attrs["explained"]
    one_site = [e for e in explained if e["sites"] == 1]
    assert one_site and all(np.isnan(e["share_mean"]) for e in one_site)
    fig = fit.plot_moderators()
    assert "comparison_level_pct" in fig.axes[0].get_title()


@pytest.mark.slow
def test_new_site_intervals_cover_the_truth_in_synthetic_worlds():
    """24 worlds of ``benchmarks/predict_coverage.py``: the held-out site's truth is covered.

    The nominal rate is 90% (21.6 of 24); 17 or more happens with probability 0.99 for a
    calibrated interval. The benchmark runs 100 worlds per variant (docs/checks.md).
    """
    import importlib.util
    import warnings
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "predict_coverage.py"
    spec = importlib.util.spec_from_file_location("predict_coverage", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)  # counted by the benchmark
        hits = [bench.covered(seed, moderated)[0] for seed in range(12) for moderated in (0, 1)]
    assert sum(hits) >= 17, hits


def test_moderators_read_sites_as_the_model_does(example_data):
    """Numeric site codes (5.0 is site "5"): the moderator values follow the model's sites."""
    data = example_data.copy()
    codes = {s: float(k + 1) for k, s in enumerate(pd.unique(data.municipality))}
    data["code"] = data.municipality.map(codes)
    model = pw.SummaryModel(data, site="code", arm="arm", estimate="estimate", se="se",
                            moderators=["comparison_level_pct"])  # fmt: skip
    assert model.data.sites[:2] == ["1", "2"]
    level = data.groupby("code").comparison_level_pct.first()
    np.testing.assert_array_equal(model.moderators.values[:, 0],
                                  [level[float(s)] for s in model.data.sites])  # fmt: skip
