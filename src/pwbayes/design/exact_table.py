"""Tally the simulated experiments of :func:`pwbayes.design.simulate` into a table."""

from __future__ import annotations

import numpy as np

from ..arms import default_parser
from .spec import Design

__all__ = ["exact_rows"]


def exact_rows(design: Design, runs: list[dict], fit: bool, z: float) -> list[dict]:
    """One row per estimand the simulation can check, with Monte Carlo SEs.

    Components are checked where an arm gives them alone; combined arms as arms; with
    ``fit``, the pooled effect of each component too.
    """
    parser = default_parser()
    base = {"design": design.label, "sites": len(design.site_names), "persons": design.persons,
            "analysis": design.analysis, "replications": len(runs)}  # fmt: skip
    rows = []
    for arm, comps in design.components.items():
        estimand = "component" if len(comps) == 1 else "arm"
        unpooled, pooled = [], []
        for run in runs:
            est = run["estimates"].set_index(["site", "arm"])
            per_site_u, per_site_p = [], []
            for site in design.site_names:
                truth = sum(run["truths"][site][c] for c in comps)
                row = est.loc[(site, arm)]
                per_site_u.append((float(row["estimate"]), float(row["se"]) * z, truth))
                if fit:
                    p = (
                        run["p_site"][(site, comps[0])]
                        if len(comps) == 1
                        else run["p_arm"][(site, arm)]
                    )
                    per_site_p.append((p, truth))
            unpooled.append(per_site_u)
            pooled.append(per_site_p)
        name = parser.label(comps)
        rows.append({**base, "estimand": estimand, "level": "site", "name": name,
                     **_figures(design.analysis, unpooled, pooled if fit else None)})  # fmt: skip
    if fit and design.new_sites:
        for comp in dict.fromkeys(c for cs in design.components.values() for c in cs):
            pooled = [[(run["p_mu"][comp], run["mu"][comp])] for run in runs]
            figures = _figures("pooled", None, pooled)
            if design.analysis == "unpooled":  # no pooled test without pooling
                figures.update({k: np.nan for k in figures if not k.startswith("p_conclusive")})
            rows.append({**base, "estimand": "component", "level": "pooled",
                         "name": parser.label((comp,)), **figures})  # fmt: skip
    return rows


def _figures(analysis: str, unpooled, pooled) -> dict[str, float]:
    """Average decisions within a replication (its sites share a truth), then over them."""
    out: dict[str, float] = {}
    if unpooled is not None:
        est = np.array([[e for e, _, _ in r] for r in unpooled])
        cut = np.array([[c for _, c, _ in r] for r in unpooled])
        truth = np.array([[t for _, _, t in r] for r in unpooled])
        sig = np.abs(est) > cut
        right = sig & (np.sign(est) == np.sign(truth))
        out.update(_decided("significant", sig, right, np.abs(est), np.abs(truth)))
    if pooled is not None:
        p = np.array([[q for q, _ in r] for r in pooled])
        truth = np.array([[t for _, t in r] for r in pooled])
        decided = (p > 0.95) | (p < 0.05)
        right = ((p > 0.95) & (truth > 0)) | ((p < 0.05) & (truth < 0))
        conclusive = _decided("conclusive", decided, right, None, None)
        out["p_conclusive"] = conclusive["p_conclusive"]
        out["p_conclusive_mcse"] = conclusive["p_conclusive_mcse"]
        if analysis == "pooled":
            out.update(assurance=conclusive["assurance"],
                       assurance_mcse=conclusive["assurance_mcse"],
                       p_significant=conclusive["p_conclusive"], type_s=conclusive["type_s"],
                       type_m=np.nan)  # fmt: skip
    else:
        out.update(p_conclusive=np.nan, p_conclusive_mcse=np.nan)
    return out


def _decided(what: str, decided, right, abs_est, abs_truth) -> dict[str, float]:
    reps = decided.shape[0]
    per_rep_right = right.mean(axis=1)
    per_rep_decided = decided.mean(axis=1)
    n_decided = decided.sum()
    out = {
        "assurance": float(per_rep_right.mean()),
        "assurance_mcse": float(per_rep_right.std(ddof=1) / np.sqrt(reps)),
        f"p_{what}": float(per_rep_decided.mean()),
        f"p_{what}_mcse": float(per_rep_decided.std(ddof=1) / np.sqrt(reps)),
        "type_s": float((decided & ~right).sum() / n_decided) if n_decided else np.nan,
    }
    if abs_est is not None:
        out["type_m"] = (
            float(abs_est[decided].mean() / abs_truth[decided].mean()) if n_decided else np.nan
        )
    return out
