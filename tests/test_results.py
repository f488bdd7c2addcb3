"""The effects table, pooling factors, diagnostics and persistence, on fake posteriors."""

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from helpers import COLUMNS, fake_result
from scipy import stats

import pwbayes as pw
from pwbayes.intervals import hdi
from pwbayes.postprocess.diagnostics import check_convergence, diagnose

EFFECT_COLUMNS = [
    "level",
    "site",
    "component",
    "arm",
    "estimand",
    "mean",
    "sd",
    "hdi_low",
    "hdi_high",
    "p_positive",
]


def test_effects_contract(fake_example_result):
    eff = fake_example_result.effects()
    assert list(eff.columns) == EFFECT_COLUMNS
    assert set(eff.level) == {"site", "pooled", "new_site"}
    assert set(eff.estimand) == {"beta", "theta", "mu", "mu_arm", "theta_new", "theta_new_arm"}
    # site-level component effects only where the site ran the component
    beta = eff[eff.estimand == "beta"]
    assert ("Utrecht", "werkbonus") not in set(zip(beta.site, beta.component, strict=False))
    assert ("Tilburg", "werkbonus") in set(zip(beta.site, beta.component, strict=False))
    theta = eff[eff.estimand == "theta"]
    assert len(theta) == 17 and theta.arm.notna().all()
    assert eff.attrs["note"].startswith("SYNTHETIC")


def test_effects_values_match_known_posterior(fake_example_result):
    """mu_c ~ N(c, 1): mean, sd, 90% HDI and P(>0) agree with the normal's."""
    eff = fake_example_result.effects(threshold=1.5)
    mu = eff[eff.estimand == "mu"].set_index("component")
    n = 1000  # draws
    for c, loc in zip(mu.index, range(len(mu)), strict=True):
        r = mu.loc[c]
        assert r["mean"] == pytest.approx(loc, abs=4 / np.sqrt(n))
        assert r["sd"] == pytest.approx(1, abs=0.1)
        assert r["hdi_low"] == pytest.approx(loc - 1.645, abs=0.2)
        assert r["hdi_high"] == pytest.approx(loc + 1.645, abs=0.2)
        assert r["p_positive"] == pytest.approx(stats.norm.sf(0, loc), abs=0.05)
        assert r["p_gt_threshold"] == pytest.approx(stats.norm.sf(1.5, loc), abs=0.05)
    assert (eff["threshold"] == 1.5).all()


def test_arm_effects_sum_components(fake_example_result):
    post = fake_example_result.idata.posterior
    arm = "Zelf in Actie + Werken Loont + Werkbonus"
    expected = (
        post["mu"].sel(component=["zelf_in_actie", "werken_loont", "werkbonus"]).sum("component")
    )
    np.testing.assert_allclose(post["mu_arm"].sel(arm=arm), expected)
    assert post["theta_new"].dims == ("chain", "draw", "component")
    # new-site predictions are wider than the pooled mean
    assert (post["theta_new"].std(("chain", "draw")) > post["mu"].std(("chain", "draw"))).all()


def test_hdi_of_uniform():
    x = np.linspace(0, 1, 10001)
    low, high = hdi(x[:, None], 0.9)
    assert high[0] - low[0] == pytest.approx(0.9, abs=1e-3)
    with pytest.raises(ValueError):
        hdi(np.ones((3, 1)), 0.1)


def test_hdi_prob_option(fake_example_result):
    wide = fake_example_result.effects(hdi_prob=0.99)
    narrow = fake_example_result.effects()
    assert (wide.hdi_high - wide.hdi_low > narrow.hdi_high - narrow.hdi_low).all()


def test_pooling_factors(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS)
    small_tau = fake_result(model, tau_scale=0.01).pooling_factors()
    large_tau = fake_result(model, tau_scale=100.0).pooling_factors()
    assert (small_tau.pooling_factor > 0.99).all()
    assert (large_tau.pooling_factor < 0.1).all()
    for pooling, value in (("none", 0.0), ("full", 1.0)):
        m = pw.SummaryModel(example_data, **COLUMNS, pooling=pooling)
        assert (fake_result(m).pooling_factors().pooling_factor == value).all()


def test_no_pooling_has_no_pooled_rows(example_data):
    model = pw.SummaryModel(example_data, **COLUMNS, pooling="none")
    eff = fake_result(model).effects()
    assert set(eff.level) == {"site"}
    assert fake_result(model).heterogeneity().empty


def test_heterogeneity_table(fake_example_result):
    het = fake_example_result.heterogeneity()
    assert list(het.component) == list(fake_example_result.record.model.components)
    assert (het.hdi_low >= 0).all()


def test_save_load_roundtrip(fake_example_result, tmp_path):
    path = fake_example_result.save(tmp_path / "res.nc")
    loaded = pw.load_result(path)
    pd.testing.assert_frame_equal(loaded.effects(), fake_example_result.effects())
    assert loaded.priors == fake_example_result.priors
    assert loaded.record == fake_example_result.record
    assert loaded.note == fake_example_result.note


def test_load_foreign_file(tmp_path):
    idata = az.from_dict(posterior={"x": np.zeros((1, 10))})
    idata.to_netcdf(str(tmp_path / "x.nc"), engine="h5netcdf")
    with pytest.raises(pw.RecordError, match="not written by pwbayes"):
        pw.load_result(tmp_path / "x.nc")


def test_convergence_warning_names_parameter():
    rng = np.random.default_rng(0)
    good = rng.standard_normal((4, 200))
    stuck = good + np.arange(4)[:, None] * 3  # chains disagree
    idata = az.from_dict(
        posterior={"mu": good, "tau": np.abs(stuck)},
        sample_stats={"diverging": np.eye(4, 200, dtype=bool)},
    )
    report = diagnose(idata, ["mu", "tau"])
    with pytest.warns(pw.ConvergenceWarning) as rec:
        problems = check_convergence(report).problems
    assert len(rec) == 1
    text = str(rec[0].message)
    assert "R-hat of 'tau'" in text and "4 divergent" in text and "target_accept" in text
    assert not any("'mu'" in p and "R-hat" in p for p in problems)


def test_no_warning_when_healthy():
    rng = np.random.default_rng(1)
    idata = az.from_dict(
        posterior={"mu": rng.standard_normal((4, 500))},
        sample_stats={"diverging": np.zeros((4, 500), dtype=bool)},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_convergence(diagnose(idata, ["mu"])).problems == ()
