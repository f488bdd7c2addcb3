"""The exact path of design evaluation: simulated experiments, analysed for real, against the
fast path; and the same simulation on a Dask cluster."""

import warnings

import numpy as np
import pytest

import pwbayes as pw
from pwbayes import design as D

#: Three designs of the synthetic example's kind, with prior spread between sites.
PRIOR = D.EffectPrior(
    mu={"extra_hulp": 3.0, "werken_loont": 1.5},
    tau={"extra_hulp": 2.0, "werken_loont": 1.0},
    mu_sd={"extra_hulp": 1.5, "werken_loont": 1.0},
)
DESIGNS = [
    D.Design(arms={"Extra Hulp": 300}, comparison=300, sites=1, base_rate=21),
    D.Design(arms={"Extra Hulp": 200, "Werken Loont": 200}, comparison=200, sites=3,
             base_rate=12),
    D.Design(arms={"Extra Hulp": 600}, comparison=300, sites=2, base_rate=44),
]  # fmt: skip


@pytest.mark.parametrize("design", DESIGNS, ids=["one-site", "two-arms-three-sites", "2-to-1"])
def test_fast_path_agrees_with_simulated_experiments(design):
    """Assurance and type S of the unpooled analysis, within 4 Monte Carlo SEs plus 0.02.

    The fast path is a normal approximation at the true rates; the simulation draws 0/1
    persons and analyses them with the published method (estimated robust SEs). Against
    the two-proportion closed form that approximation differs by at most 0.014
    (test_design.py), hence the 0.02.
    """
    fast = D.evaluate(design, PRIOR, draws=4000, random_seed=1).query("level == 'site'")
    exact = D.simulate(design, PRIOR, replications=400, fit=False, random_seed=2)
    merged = fast.merge(exact, on=["name", "level"], suffixes=("_fast", "_exact"))
    assert len(merged) == len(exact) >= 1
    for _, r in merged.iterrows():
        gap = abs(r.assurance_fast - r.assurance_exact)
        assert gap < 4 * r.assurance_mcse + 0.02, (r["name"], r.assurance_fast, r.assurance_exact)
        assert r.p_conclusive_exact != r.p_conclusive_exact  # NaN: no pooled fits asked


def test_simulation_is_reproducible_and_refuses_what_it_cannot_do():
    design = DESIGNS[0]
    a = D.simulate(design, PRIOR, replications=20, fit=False, random_seed=5)
    b = D.simulate(design, PRIOR, replications=20, fit=False, random_seed=5)
    assert a.equals(b)
    with pytest.raises(pw.DesignError, match="pools the new data with the old"):
        D.simulate(design, PRIOR, replications=20, fit=True)
    with pytest.raises(pw.DesignError, match="replications=1"):
        D.simulate(design, PRIOR, replications=1, fit=False)
    sub = D.Design(arms={"Extra Hulp": 300}, comparison=300, contrast=D.Contrast("x", difference=1))
    with pytest.raises(pw.DesignError, match="fast path only"):
        D.simulate(sub, PRIOR, replications=20, fit=False)


def test_simulation_runs_on_a_dask_cluster():
    """A real scheduler and two worker processes; the same figures as in this process."""
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    design = DESIGNS[1]
    local = D.simulate(design, PRIOR, replications=30, fit=False, random_seed=3)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        parallel_config(backend="dask"),
    ):  # fmt: skip
        remote = D.simulate(design, PRIOR, replications=30, fit=False, random_seed=3, n_jobs=2)
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_allclose(remote.assurance, local.assurance, rtol=0, atol=1e-12)
    assert remote["name"].tolist() == local["name"].tolist()


@pytest.mark.slow
def test_pooled_fits_agree_with_the_fast_path(fitted_example):
    """P(conclusive) of the fast path against real summary-model fits of simulated data.

    One new municipality (Extra Hulp 300 + comparison 300) under the example's fit. The
    tolerance: 4 Monte Carlo SEs of the simulation plus 4 of the fast path (two simulated
    data sets per prior draw), and 0.02 for the fast path's normal approximations.
    """
    design = D.Design(arms={"Extra Hulp": 300}, comparison=300, outcome="work_gt_8h")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)  # counted, and tested below
        exact = D.simulate(design, fitted_example, replications=80, random_seed=4)
    fast = D.evaluate(design, fitted_example, draws=2000, random_seed=1)
    row = fast.query("level == 'site'").iloc[0]
    sim = exact.query("level == 'site'").iloc[0]
    fast_mcse = np.sqrt(row.p_conclusive * (1 - row.p_conclusive) / (2 * 2000))
    gap = abs(row.p_conclusive - sim.p_conclusive)
    assert gap < 4 * sim.p_conclusive_mcse + 4 * fast_mcse + 0.02, (row.p_conclusive, sim)
    assert abs(row.assurance - sim.assurance) < 4 * sim.assurance_mcse + 0.02
    assert set(exact.level) == {"site", "pooled"}
