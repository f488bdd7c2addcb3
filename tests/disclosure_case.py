"""A person-level data set full of small cells, and walkers over everything that leaves.

The data (SYNTHETIC, size 0.4) get, on purpose:

* a site x arm cell of 7 persons (Deventer: Keuze) and one of exactly 10 (Nijmegen: Keuze);
* an arm of a component that no other site ran, with 8 persons (Utrecht: Basisbaan), so
  that its pooled effect rests on 8 persons;
* a subgroup level of 9 persons in one cell (Utrecht, Extra Hulp, basic qualification) and
  of exactly 10 in another (Wageningen, Extra Hulp);
* a binary covariate that 4 persons have (``rare_flag``);
* 3 rows with a missing covariate, dropped.

The walkers collect every number and every text of an output (InferenceData groups,
variables, coordinates and attributes; record; tables and their attrs; files; figures) so
that a test can assert that no small-cell quantity is among them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

import pwbayes as pw
from pwbayes.arms import ArmParser
from pwbayes.data.site_estimates import estimates_from

COLS = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
SMALL_ROWS = ("Deventer: Keuze", "Utrecht: Basisbaan")
EXACT_ROW = "Nijmegen: Keuze"
SMALL_LEVEL = ("Utrecht", "Extra Hulp", "basic_qualification: True")
EXACT_LEVEL = ("Wageningen", "Extra Hulp", "basic_qualification: True")
RARE = "rare_flag"
SMALL_COUNTS = (3, 4, 7, 8, 9)


def parser() -> ArmParser:
    """The default components and one more, run in one small cell only."""
    p = ArmParser()
    p.register("basisbaan", "Basisbaan")
    return p


def people() -> pd.DataFrame:
    """The SYNTHETIC data described in the module docstring."""
    pop = pw.examples.simulate_participants(random_seed=5, size=0.4).data
    pop = pop[pop.arm != "reference"].reset_index(drop=True)
    extra = []
    for site, arm, n in (("Deventer", "Keuze", 7), ("Nijmegen", "Keuze", 10),
                         ("Utrecht", "Basisbaan", 8)):  # fmt: skip
        rows = pop[(pop.municipality == site) & (pop.arm == "control")].head(n).copy()
        extra.append(rows.assign(arm=arm, person_id=rows.person_id + 100_000))
    pop = pd.concat([pop, *extra], ignore_index=True)
    keep = pd.Series(True, index=pop.index)
    for site, n in (("Utrecht", 9), ("Wageningen", 10)):
        cell = pop.index[(pop.municipality == site) & (pop.arm == "Extra Hulp")
                         & pop.basic_qualification]  # fmt: skip
        keep[cell[n:]] = False
    pop = pop[keep].reset_index(drop=True)
    pop[RARE] = False
    pop.loc[pop.index[pop.arm == "Werken Loont"][:4], RARE] = True
    pop["age"] = pop["age"].astype(float)
    pop.loc[pop.index[pop.arm == "control"][-3:], "age"] = np.nan
    pop.attrs["note"] = "SYNTHETIC data with small cells made on purpose"
    return pop


def model(data: pd.DataFrame) -> pw.PersonModel:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Dropped fewer than 10")
        return pw.PersonModel(
            data,
            **COLS,
            covariates=["age", RARE],
            subgroups=["basic_qualification"],
            missing="drop",
            parser=parser(),
        )


def forbidden(m: pw.PersonModel) -> dict[str, float]:
    """Quantities resting on fewer than 10 persons, as the model computed them in memory."""
    out = {}
    table = estimates_from(m.data, family="bernoulli")  # the unpooled per-site method
    table = table.assign(row=table.site + ": " + table.arm)
    for label in SMALL_ROWS:
        row = table[table.row == label].iloc[0]
        out[f"estimate {label}"] = float(row.estimate)
        out[f"se {label}"] = float(row.se)
    k = m.data.covariates.index(RARE)
    out["rare mean"] = float(m.data.covariate_mean[k])
    out["rare sd"] = float(m.data.covariate_sd[k])
    out["rare share of persons"] = 4 / len(m.data.y)
    assert all(np.isfinite(v) and v != 0 for v in out.values()), out
    return out


# ---------------------------------------------------------------------------- walkers
def numbers_of(value) -> Iterator[float]:
    """Every number in a nested value (arrays, mappings, lists, text with numbers)."""
    if isinstance(value, str):
        for match in re.finditer(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", value):
            yield float(match.group())
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float | np.number):
        yield float(value)
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu":
            yield from value.astype(float).ravel()
        else:
            for v in value.ravel():
                yield from numbers_of(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from numbers_of(k)
            yield from numbers_of(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from numbers_of(v)


def texts_of(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from texts_of(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from texts_of(v)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        for v in value.ravel():
            yield from texts_of(v)


def idata_parts(idata) -> Iterator[object]:
    """Every group, variable, coordinate and attribute of an InferenceData."""
    for group in idata.groups():
        ds = idata[group]
        yield dict(ds.attrs)
        for name in list(ds.data_vars) + list(ds.coords):
            yield str(name)
            yield ds[name].values
            yield dict(ds[name].attrs)


def table_parts(df: pd.DataFrame) -> Iterator[object]:
    yield dict(df.attrs)
    yield [str(c) for c in df.columns]
    for col in df.columns:
        yield df[col].to_numpy()


def figure_parts(fig) -> Iterator[object]:
    """The data of every line, collection and text of a figure."""
    for ax in fig.axes:
        for line in ax.lines:
            yield np.asarray(line.get_xdata(), dtype=float)
        for coll in ax.collections:
            yield np.asarray(coll.get_offsets(), dtype=float)
            for path in coll.get_paths():
                yield np.asarray(path.vertices, dtype=float)
        for text in [*ax.texts, ax.title, *ax.get_yticklabels()]:
            yield text.get_text()
    for text in fig.texts:
        yield text.get_text()


def file_parts(path: Path) -> Iterator[object]:
    if path.suffix == ".nc":
        import xarray as xr

        with xr.open_datatree(path, engine="h5netcdf") as tree:
            for node in tree.subtree:
                ds = node.to_dataset()
                yield dict(ds.attrs)
                for name in list(ds.data_vars) + list(ds.coords):
                    yield str(name)
                    yield ds[name].values
                    yield dict(ds[name].attrs)
    elif path.suffix == ".csv":
        yield from table_parts(pd.read_csv(path))
    elif path.suffix in (".md", ".json", ".txt"):
        yield path.read_text()


def leaks(parts, bad: dict[str, float]) -> list[str]:
    """The forbidden quantities found among ``parts`` (relative tolerance 1e-9)."""
    values = np.array([v for part in parts for v in numbers_of(part)], dtype=float)
    values = values[np.isfinite(values)]
    found = []
    for name, v in bad.items():
        if np.any(np.abs(values - v) <= 1e-9 * abs(v)):
            found.append(name)
    return found


COUNT_WORDS = re.compile(r"\b([1-9])\s+(?:row|rows|person|persons|people|participants)\b")


def small_counts_in(parts) -> list[str]:
    """Texts that state a count of fewer than 10 rows or persons as a number."""
    return [m.group() for part in parts for t in texts_of(part) for m in COUNT_WORDS.finditer(t)]


def record_parts(record) -> Iterator[object]:
    yield json.loads(record.to_json())
