"""Write what ``pwbayes design`` found: the table, two plots and ``report.md``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd

from .errors import SpecError
from .plots.design_assurance import plot_assurance
from .plots.design_type_m import plot_type_m

__all__ = ["best_designs", "write_design_outputs"]

_SHOWN = ["design", "estimand", "level", "name", "persons", "assurance", "p_significant",
          "p_conclusive", "type_s", "type_m", "se_unpooled", "posterior_sd",
          "half_width_90"]  # fmt: skip


def best_designs(table: pd.DataFrame, target: Mapping[str, Any], name: str, level: str):
    """Per number of arms and sites, the design with fewest persons that meets ``target``.

    ``target`` is ``{"column": "assurance", "at_least": 0.8}`` or ``{"column":
    "half_width_90", "at_most": 3.0}``.
    """
    column = target.get("column")
    bounds = [k for k in ("at_least", "at_most") if k in target]
    if column not in table.columns or len(bounds) != 1 or set(target) - {"column", *bounds}:
        raise SpecError(
            f"[output] target = {dict(target)!r}: give column = one of the table's figures "
            "('assurance', 'p_conclusive', 'half_width_90'...) and at_least = ... or "
            "at_most = ..."
        )
    if not isinstance(target[bounds[0]], int | float) or isinstance(target[bounds[0]], bool):
        raise SpecError(f"[output] target {bounds[0]} = {target[bounds[0]]!r}: give a number.")
    rows = table[(table["name"] == name) & (table["level"] == level)]
    value = float(target[bounds[0]])
    met = rows[rows[column] >= value] if bounds[0] == "at_least" else rows[rows[column] <= value]
    best = met.sort_values("persons", kind="stable").drop_duplicates(["n_arms", "sites"])
    return best, f"{column} {'>=' if bounds[0] == 'at_least' else '<='} {value:g}"


def write_design_outputs(
    table: pd.DataFrame, folder: str | Path, *, title: str, output: Mapping[str, Any]
) -> dict[str, Path]:
    """Write ``design.csv``, ``assurance.png``, ``type_m.png`` and ``report.md``.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`pwbayes.design.evaluate` or :func:`~pwbayes.design.grid`.
    folder : str or Path
        Created if missing.
    title : str
    output : mapping
        The spec's ``[output]``: ``show`` (the estimand plotted), ``level`` and ``target``.

    Returns
    -------
    dict of str to Path
    """
    if matplotlib.get_backend().lower() not in {"agg", "module://matplotlib_inline.backend_inline"}:
        matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    level = output.get("level", "site")
    if level not in set(table.level):
        raise SpecError(
            f"[output] level = {level!r}: the table's levels are {sorted(set(table.level))}."
        )
    name = output.get("show") or table.loc[table.level == level, "name"].iloc[0]
    files = {"table": folder / "design.csv"}
    out = table.copy()
    out["unit"] = table.attrs.get("unit", "")
    out.to_csv(files["table"], index=False)
    fig = plot_assurance(table, name=name, level=level)
    files["assurance"] = folder / "assurance.png"
    fig.savefig(files["assurance"], dpi=120, bbox_inches="tight")
    plt.close(fig)
    if table.type_m.notna().any():
        fig = plot_type_m(table[table.level == table.level.iloc[0]], level="site")
        files["type_m"] = folder / "type_m.png"
        fig.savefig(files["type_m"], dpi=120, bbox_inches="tight")
        plt.close(fig)
    files["report"] = folder / "report.md"
    files["report"].write_text(_report(table, title, name, level, output), encoding="utf-8")
    return files


def _report(table: pd.DataFrame, title: str, name: str, level: str, output) -> str:
    a = table.attrs
    lines = [f"# {title}", "", f"- Effects in {a.get('unit', '?')}.",
             f"- Design prior (what the effects may be): {a.get('design_prior', '?')}.",
             f"- Analysis prior (what the new data are pooled with): "
             f"{a.get('analysis_prior', '?')}.",
             f"- Decisions: {a.get('rules', '?')}.", ""]  # fmt: skip
    if a.get("weak_tau"):
        lines += [f"- The between-site SD of {', '.join(a['weak_tau'])} rests on its prior "
                  "(few sites): designs for new municipalities inherit that.", ""]  # fmt: skip
    if "target" in output:
        best, rule = best_designs(table, output["target"], name, level)
        lines += [f"## Smallest designs with {rule} ({name}, {level})", ""]
        if best.empty:
            lines += ["No design in the table meets it.", ""]
        for _, r in best.iterrows():
            lines.append(f"- {r['design']}: {r['persons']} persons")
        lines.append("")
    shown = table[(table["name"] == name) & (table["level"] == level)]
    lines += [f"## {name} ({level})", "", _markdown(shown[_SHOWN].round(3)), "",
              "![assurance](assurance.png)", ""]  # fmt: skip
    if (table.estimand == "contrast").any():
        contrast = table[table.estimand == "contrast"]
        lines += ["## Subgroup differences", "", _markdown(contrast[_SHOWN].round(3)), ""]
    lines += ["Columns: `assurance` = P(significant in the true direction) under the analysis "
              "named; `p_conclusive` = P(posterior P(effect > 0) > 0.95 or < 0.05) after "
              "pooling; `type_s` = P(wrong sign | significant); `type_m` = exaggeration of a "
              "significant estimate; `half_width_90` = half the 90% interval after pooling. "
              "All of them in `design.csv`.", ""]  # fmt: skip
    return "\n".join(lines)


def _markdown(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(df.columns) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])
