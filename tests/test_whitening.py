"""Per-site whitening of the person model: the Op, and that it changes variables only."""

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

import pwbayes as pw
from pwbayes.models.person import glm
from pwbayes.models.person.kernels.whitening_op import site_effects
from pwbayes.models.person.stage_one import moderated_blocks

PERSON = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
#: published site facts (one value per municipality, on each of its rows)
_FACTS = pw.examples.summary_effects()


def _blocks(rng, sites=3, n=4, k=2):
    a = rng.normal(size=(sites, n, n))
    h = np.einsum("sij,skj->sik", a, a)
    h[1, 3, :] = h[1, :, 3] = 0.0  # a component site 1 did not run
    return h, rng.normal(size=(sites, n)), rng.normal(size=(sites, n, k))


def _dense(h, hvec, kmat, am, mu, asd, tau, gamma, w):
    """Reference with dense numpy linear algebra: alpha, beta, log density."""
    mean, sd = np.r_[am, mu], np.r_[asd, tau]
    phi, logdens = [], 0.0
    for m in range(len(h)):
        big = np.eye(len(sd)) + sd[:, None] * h[m] * sd[None, :]
        chol = np.linalg.cholesky(big)
        b = sd * (hvec[m] - h[m] @ mean - kmat[m] @ gamma)
        xi = np.linalg.solve(big, b) + np.linalg.solve(chol.T, w[m])
        phi.append(mean + sd * xi)
        logdens += -np.log(np.diag(chol)).sum() - 0.5 * xi @ xi
    phi = np.array(phi)
    return phi[:, 0], phi[:, 1:], logdens


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
def test_op_values_against_dense_algebra(mode):
    rng = np.random.default_rng(0)
    h, hvec, kmat = _blocks(rng)
    blocks = np.concatenate([h, hvec[:, :, None], kmat], axis=2)
    values = [0.3, rng.normal(size=3), 0.8, np.abs(rng.normal(size=3)) + 0.2]
    values += [rng.normal(size=2), rng.normal(size=(3, 4))]
    syms = [pt.dscalar(), pt.dvector(), pt.dscalar(), pt.dvector(), pt.dvector(), pt.dmatrix()]
    fn = pytensor.function(syms, list(site_effects(blocks, *syms)), mode=mode)
    got = fn(*values)
    want = _dense(h, hvec, kmat, *values)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_op_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    h, hvec, kmat = _blocks(rng)
    blocks = np.concatenate([h, hvec[:, :, None], kmat], axis=2)
    wa, wb = rng.normal(size=3), rng.normal(size=(3, 3))

    def f(am, mu, asd, tau, gamma, w):
        alpha, beta, logdens = site_effects(blocks, am, mu, asd, tau, gamma, w)
        return pt.sum(wa * alpha) + pt.sum(wb * pt.sin(beta)) + 1.3 * logdens

    values = [np.array(0.3), rng.normal(size=3), np.array(0.8), np.abs(rng.normal(size=3)) + 0.2]
    values += [rng.normal(size=2), rng.normal(size=(3, 4))]
    verify_grad(f, values, rng=rng)
    # and the numba backend's gradient equals the Python one
    syms = [pt.dscalar(), pt.dvector(), pt.dscalar(), pt.dvector(), pt.dvector(), pt.dmatrix()]
    out = f(*syms)
    grads = pytensor.grad(out, syms)
    numba_fn = pytensor.function(syms, grads, mode="NUMBA")
    python_fn = pytensor.function(syms, grads, mode="FAST_COMPILE")
    for a, b in zip(numba_fn(*values), python_fn(*values), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_moderated_blocks_centre_the_shifted_effects():
    """At ``w = 0`` the whitened effects plus the moderators' part are the Gaussian posterior
    mean under the prior ``N(mean + (0, G x_m), D^2)``: the appended columns have the right
    sign and order (a wrong one still gives the exact posterior, but sampling gets harder).
    """
    rng = np.random.default_rng(7)
    h, hvec, kmat = _blocks(rng)
    blocks = np.concatenate([h, hvec[:, :, None], kmat], axis=2)
    x = rng.normal(size=(3, 2))  # site x moderator
    g = rng.normal(size=(3, 2))  # component x moderator
    am, mu, asd, tau, gamma = (
        0.3,
        rng.normal(size=3),
        0.8,
        np.abs(rng.normal(size=3)) + 0.2,
        [0.4, -0.2],
    )
    wide = moderated_blocks(blocks, x)
    k = wide[:, :, 5:]
    alpha, beta, _ = _dense(h, hvec, k, am, mu, asd, tau, np.r_[gamma, g.ravel()], np.zeros((3, 4)))
    sd = np.r_[asd, tau]
    for m in range(3):
        prior_mean = np.r_[am, mu + g @ x[m]]
        precision = np.diag(sd**-2) + h[m]
        want = np.linalg.solve(precision, prior_mean / sd**2 + hvec[m] - kmat[m] @ gamma)
        np.testing.assert_allclose(np.r_[alpha[m], beta[m] + g @ x[m]], want, rtol=1e-10)


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=4, size=0.3).data


def _model(df, **kw):
    return pw.PersonModel(
        df,
        **PERSON,
        covariates=["age", "basic_qualification"],
        comparison={"Groningen": "reference"},
        **kw,
    )


@pytest.mark.parametrize("moderated", [False, True])
def test_whitened_density_is_the_noncentred_one_after_the_change_of_variables(people, moderated):
    """log p_W = log p_N + S log(alpha_sd) + log |d xi / d w| + log |d mu / d mu_std|.

    At random points of the whitened model: ``mu = c + s(tau) * mu_std`` with
    ``s = sqrt(v + tau^2 / J)``; with ``phi = mean + sd * xi``: ``alpha_m = alpha_mu +
    alpha_sd * xi_m0`` and ``z_m = xi_m,1:``; the log density of ``w`` holds
    ``-sum log diag L`` for ``w -> xi``. Equal up to a constant means the same posterior;
    the constant is checked too. With site-level moderators ``x`` (effects ``g``) the
    whitened variable is ``beta - x g'``, and ``g`` enters the blocks as covariate effects.
    """
    kw = {"moderators": ["randomisation"], "site_data": _FACTS} if moderated else {}
    white = _model(people, **kw)
    plain = _model(people, parameterization="noncentered", **kw)
    blocks = white.whitening.blocks
    if moderated:
        blocks = moderated_blocks(blocks, white.moderators.standardised)
    n = blocks.shape[1]
    h, hvec, kmat = blocks[:, :, :n], blocks[:, :, n], blocks[:, :, n + 1 :]
    centre, fe_var = white.whitening.mu_scaling
    sites_per_component = (glm.layout_of(white.data).site_cell_map.sum(axis=0) > 0).sum(0)
    lp_w = white.model.compile_logp()
    lp_n = plain.model.compile_logp()
    rng = np.random.default_rng(5)
    start = white.model.initial_point()
    for _ in range(5):
        point = {k: v + rng.normal(0, 0.7, size=np.shape(v)) for k, v in start.items()}
        am, asd = point["alpha_mu"], np.exp(point["alpha_sd_log__"])
        tau = np.exp(point["tau_log__"])
        scale = np.sqrt(fe_var + tau**2 / sites_per_component)
        mu = centre + scale * point["mu_std"]
        gamma, w = point["gamma"], point["site_w"]
        shift = 0.0
        if moderated:
            g = point["moderator_effect"]
            shift = white.moderators.standardised @ g.T
            gamma = np.r_[gamma, g.ravel()]
        alpha, beta, _ = _dense(h, hvec, kmat, am, mu, asd, tau, gamma, w)
        logjac = 0.0
        for m in range(len(blocks)):
            sd = np.r_[asd, tau]
            chol = np.linalg.cholesky(np.eye(n) + sd[:, None] * h[m] * sd[None, :])
            logjac -= np.log(np.diag(chol)).sum()
        names = ["alpha_mu", "alpha_sd_log__", "tau_log__", "gamma"]
        other = {k: point[k] for k in names + ["moderator_effect"] * moderated}
        other.update(mu=mu, alpha=alpha, z=(beta - mu) / tau)
        if moderated:  # the graph's beta is the whitened variable plus the moderators' part
            model = white.model
            (beta_of_values,) = model.replace_rvs_by_values([model["beta"]])
            fn = model.compile_fn(
                beta_of_values, inputs=model.value_vars, point_fn=False, on_unused_input="ignore"
            )
            got = fn(**point)
            np.testing.assert_allclose(got, beta + shift, rtol=1e-10, atol=1e-10)
        # the Potential leaves out the normal densities' constants, log(2 pi) / 2 each
        const = 0.5 * np.log(2 * np.pi) * blocks.shape[0] * n
        want = lp_n(other) + len(blocks) * np.log(asd) + logjac + np.log(scale).sum() + const
        assert lp_w(point) == pytest.approx(want, rel=1e-10, abs=1e-8)


def test_stage_one_failure_falls_back_to_noncentred(people, monkeypatch):
    def fail(*args, **kwargs):
        raise pw.DataError("did not converge")

    monkeypatch.setattr(glm, "glm_mode", fail)
    with pytest.warns(UserWarning, match="using 'noncentered'"):
        model = _model(people)
    assert model.parameterization == "noncentered" and "z" in model.model.named_vars


@pytest.mark.slow
def test_whitened_and_noncentred_posteriors_agree(people):
    """Same posterior, two parameterisations: means within 4 MCSE, SDs within 15%."""
    import arviz as az

    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        for name in ("whitened", "noncentered"):
            fits[name] = _model(people, parameterization=name).fit(
                draws=1000, tune=1000, random_seed=3, progress=False
            )
    a, b = fits["whitened"].idata, fits["noncentered"].idata
    for var in ("mu", "tau", "alpha_mu", "gamma"):
        ma, mb = a.posterior[var].mean(("chain", "draw")), b.posterior[var].mean(("chain", "draw"))
        se = np.hypot(az.mcse(a, var_names=[var])[var], az.mcse(b, var_names=[var])[var])
        assert np.all(np.abs(ma - mb) <= 4 * se + 1e-3), var
        sa, sb = a.posterior[var].std(("chain", "draw")), b.posterior[var].std(("chain", "draw"))
        assert np.all(np.abs(sa / sb - 1) < 0.15), var
