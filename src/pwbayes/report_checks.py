"""The model checks in a report: how much the priors decide, and each site left out.

Made from :class:`~pwbayes.checks.sensitivity.Sensitivity` and
:class:`~pwbayes.checks.loo.LooSites` (summary model: site x arm estimates, no persons),
written beside the report by :func:`pwbayes.report.write_outputs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks.loo import LooSites
    from .checks.ppc import PredictiveCheck
    from .checks.sensitivity import Sensitivity

__all__ = [
    "loo_lines",
    "predictive_lines",
    "save_figure",
    "sensitivity_lines",
    "write_check_files",
]


def write_check_files(
    folder: Path,
    sensitivity: Sensitivity | None,
    loo: LooSites | None,
    predictive: PredictiveCheck | None = None,
) -> dict[str, Path]:
    """Write the checks' tables (CSV) and figures (PNG) into ``folder``."""
    out: dict[str, Path] = {}
    if predictive is not None:
        out["predictive"] = folder / "predictive_check.csv"
        _with_note(predictive.rows, predictive.note).to_csv(out["predictive"], index=False)
        out["predictive_plot"] = folder / "predictive_check.png"
        save_figure(predictive.plot(), out["predictive_plot"])
    if sensitivity is not None:
        out["sensitivity"] = folder / "prior_sensitivity.csv"
        _with_note(sensitivity.table, sensitivity.note).to_csv(out["sensitivity"], index=False)
        out["power_scaling"] = folder / "power_scaling.csv"
        sensitivity.psens.to_csv(out["power_scaling"], index=False)
        out["sensitivity_plot"] = folder / "prior_sensitivity.png"
        save_figure(sensitivity.plot(), out["sensitivity_plot"])
    if loo is not None:
        out["loo"] = folder / "loo_sites.csv"
        _with_note(loo.rows, loo.note).to_csv(out["loo"], index=False)
        out["loo_plot"] = folder / "loo_sites.png"
        save_figure(loo.plot(), out["loo_plot"])
    return out


def save_figure(fig, path: Path) -> None:
    """Write a figure as PNG (110 dpi, as every figure of a report) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


def _with_note(table, note):
    out = table.copy()
    if note:
        out["note"] = note
    return out


def sensitivity_lines(sens: Sensitivity) -> list[str]:
    """Return the report's section "How much do the priors decide"."""
    table = sens.table[sens.table.estimand == "mu"]
    priors = table.drop_duplicates("prior")[["prior", "tau_prior", "source"]]
    lines = [
        "",
        "## How much do the priors decide",
        "",
        sens.line(),
        "",
        "Pooled effect per component (mean and 90% HDI, " + sens.unit + ") under each prior "
        "for the between-site SD tau; *shift* is the move of the mean in posterior SDs of "
        "the fitted one.",
        "",
        "| prior for tau | source | "
        + " | ".join(sens.labels.get(c, c) for c in table.component.unique())
        + " |",
        "| --- | --- |" + " ---: |" * table.component.nunique(),
    ]
    for p in priors.itertuples():
        cells = []
        for r in table[table.prior == p.prior].itertuples():
            cells.append(f"{r.mean:+.1f} [{r.hdi_low:+.1f}, {r.hdi_high:+.1f}] ({r.shift:+.2f})")
        lines.append(f"| {p.prior}: `{p.tau_prior}` | {p.source} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"The calibrated priors take a typical effect of {sens.typical:.2f} {sens.unit} (the "
        "size of the pooled effects) as their unit. Power-scaling (Kallioinen et al. 2024; "
        "`power_scaling.csv`): a prior sensitivity of 0.05 or more means the prior matters; "
        "with a likelihood sensitivity below 0.05 the data say little.",
        "",
        "![pooled effects under each prior](prior_sensitivity.png)",
    ]
    return lines


def loo_lines(loo: LooSites, noun: str) -> list[str]:
    """Return the report's section on leaving each site out."""
    sites = loo.sites
    lines = [
        "",
        f"## Leaving each {noun} out",
        "",
        loo.line(),
        "",
        f"| {noun} | rows | log predictive density | all inside |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {r.site} | {r.rows} | {r.lpd:.2f} | {'yes' if r.inside else 'no'} |"
        for r in sites.itertuples()
    ]
    lines += ["", "![each site left out](loo_sites.png)"]
    return lines


def predictive_lines(check: PredictiveCheck) -> list[str]:
    """Return the report's section on the posterior predictive check."""
    lines = ["", "## Does the model reproduce the estimates", "", check.line(), "",
             "| statistic | observed | replicated (mean) | p-value |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    lines += [
        f"| {r.statistic} | {r.observed:.2f} | {r.replicated_mean:.2f} | {r.p_value:.2f} |"
        for r in check.statistics.itertuples()
    ]
    return lines + ["", "![posterior predictive check](predictive_check.png)"]
