"""Shared test helpers: column names and fake posteriors with known truth."""

import arviz as az
import numpy as np

from pwbayes.diagnostics import diagnose
from pwbayes.results import SummaryResult, add_derived_quantities

COLUMNS = {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"}
SCHOOL_COLUMNS = {"site": "school", "estimate": "estimate", "se": "se"}


def fake_result(model, seed=0, chains=2, draws=500, mu_loc=None, tau_scale=1.0):
    """A result with a known posterior: mu_c ~ N(loc_c, 1), tau_c ~ |N(0, tau_scale)|."""
    rng = np.random.default_rng(seed)
    coords = model.coords
    n_site, n_comp = len(coords["site"]), len(coords["component"])
    loc = np.arange(n_comp, dtype=float) if mu_loc is None else np.asarray(mu_loc, float)
    post = {}
    if model.pooling in ("partial", "full"):
        post["mu"] = loc + rng.standard_normal((chains, draws, n_comp))
    if model.pooling == "partial":
        post["tau"] = np.abs(rng.normal(0, tau_scale, (chains, draws, n_comp)))
        post["beta"] = post["mu"][:, :, None, :] + post["tau"][:, :, None, :] * rng.standard_normal(
            (chains, draws, n_site, n_comp)
        )
    elif model.pooling == "full":
        post["beta"] = np.repeat(post["mu"][:, :, None, :], n_site, axis=2)
    else:
        post["beta"] = rng.standard_normal((chains, draws, n_site, n_comp))
    x_row = model.data.design[model.data.arm_index]
    post["theta"] = np.einsum("cdrk,rk->cdr", post["beta"][:, :, model.data.site_index, :], x_row)
    dims = {
        "mu": ["component"],
        "tau": ["component"],
        "beta": ["site", "component"],
        "theta": ["row"],
    }
    idata = az.from_dict(
        posterior=post,
        sample_stats={"diverging": np.zeros((chains, draws), dtype=bool)},
        coords={k: coords[k] for k in ("site", "component", "row")},
        dims={k: v for k, v in dims.items() if k in post},
    )
    config = model.config()
    config["sampling"] = {
        "sampler": "fake",
        "draws": draws,
        "tune": 0,
        "chains": chains,
        "random_seed": seed,
        "target_accept": 0.9,
    }
    idata = add_derived_quantities(idata, config, seed)
    report = diagnose(idata, list(post))
    report["problems"] = []
    config["diagnostics"] = report
    return SummaryResult(idata, config)
