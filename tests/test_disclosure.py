"""Statistical disclosure control: a cell of 9 persons is suppressed, 10 are not."""

import numpy as np
import pandas as pd
import pytest

import pwbayes as pw
from pwbayes.data.disclosure import cell_counts, check_min_cell, small_cells, suppress


@pytest.fixture
def people():
    # Utrecht: extra_hulp has 9 persons without basic qualification, 10 with; control 30
    rows = [("Utrecht", "control", q) for q in [True] * 15 + [False] * 15]
    rows += [("Utrecht", "extra_hulp", q) for q in [True] * 10 + [False] * 9]
    rows += [("Tilburg", "control", q) for q in [True] * 12 + [False] * 12]
    rows += [("Tilburg", "zelf_in_actie", q) for q in [True] * 4 + [False] * 5]  # 9 in all
    return pd.DataFrame(rows, columns=["municipality", "arm", "basic_qualification"])


def test_counts_per_cell_and_subgroup_level(people):
    before = people.copy(deep=True)
    counts = cell_counts(people, site="municipality", arm="arm", subgroups=["basic_qualification"])
    pd.testing.assert_frame_equal(people, before)
    n = counts.set_index(["site", "arm", "subgroup", "subgroup_level"])["n"]
    assert n[("Utrecht", "extra_hulp", "", "")] == 19
    assert n[("Utrecht", "extra_hulp", "basic_qualification", "False")] == 9
    assert n[("Utrecht", "extra_hulp", "basic_qualification", "True")] == 10
    assert n.sum() == 2 * len(people)  # every person once overall, once per subgroup variable


def test_nine_suppressed_ten_kept(people):
    counts = cell_counts(people, site="municipality", arm="arm", subgroups=["basic_qualification"])
    small = small_cells(counts)
    cells = set(map(tuple, small.to_numpy()))
    assert ("Utrecht", "extra_hulp", "basic_qualification", "False") in cells
    assert ("Utrecht", "extra_hulp", "basic_qualification", "True") not in cells
    assert ("Tilburg", "zelf_in_actie", "", "") in cells  # 9 persons in the whole arm
    assert ("Utrecht", "extra_hulp", "", "") not in cells


def test_suppress_drops_rows_and_names_the_cell(people):
    counts = cell_counts(people, site="municipality", arm="arm", subgroups=["basic_qualification"])
    small = small_cells(counts)
    table = pd.DataFrame(
        {
            "level": ["site", "site", "pooled"],
            "site": ["Utrecht", "Tilburg", ""],
            "arm": ["extra_hulp", "zelf_in_actie", "zelf_in_actie"],
            "mean": [1.0, 2.0, 3.0],
        }
    )
    before = table.copy()
    kept, notes = suppress(table, small)
    pd.testing.assert_frame_equal(table, before)
    assert kept["site"].tolist() == ["Utrecht", ""]
    assert notes == ["suppressed (fewer than 10 persons): site=Tilburg, arm=zelf_in_actie"]
    # subgroup tables: the 9-person level goes, the 10-person level stays
    sub = pd.DataFrame(
        {
            "site": ["Utrecht", "Utrecht"],
            "arm": ["extra_hulp", "extra_hulp"],
            "subgroup": ["basic_qualification"] * 2,
            "subgroup_level": ["False", "True"],
            "mean": [0.1, 0.2],
        }
    )
    kept, notes = suppress(sub, small, on=["site", "arm", "subgroup", "subgroup_level"])
    assert kept["subgroup_level"].tolist() == ["True"]
    assert len(notes) == 1 and "subgroup_level=False" in notes[0] and "9" not in notes[0]


def test_threshold_is_never_silently_zero(people):
    assert check_min_cell(10) == 10 and check_min_cell(np.int64(25)) == 25
    with pytest.raises(pw.DataError, match="would switch disclosure control off"):
        check_min_cell(0)
    with pytest.raises(pw.DataError, match="whole number"):
        check_min_cell(9.5)
    with pytest.raises(pw.DataError, match="whole number"):
        check_min_cell(True)
    with pytest.warns(UserWarning, match="below CBS's rule of 10"):
        check_min_cell(5)
    counts = cell_counts(people, site="municipality", arm="arm")
    assert sorted(small_cells(counts, min_cell=20)["arm"]) == ["extra_hulp", "zelf_in_actie"]


def test_bad_columns_are_named(people):
    with pytest.raises(pw.DataError, match="'education' not found"):
        cell_counts(people, site="municipality", arm="arm", subgroups=["education"])
    small = small_cells(cell_counts(people, site="municipality", arm="arm"))
    with pytest.raises(pw.DataError, match="'component'"):
        suppress(pd.DataFrame({"site": ["Utrecht"]}), small, on=["site", "component"])
