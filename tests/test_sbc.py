"""Simulation-based calibration: the rank machinery, and a reduced run that can fail."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import pwbayes as pw
from pwbayes.checks.sbc import N_RANK_DRAWS, _ranks, sbc_person, sbc_summary, uniformity
from pwbayes.plots.sbc import plot_ranks


def test_ranks_count_thinned_draws_below_the_truth():
    draws = np.arange(400.0).reshape(4, 100)  # chain x draw
    post = xr.Dataset({"mu": (("chain", "draw"), draws)})
    ranks = _ranks(post, {"mu": 200.5}, 99)
    # 99 evenly spaced draws of 0..399, of which those below 200.5
    idx = np.linspace(0, 399, 99).round()
    assert ranks["mu"] == int((idx < 200.5).sum())


def test_uniformity_accepts_uniform_and_rejects_skewed_ranks():
    rng = np.random.default_rng(0)
    uniform = {
        "ranks": {"mu": rng.integers(0, 100, (500, 3))},
        "labels": {"mu": ["mu[0]", "mu[1]", "mu[2]"]},
        "n_rank_draws": 99,
    }
    tests = uniformity(uniform, bins=10)
    assert list(tests.parameter) == ["mu[0]", "mu[1]", "mu[2]"]
    assert tests.p_value.min() > 0.01 / 3
    # an over-confident posterior puts the truth in the tails
    tails = rng.choice(np.r_[0:10, 90:100], size=(500, 1))
    skewed = {"ranks": {"tau": tails}, "labels": {"tau": ["tau"]}, "n_rank_draws": 99}
    assert uniformity(skewed, bins=10).p_value.iloc[0] < 1e-10
    with pytest.raises(ValueError, match="must divide"):
        uniformity(uniform, bins=7)
    fig = plot_ranks(uniform, bins=10)
    assert [ax.get_title() for ax in fig.axes] == ["mu[0]", "mu[1]", "mu[2]"]
    plt.close(fig)


def _counted(run, *args, **kwargs):
    """Run an SBC; its short fits' problems come as one warning, matching the count."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run(*args, **kwargs)
    assert [w.category for w in caught] == [pw.ConvergenceWarning] * (out["runs_with_problems"] > 0)
    if caught:
        assert str(caught[0].message).startswith(f"{out['runs_with_problems']} of ")
    return out


@pytest.mark.slow
def test_reduced_sbc_passes_the_model_and_fails_a_wrong_prior():
    """30 replications of the summary model; the wrong model's fitted mu prior is 10x too
    narrow. With 5 bins, chi-square at Bonferroni 1% over the 48 parameters."""
    data = pw.examples.summary_effects()
    kw = {"n_jobs": 2, "draws": 500, "tune": 500, "chains": 2, "seed": 11}
    right = _counted(sbc_summary, data, n=30, **kw)
    assert right["n_rank_draws"] == N_RANK_DRAWS
    assert right["ranks"]["mu"].shape == (30, 6) and right["ranks"]["beta"].shape == (30, 6, 6)
    tests = uniformity(right, bins=5)
    assert tests.p_value.min() > 0.01 / len(tests)
    wrong_prior = {"mu": pw.Prior("Normal", mu=0, sigma=1)}
    wrong = _counted(sbc_summary, data, n=30, fit_priors=wrong_prior, **kw)
    tests = uniformity(wrong, bins=5)
    assert tests.p_value.min() < 0.01 / len(tests)
    assert tests.set_index("parameter").p_value.filter(like="mu[").max() < 1e-3


@pytest.mark.slow
def test_person_sbc_runs_and_refuses_rows_the_model_drops():
    people = pw.examples.simulate_participants(1, size=0.2).data
    with pytest.raises(pw.DataError, match="pass only those"):
        sbc_person(people, n=1)
    people = people[people["arm"] != "reference"]
    out = _counted(sbc_person, people, n=4, n_jobs=2, draws=300, tune=300, chains=2)
    assert set(out["ranks"]) == {"alpha_mu", "alpha_sd", "mu", "tau", "beta", "gamma"}
    assert out["ranks"]["beta"].shape == (4, 6, 6)
    assert ((out["ranks"]["mu"] >= 0) & (out["ranks"]["mu"] <= N_RANK_DRAWS)).all()
