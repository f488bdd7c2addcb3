"""Write a fitted result to a folder, ready for the output check of CBS remote access.

Every file is made from the result, which holds only what passed disclosure control
(:mod:`pwbayes.postprocess.disclosure`):

* ``effects.csv``: every estimand at every level (site, pooled, new site, subgroup), with
  the interval and the data's note (e.g. SYNTHETIC) in columns of their own;
* ``subgroup_contrasts.csv`` (models with subgroups): differences between levels;
* ``forest.png`` and ``subgroups.png`` (models with subgroups);
* ``report.md``: at the top, the data's note, the convergence checks in one line and what
  disclosure control suppressed and why; then the effects, priors and sampling;
* ``result.nc``: the posterior and its record (:func:`pwbayes.load_result`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import pandas as pd

from ._text import plural
from .report_checks import (
    loo_lines,
    predictive_lines,
    save_figure,
    sensitivity_lines,
    write_check_files,
)
from .results import PersonResult, ResultBase, SummaryResult

if TYPE_CHECKING:
    from .checks.loo import LooSites
    from .checks.ppc import PredictiveCheck
    from .checks.sensitivity import Sensitivity

__all__ = ["export_table", "write_outputs"]


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return a table as it is written out: interval and data note in columns of their own.

    ``attrs`` do not survive a CSV file; the interval (``"90% HDI"``) and the note (the data
    are SYNTHETIC...) must, so each is added as a column, after the others.
    """
    out = table.copy()
    out["interval"] = f"{table.attrs.get('hdi_prob', 0.9):.0%} HDI"
    if table.attrs.get("note"):
        out["note"] = table.attrs["note"]
    return out


def write_outputs(
    result: ResultBase,
    folder: str | Path,
    *,
    title: str | None = None,
    save_posterior: bool = True,
    subgroup_reference: dict[str, str] | None = None,
    sensitivity: Sensitivity | None = None,
    loo: LooSites | None = None,
    predictive: PredictiveCheck | None = None,
) -> dict[str, Path]:
    """Write the tables, plots, report (and the saved result) of ``result`` to ``folder``.

    Parameters
    ----------
    result : SummaryResult or PersonResult
    folder : str or Path
        Created if missing; existing files of the same names are replaced.
    title : str, optional
        Heading of the report and plot.
    save_posterior : bool
        Also save the posterior and its record (``result.nc``).
    subgroup_reference : dict, optional
        Reference level of each subgroup variable for the contrasts (default: the first).
    sensitivity : Sensitivity, optional
        ``result.sensitivity()``: adds "How much do the priors decide" to the report,
        ``prior_sensitivity.csv/png`` and ``power_scaling.csv``.
    loo : LooSites, optional
        ``result.loo_sites()``: adds a section on leaving each site out, ``loo_sites.csv/png``.
    predictive : PredictiveCheck, optional
        ``result.predictive_check()``: a section, ``predictive_check.csv/png``.

    Returns
    -------
    dict of str to Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    if save_posterior:  # first: whatever fails below, the fit itself is not lost
        out["posterior"] = result.save(folder / "result.nc", overwrite=True)
    out.update({"effects": folder / "effects.csv", "forest": folder / "forest.png"})
    eff = result.effects()
    export_table(eff).to_csv(out["effects"], index=False)
    subgroups = isinstance(result, PersonResult) and result.record.model.subgroups is not None
    if isinstance(result, PersonResult) and subgroups:
        out["contrasts"] = folder / "subgroup_contrasts.csv"
        contrasts = result.subgroup_contrasts(reference=subgroup_reference)
        export_table(contrasts).to_csv(out["contrasts"], index=False)
    _figures(result, out, folder, title, subgroups)
    out.update(write_check_files(folder, sensitivity, loo, predictive))
    lines = [f"# {title or 'pwbayes: pooled effects'}", ""]
    lines += _header(result, sensitivity) + _pooled(result, eff)
    if subgroups:
        lines += _subgroups(result, eff, contrasts)
    lines += _moderators(result)
    lines += _per_site(result, eff)
    lines += ["", "![forest plot](forest.png)"]
    if predictive is not None:
        lines += predictive_lines(predictive)
    if sensitivity is not None:
        lines += sensitivity_lines(sensitivity)
    if loo is not None:
        lines += loo_lines(loo, result.record.model.site_noun)
    lines += ["", "## Priors", ""]
    lines += [f"- `{k} ~ {v}`" for k, v in result.priors.items()]
    lines += _sampling(result)
    out["report"] = folder / "report.md"
    out["report"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _figures(result, out: dict, folder: Path, title, subgroups: bool) -> None:
    if matplotlib.get_backend().lower() not in {"agg", "module://matplotlib_inline.backend_inline"}:
        matplotlib.use("Agg")
    save_figure(result.plot_forest(title=title), out["forest"])
    if _has_moderators(result):
        out["moderators"] = folder / "moderators.png"
        save_figure(result.plot_moderators(title=title), out["moderators"])
    if subgroups:
        out["subgroups"] = folder / "subgroups.png"
        save_figure(result.plot_subgroups(), out["subgroups"])


def _has_moderators(result: ResultBase) -> bool:
    return bool(result.record.model.moderators)


def _moderators(result: ResultBase) -> list[str]:
    """Site-level moderators: effect per SD and per unit, and the share of tau explained."""
    if not _has_moderators(result):
        return []
    table = result.moderator_effects()
    m, scale = result.record.model, table.attrs["scale"]
    digits = 2 if scale == "log-odds" else 1  # log-odds are small numbers
    explained = {r["component"]: r for r in table.attrs["explained"]}
    lines = ["", f"## What explains the differences between {plural(m.site_noun)}", "",
             f"Change in each component's effect ({scale}) per SD of a {m.site_noun}-level "
             "moderator over the fitted sites (90% HDI), and the share of the component's "
             f"between-{m.site_noun} variance the moderators explain.", "",
             "| component | moderator | per SD | 90% HDI | per unit | P(>0) | share explained |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for r in table.itertuples():
        e = explained[r.component]
        share = f"- (one {m.site_noun})" if e["sites"] < 2 else "- (not shown)"
        if not np.isnan(e["share_mean"]):
            share = f"{e['share_mean']:.0%} [{e['share_low']:.0%}, {e['share_high']:.0%}]; "
            share += f"prior alone {e['prior_share_mean']:.0%}"
        lines.append(
            f"| {m.component_labels.get(r.component, r.component)} | {r.moderator} | "
            f"{r.per_sd_mean:+.{digits}f} | [{r.per_sd_low:+.{digits}f}, "
            f"{r.per_sd_high:+.{digits}f}] | "
            f"{r.per_unit_mean:+.2f} | {r.p_positive:.2f} | {share} |"
        )
    return lines + ["", "![moderators](moderators.png)"]


def _header(result: ResultBase, sensitivity: Sensitivity | None = None) -> list[str]:
    """Caption, convergence, disclosure control, what was pooled, suspect rows."""
    m = result.record.model
    lines = [f"> **{result.note}.**", ""] if result.note else []
    line = result.diagnostics.line()
    lines += [f"**{line[0].upper() + line[1:]}.**", ""]
    disclosure = result.record.disclosure
    if disclosure is not None:
        lines += [
            f"Disclosure control: no figure rests on fewer than {disclosure.min_cell} persons; "
            "what rests on a smaller cell, or would let one be derived, is left out:",
            "",
        ]
        lines += [f"- {note}" for note in disclosure.suppressed] or ["- nothing suppressed"]
        lines.append("")
    lines += [
        f"Pooling: **{m.pooling}**; {len(m.rows)} {m.site_noun} x arm estimates from "
        f"{len(m.sites)} {plural(m.site_noun)} ({', '.join(m.sites)}). Effects are in "
        f"{m.scale}; intervals are 90% highest-density intervals, as in the published figures.",
        "",
    ]
    if m.weak_tau:
        lines += [
            f"Between-{m.site_noun} SD resting on its prior: "
            + "; ".join(f"{c} ({why})" for c, why in m.weak_tau.items())
            + "."
            + (sensitivity.weak_line() if sensitivity is not None else ""),
            "",
        ]
    s = m.summary
    if s is not None and (s.suspect_rows or s.excluded_rows):
        if s.suspect_action == "exclude":
            what, rows = "left out", [r.label for r in s.excluded_rows]
        else:
            what, rows = "given a bias term for the comparison group", list(s.suspect_rows)
        lines += [f"Rows with a suspect comparison group, {what}: {', '.join(rows)}.", ""]
    return lines


def _table(eff: pd.DataFrame, keys: list[str], labels: dict[str, str]) -> list[str]:
    head = " | ".join(keys)
    lines = [
        f"| {head} | mean | 90% HDI | P(>0) |",
        "| " + "--- | " * len(keys) + "---: | ---: | ---: |",
    ]
    for _, r in eff.iterrows():
        names = " | ".join(str(labels.get(r[k], r[k])) for k in keys)
        lines.append(
            f"| {names} | {_fmt(r['mean'])} | [{_fmt(r['hdi_low'])}, {_fmt(r['hdi_high'])}] "
            f"| {r['p_positive']:.2f} |"
        )
    return lines


def _pooled(result: ResultBase, eff: pd.DataFrame) -> list[str]:
    """Pooled effect per component, new site per arm, between-site SD."""
    m = result.record.model
    if m.pooling == "none":
        return []
    pooled = eff[(eff.level == "pooled") & eff.component.notna()]
    new = eff[(eff.level == "new_site") & eff.arm.notna()]
    lines = ["## Pooled effect per component", ""]
    lines += _table(pooled, ["component"], m.component_labels)
    lines += ["", f"## Effect in a new {m.site_noun}, per arm", ""]
    lines += _table(new, ["arm"], {})
    het = result.heterogeneity()
    if len(het):
        lines += ["", f"## Between-{m.site_noun} SD (tau) per component, {het.attrs['scale']}",
                  "", "| component | mean | 90% HDI |", "| --- | ---: | ---: |"]  # fmt: skip
        lines += [
            f"| {m.component_labels.get(r.component, r.component)} | {_fmt(r['mean'])} | "
            f"[{_fmt(r.hdi_low)}, {_fmt(r.hdi_high)}] |"
            for _, r in het.iterrows()
        ]
    return lines


def _subgroups(result: ResultBase, eff: pd.DataFrame, contrasts: pd.DataFrame) -> list[str]:
    """Report what works for whom: pooled effects per level, differences between levels."""
    pooled = eff[(eff.level == "subgroup") & eff.site.isna() & eff.arm.notna()]
    lines = ["", "## What works for whom: pooled effect per subgroup level, per arm", ""]
    lines += _table(pooled, ["arm", "subgroup", "subgroup_level"], {})
    diff = contrasts[contrasts.site.isna() & contrasts.arm.notna()]
    lines += ["", "## Differences between levels (level minus reference), pooled", ""]
    lines += _table(diff, ["arm", "subgroup", "subgroup_level", "reference"], {})
    return lines + ["", "![subgroup plot](subgroups.png)"]


def _per_site(result: ResultBase, eff: pd.DataFrame) -> list[str]:
    """Each site's own estimate beside its pooled posterior (and pooling factor)."""
    theta = eff[eff.estimand == "theta"]
    post = {(r.site, r.arm): r for r in theta.itertuples()}
    factors = {}
    if isinstance(result, SummaryResult):
        pf = result.pooling_factors()
        factors = dict(zip(zip(pf.site, pf.arm, strict=True), pf.pooling_factor, strict=True))
    noun = result.record.model.site_noun
    head = f"| {noun} | arm | own estimate (se) | pooled | 90% HDI | P(>0) |"
    rule = "| --- | --- | ---: | ---: | ---: | ---: |"
    if factors:
        head, rule = head + " pooling factor |", rule + " ---: |"
    lines = ["", f"## Per {noun} and arm", "", head, rule]
    for row in result.record.model.rows:
        r = post.get((row.site, row.arm))
        if r is None or row.estimate is None or row.se is None:
            continue  # suppressed by disclosure control, or no own estimate
        line = (
            f"| {row.site} | {row.arm} | {_fmt(row.estimate)} ({_fmt(row.se)}) | "
            f"{_fmt(r.mean)} | [{_fmt(r.hdi_low)}, {_fmt(r.hdi_high)}] | {r.p_positive:.2f} |"
        )
        if factors:
            line += f" {factors[(row.site, row.arm)]:.2f} |"
        lines.append(line)
    return lines


def _sampling(result: ResultBase) -> list[str]:
    s, d = result.record.sampling, result.diagnostics
    rhat = max((v.rhat for v in d.variables.values()), default=float("nan"))
    ess = min((v.ess_bulk for v in d.variables.values()), default=float("nan"))
    lines = [
        "",
        "## Sampling and diagnostics",
        "",
        f"{s.chains} chains x {s.draws} draws ({s.tune} tuning), sampler {s.sampler}, "
        f"seed {s.random_seed}; divergences: {d.divergences}; max R-hat: {rhat:.3f}; "
        f"min bulk ESS: {ess:.0f}.",
    ]
    return lines + ([f"- problem: {p}" for p in d.problems] or ["No convergence problems found."])
