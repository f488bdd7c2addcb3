"""likelihood="normal_approx": stage-one maximum likelihood, the marginal likelihood of
the hyperparameters, and the exact conditional draws of alpha, beta and gamma."""

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

import pwbayes as pw
from pwbayes.models.person import glm
from pwbayes.postprocess.conditional import conditional_draws

PERSON = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
GRONINGEN_REF = {"Groningen": "reference"}
COVS = ["basic_qualification", "distance_to_labour_market"]


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=3, size=0.5).data


@pytest.fixture(scope="module")
def approx_model(people):
    with pytest.warns(UserWarning, match="small cell"):
        return pw.PersonModel(
            people,
            **PERSON,
            covariates=COVS,
            comparison=GRONINGEN_REF,
            likelihood="normal_approx",
        )


def _loglik(xm, k, n, psi):
    eta = xm @ psi
    return float(k @ eta - n @ np.logaddexp(0, eta))


def test_mle_solves_the_score_equations_and_cov_is_inverse_information(approx_model):
    m = approx_model
    p, a = m.cells, m.stage_one
    xm = glm.design_matrix(a.layout, p.site_index, p.arm_index, p.x)
    psi = a.psi_hat
    score = xm.T @ (p.k - p.n * expit(xm @ psi))
    assert np.max(np.abs(score)) < 1e-6
    # the Hessian by central finite differences of the log-likelihood
    h, dim = 1e-3, len(psi)
    hess = np.empty((dim, dim))
    for i in range(dim):
        for j in range(i, dim):
            ei, ej = np.eye(dim)[i] * h, np.eye(dim)[j] * h
            f = [
                _loglik(xm, p.k, p.n, psi + si * ei + sj * ej)
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            hess[i, j] = hess[j, i] = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h)
    info = np.linalg.inv(a.psi_cov)
    np.testing.assert_allclose(-hess, info, rtol=1e-4, atol=1e-5 * np.abs(info).max())


def test_mle_is_the_same_from_rows_and_from_collapsed_cells(approx_model):
    m = approx_model
    d = m.data
    psi_rows, cov_rows, _ = glm.fit_glm(
        m.stage_one.layout,
        d.site_index,
        d.arm_index,
        d.x,
        family="bernoulli",
        k=d.y,
        n=np.ones_like(d.y),
    )
    np.testing.assert_allclose(psi_rows, m.stage_one.psi_hat, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov_rows, m.stage_one.psi_cov, rtol=1e-8, atol=1e-12)


def test_normal_family_stage_one_is_least_squares(people):
    with pytest.warns(UserWarning, match="small cell"):
        m = pw.PersonModel(
            people,
            site="municipality",
            arm="arm",
            outcome="wellbeing_0_10",
            covariates=["wellbeing_0_10_baseline"],
            family="normal",
            likelihood="normal_approx",
        )
    d, layout = m.data, m.stage_one.layout
    xm = glm.design_matrix(layout, d.site_index, d.arm_index, d.x)
    coef, rss, *_ = np.linalg.lstsq(xm, d.y, rcond=None)
    np.testing.assert_allclose(m.stage_one.psi_hat, coef, rtol=1e-9, atol=1e-10)
    sigma2 = rss[0] / (len(d.y) - xm.shape[1])
    np.testing.assert_allclose(m.stage_one.psi_cov, sigma2 * np.linalg.inv(xm.T @ xm), rtol=1e-9)
    assert "sigma" not in m.priors  # plugged in from stage one, not sampled


def _phi_to_psi(layout):
    """The matrix A (psi = A phi) with phi = (alpha, beta flattened site-major, gamma)."""
    s, c, k = layout.n_sites, layout.design.shape[1], layout.n_covariates
    r = len(layout.cell_site)
    a = np.zeros((layout.size, s + s * c + k))
    a[:s, :s] = np.eye(s)
    for j, (m, arm) in enumerate(zip(layout.cell_site, layout.cell_arm, strict=True)):
        a[s + j, s + m * c : s + (m + 1) * c] = layout.design[arm]
    a[s + r :, s + s * c :] = np.eye(k)
    return a


def test_marginal_likelihood_equals_the_dense_gaussian(approx_model):
    """The Potential is log N(psi_hat | A m(h), Sigma_hat + A V(h) A'), with A built by hand."""
    model = approx_model.model
    layout, a = approx_model.stage_one.layout, approx_model.stage_one
    loglik = [p for p in model.potentials if p.name == "psi_loglik"]
    term = model.compile_fn(model.logp(vars=loglik), point_fn=True)
    mu_of = model.compile_fn(
        model.replace_rvs_by_values([model["mu"]])[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
        point_fn=True,
    )
    amat = _phi_to_psi(layout)
    rng = np.random.default_rng(5)
    start = model.initial_point()
    s = layout.n_sites
    for _ in range(4):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        a_mu, a_sd = point["alpha_mu"], np.exp(point["alpha_sd_log__"])
        mu, tau = mu_of(point), np.exp(point["tau_log__"])
        mean_phi = np.concatenate([np.full(s, a_mu), np.tile(mu, s), a.gamma_mean])
        var_phi = np.concatenate([np.full(s, a_sd**2), np.tile(tau**2, s), a.gamma_sd**2])
        cov = a.psi_cov + amat @ np.diag(var_phi) @ amat.T
        want = stats.multivariate_normal(amat @ mean_phi, cov).logpdf(a.psi_hat)
        assert term(point) == pytest.approx(want, rel=1e-9)


def test_mu_is_a_change_of_variables(approx_model):
    """mu = c + sqrt(v + tau^2 / J) * mu_std, with the prior on mu and the log-Jacobian."""
    model = approx_model.model
    centre, fe_var = approx_model.stage_one.mu_scaling
    d = approx_model.data
    site_arms = {
        (d.sites[m], d.arms[a]) for m, a in zip(d.site_index, d.arm_index, strict=True) if a >= 0
    }
    runs = {(s, c) for s, a in site_arms for c in d.arm_components[a]}
    n_sites = np.array([sum((s, c) in runs for s in d.sites) for c in d.components])
    assert n_sites.tolist() == [6, 6, 6, 1, 1, 1]  # zelf_in_actie ... keuze: the design
    prior = [p for p in model.potentials if p.name == "mu_prior"]
    term = model.compile_fn(
        model.logp(vars=prior), inputs=model.value_vars, on_unused_input="ignore", point_fn=True
    )
    mu_of = model.compile_fn(
        model.replace_rvs_by_values([model["mu"]])[0],
        inputs=model.value_vars,
        on_unused_input="ignore",
        point_fn=True,
    )
    rng = np.random.default_rng(2)
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in model.initial_point().items()}
        tau = np.exp(point["tau_log__"])
        scale = np.sqrt(fe_var + tau**2 / n_sites)
        mu = centre + scale * point["mu_std"]
        np.testing.assert_allclose(mu_of(point), mu, rtol=1e-12)
        want = stats.norm(0, 1).logpdf(mu).sum() + np.log(scale).sum()
        assert term(point) == pytest.approx(want, rel=1e-10)


def test_conditional_draws_are_the_gaussian_posterior():
    """Matheron draws against the closed-form posterior of phi given psi_hat and h."""
    rng = np.random.default_rng(7)
    # site 0 runs A, B and A+B; site 1 runs A only; components A, B; one covariate
    layout = glm.Layout(
        cell_site=np.array([0, 0, 0, 1]),
        cell_arm=np.array([0, 1, 2, 0]),
        design=np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        n_sites=2,
        n_covariates=1,
        names=[f"p{i}" for i in range(7)],
    )
    q = rng.normal(size=(7, 7))
    sigma = 0.05 * (q @ q.T / 7 + np.eye(7))
    psi_hat = rng.normal(0, 0.5, 7)
    n = 40_000
    hyper = {
        "alpha_mu": np.full(n, -1.0),
        "alpha_sd": np.full(n, 0.7),
        "mu": np.tile([0.2, -0.1], (n, 1)),
        "tau": np.tile([0.3, 0.0], (n, 1)),  # tau = 0: component B equal in every site
    }
    g_mean, g_sd = np.array([0.1]), np.array([0.8])
    out = conditional_draws(layout, psi_hat, sigma, hyper, g_mean, g_sd, rng)
    draws = np.column_stack([out["alpha"], out["beta"].reshape(n, -1), out["gamma"]])
    # closed form (covariance form, so a zero prior variance is fine)
    amat = _phi_to_psi(layout)
    m = np.array([-1.0, -1.0, 0.2, -0.1, 0.2, -0.1, 0.1])
    v = np.diag([0.49, 0.49, 0.09, 0.0, 0.09, 0.0, 0.64])
    gain = v @ amat.T @ np.linalg.inv(amat @ v @ amat.T + sigma)
    mean = m + gain @ (psi_hat - amat @ m)
    cov = v - gain @ amat @ v
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(draws.mean(0), mean, atol=4 * sd.max() / np.sqrt(n) + 1e-12)
    np.testing.assert_allclose(draws[:, [3, 5]], np.column_stack([draws[:, 3]] * 2))  # beta_B
    emp = np.cov(draws.T)
    # SE of a sample covariance entry is at most sqrt(2/n) * sd_i * sd_j
    tol = 5 * np.sqrt(2 / n) * np.outer(sd, sd) + 1e-12
    assert np.all(np.abs(emp - cov) <= tol)


def test_auto_chooses_by_size_and_cell_counts(people):
    small = pw.PersonModel(people, **PERSON, covariates=COVS, comparison=GRONINGEN_REF)
    assert small.likelihood == "exact" and small.model_record().person.likelihood == "exact"
    big_pop = pw.examples.simulate_participants(random_seed=3, size=10).data
    big = pw.PersonModel(big_pop, **PERSON, covariates=COVS, comparison=GRONINGEN_REF)
    assert len(big.data.y) >= glm.AUTO_MIN_ROWS
    assert big.likelihood == "normal_approx"
    assert "normal approximation in" in repr(big)
    assert big.coords["psi"][0] == "alpha[Deventer]"
    exact = pw.PersonModel(
        big_pop, **PERSON, covariates=COVS, comparison=GRONINGEN_REF, likelihood="exact"
    )
    assert exact.likelihood == "exact" and "psi" not in exact.coords


def test_normal_approx_input_errors(people):
    with pytest.raises(pw.DataError, match="likelihood='laplace' is not allowed"):
        pw.PersonModel(people, **PERSON, comparison=GRONINGEN_REF, likelihood="laplace")
    with (
        pytest.warns(UserWarning, match="small cell"),
        pytest.raises(pw.PriorError, match="needs a Normal prior on gamma"),
    ):
        pw.PersonModel(
            people,
            **PERSON,
            covariates=COVS,
            comparison=GRONINGEN_REF,
            likelihood="normal_approx",
            priors={"gamma": pw.Prior("StudentT", nu=3, mu=0, sigma=1)},
        )


@pytest.mark.slow
def test_normal_approx_agrees_with_the_exact_likelihood():
    """Same population, both likelihoods: pooled effects within Monte Carlo error plus a
    tenth of a posterior SD (the approximation's allowance), on both scales."""
    import arviz as az

    pop = pw.examples.simulate_participants(random_seed=8, size=8)
    covs = ["basic_qualification", "distance_to_labour_market", "health_problems"]
    fits = {}
    for lik in ("exact", "normal_approx"):
        model = pw.PersonModel(
            pop.data, **PERSON, covariates=covs, comparison=GRONINGEN_REF, likelihood=lik
        )
        with warnings.catch_warnings():
            # the exact likelihood's geometry gives a few divergences at this size (7 of
            # 4,000 here), which is the reason the approximation exists; bounded below
            warnings.simplefilter("ignore", pw.ConvergenceWarning)
            fits[lik] = model.fit(random_seed=8, progress=False)
    assert fits["exact"].diagnostics.divergences <= 20
    assert fits["normal_approx"].diagnostics.divergences <= 2  # none here; the exact: 7
    assert fits["normal_approx"].record.model.person.likelihood == "normal_approx"
    for var in ("mu", "tau", "mu_pp", "alpha_mu"):
        summ = {k: az.summary(f.idata, var_names=[var]) for k, f in fits.items()}
        e, a = summ["exact"], summ["normal_approx"]
        mcse = np.hypot(e["mcse_mean"], a["mcse_mean"])
        gap = (e["mean"] - a["mean"]).abs()
        assert (gap <= 4 * mcse + 0.1 * e["sd"]).all(), (var, gap, mcse, e["sd"])
        assert ((a["sd"] / e["sd"]).between(0.85, 1.15)).all(), (var, a["sd"] / e["sd"])
