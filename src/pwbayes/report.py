"""Write a fitted result to a folder: effects table (CSV), forest plot (PNG), report (Markdown)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

from .results import SummaryResult

__all__ = ["write_outputs"]


def _fmt(x: float) -> str:
    return f"{x:.1f}"


def _effect_lines(eff, level: str, key: str, labels: dict[str, str]) -> list[str]:
    sub = eff[(eff.level == level) & eff[key].notna()]
    lines = [f"| {key} | mean | 90% HDI | P(>0) |", "| --- | ---: | ---: | ---: |"]
    for _, r in sub.iterrows():
        lines.append(
            f"| {labels.get(r[key], r[key])} | {_fmt(r['mean'])} | "
            f"[{_fmt(r['hdi_low'])}, {_fmt(r['hdi_high'])}] "
            f"| {r['p_positive']:.2f} |"
        )
    return lines


def write_outputs(
    result: SummaryResult,
    folder: str | Path,
    *,
    title: str | None = None,
    save_posterior: bool = True,
) -> dict[str, Path]:
    """Write ``effects.csv``, ``forest.png``, ``report.md`` (and ``result.nc``) to ``folder``.

    Parameters
    ----------
    result : SummaryResult
    folder : str or Path
        Created if missing; existing files of the same names are replaced.
    title : str, optional
        Heading of the report and plot.
    save_posterior : bool
        Also save the posterior and configuration (``result.nc``).

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
    cfg = result.config
    diag = result.diagnostics
    labels = cfg.get("component_labels", {})
    lines = [f"# {title or 'pwbayes: pooled effects'}", ""]
    if result.note:
        lines += [f"> **{result.note}.**", ""]
    lines += [
        f"Pooling: **{cfg['pooling']}**; {len(cfg['rows']['site'])} site x arm estimates from "
        f"{len(cfg['sites'])} sites ({', '.join(cfg['sites'])}). Effects are on the outcome's "
        "scale (percentage points for binary outcomes); intervals are 90% highest-density "
        "intervals, as in the published figures.",
        "",
    ]
    if cfg["suspect_rows"] or cfg["excluded_rows"]:
        what = (
            "left out"
            if cfg["suspect_action"] == "exclude"
            else "given a bias term for the comparison group"
        )
        rows = cfg["excluded_rows"] or cfg["suspect_rows"]
        lines += [f"Rows with a suspect comparison group, {what}: {', '.join(rows)}.", ""]
    if cfg["pooling"] != "none":
        lines += ["## Pooled effect per component", ""] + _effect_lines(
            eff, "pooled", "component", labels
        )
        lines += ["", "## Effect in a new municipality, per arm", ""]
        lines += _effect_lines(eff, "new_site", "arm", {})
    het = result.heterogeneity()
    if len(het):
        lines += [
            "",
            "## Between-site SD (tau) per component",
            "",
            "| component | mean | 90% HDI |",
            "| --- | ---: | ---: |",
        ]
        lines += [
            f"| {labels.get(r.component, r.component)} | {_fmt(r['mean'])} | "
            f"[{_fmt(r.hdi_low)}, {_fmt(r.hdi_high)}] |"
            for _, r in het.iterrows()
        ]
    lines += [
        "",
        "## Per site and arm",
        "",
        "| site | arm | own estimate (se) | pooled | 90% HDI | P(>0) | pooling factor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    pf = result.pooling_factors()
    site_rows = eff[eff.estimand == "theta"].reset_index(drop=True)
    for (_, p), (_, r) in zip(pf.iterrows(), site_rows.iterrows(), strict=True):
        lines.append(
            f"| {p.site} | {p.arm} | {_fmt(p.estimate)} ({_fmt(p.se)}) | {_fmt(r['mean'])} | "
            f"[{_fmt(r.hdi_low)}, {_fmt(r.hdi_high)}] | {r.p_positive:.2f} | "
            f"{p.pooling_factor:.2f} |"
        )
    lines += ["", "![forest plot](forest.png)", "", "## Priors", ""]
    lines += [f"- `{k} ~ {v}`" for k, v in result.priors.items()]
    s = cfg["sampling"]
    lines += [
        "",
        "## Sampling and diagnostics",
        "",
        f"{s['chains']} chains x {s['draws']} draws ({s['tune']} tuning), sampler {s['sampler']}, "
        f"seed {s['random_seed']}; divergences: {diag['divergences']}; max R-hat: "
        f"{max(v['rhat'] for v in diag['variables'].values()):.3f}; min bulk ESS: "
        f"{min(v['ess_bulk'] for v in diag['variables'].values()):.0f}.",
    ]
    lines += [f"- problem: {p}" for p in diag["problems"]] or ["No convergence problems found."]
    out["report"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
