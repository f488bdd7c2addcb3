"""Write a fitted result to a folder: effects table (CSV), forest plot (PNG), report (Markdown).

Everything written comes from the result, which holds only what passed disclosure control
(:mod:`pwbayes.postprocess.disclosure`); the report says at its top what was suppressed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

from .results import ResultBase, SummaryResult

__all__ = ["write_outputs"]


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def write_outputs(
    result: ResultBase,
    folder: str | Path,
    *,
    title: str | None = None,
    save_posterior: bool = True,
) -> dict[str, Path]:
    """Write ``effects.csv``, ``forest.png``, ``report.md`` (and ``result.nc``) to ``folder``.

    Parameters
    ----------
    result : SummaryResult or PersonResult
    folder : str or Path
        Created if missing; existing files of the same names are replaced.
    title : str, optional
        Heading of the report and plot.
    save_posterior : bool
        Also save the posterior and its record (``result.nc``).

    Returns
    -------
    dict of str to Path
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "effects": folder / "effects.csv",
        "forest": folder / "forest.png",
        "report": folder / "report.md",
    }
    eff = result.effects()
    eff.to_csv(out["effects"], index=False)
    if matplotlib.get_backend().lower() not in {"agg", "module://matplotlib_inline.backend_inline"}:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = result.plot_forest(title=title)
    fig.savefig(out["forest"], dpi=110)
    plt.close(fig)
    if save_posterior:
        out["posterior"] = result.save(folder / "result.nc")
    lines = [f"# {title or 'pwbayes: pooled effects'}", ""]
    lines += _header(result) + _pooled(result, eff) + _per_site(result, eff)
    lines += ["", "![forest plot](forest.png)", "", "## Priors", ""]
    lines += [f"- `{k} ~ {v}`" for k, v in result.priors.items()]
    lines += _sampling(result)
    out["report"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _header(result: ResultBase) -> list[str]:
    """Caption, disclosure control, what was pooled, suspect rows."""
    m = result.record.model
    lines = [f"> **{result.note}.**", ""] if result.note else []
    disclosure = result.record.disclosure
    if disclosure is not None:
        lines += [
            f"Disclosure control: no figure rests on fewer than {disclosure.min_cell} persons.",
            "",
        ]
        lines += [f"- {note}" for note in disclosure.suppressed] or ["- nothing suppressed"]
        lines.append("")
    lines += [
        f"Pooling: **{m.pooling}**; {len(m.rows)} site x arm estimates from {len(m.sites)} "
        f"sites ({', '.join(m.sites)}). Effects are in {m.scale}; intervals are 90% "
        "highest-density intervals, as in the published figures.",
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


def _table(eff: pd.DataFrame, level: str, key: str, labels: dict[str, str]) -> list[str]:
    sub = eff[(eff.level == level) & eff[key].notna()] if len(eff) else eff
    lines = [f"| {key} | mean | 90% HDI | P(>0) |", "| --- | ---: | ---: | ---: |"]
    for _, r in sub.iterrows():
        lines.append(
            f"| {labels.get(r[key], r[key])} | {_fmt(r['mean'])} | "
            f"[{_fmt(r['hdi_low'])}, {_fmt(r['hdi_high'])}] | {r['p_positive']:.2f} |"
        )
    return lines


def _pooled(result: ResultBase, eff: pd.DataFrame) -> list[str]:
    """Pooled effect per component, new site per arm, between-site SD."""
    m = result.record.model
    if m.pooling == "none":
        return []
    lines = ["## Pooled effect per component", ""]
    lines += _table(eff, "pooled", "component", m.component_labels)
    lines += ["", "## Effect in a new municipality, per arm", ""]
    lines += _table(eff, "new_site", "arm", {})
    het = result.heterogeneity()
    if len(het):
        scale = "" if m.kind == "SummaryModel" else f", {result._scale_name('model')}"
        lines += ["", f"## Between-site SD (tau) per component{scale}", "",
                  "| component | mean | 90% HDI |", "| --- | ---: | ---: |"]  # fmt: skip
        lines += [
            f"| {m.component_labels.get(r.component, r.component)} | {_fmt(r['mean'])} | "
            f"[{_fmt(r.hdi_low)}, {_fmt(r.hdi_high)}] |"
            for _, r in het.iterrows()
        ]
    return lines


def _per_site(result: ResultBase, eff: pd.DataFrame) -> list[str]:
    """Each site's own estimate beside its pooled posterior (and pooling factor)."""
    theta = eff[eff.estimand == "theta"] if len(eff) else eff
    post = {(r.site, r.arm): r for r in theta.itertuples()}
    factors = {}
    if isinstance(result, SummaryResult):
        pf = result.pooling_factors()
        factors = dict(zip(zip(pf.site, pf.arm, strict=True), pf.pooling_factor, strict=True))
    head = "| site | arm | own estimate (se) | pooled | 90% HDI | P(>0) |"
    rule = "| --- | --- | ---: | ---: | ---: | ---: |"
    if factors:
        head, rule = head + " pooling factor |", rule + " ---: |"
    lines = ["", "## Per site and arm", "", head, rule]
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
