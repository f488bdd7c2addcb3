"""Unpooled subgroup estimates (the published method within each level) and their z-tests."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pwbayes as pw

COMMON = {"site": "municipality", "arm": "arm", "comparison": {"Groningen": "reference"}}


@pytest.fixture(scope="module")
def strong():
    """Utrecht's Extra Hulp works much better without a basic qualification (+1.5 log-odds)."""
    return pw.examples.simulate_participants(
        random_seed=3,
        effects={"extra_hulp": 0.2},
        size=5,
        heterogeneity={"extra_hulp": {"basic_qualification": {False: 1.5}}},
        between_site_sd=0.0,
    ).data


def test_each_level_is_the_published_model_on_that_level(strong):
    before = strong.copy(deep=True)
    est = pw.subgroup_estimates(
        strong, outcome="work_gt_8h", subgroup="basic_qualification", covariates=["age"], **COMMON
    )
    pd.testing.assert_frame_equal(strong, before)
    assert (
        set(est["subgroup_level"]) == {"False", "True"}
        and (est["subgroup"] == "basic_qualification").all()
    )
    level_false = strong[~strong["basic_qualification"]]
    direct = pw.site_estimates(level_false, outcome="work_gt_8h", covariates=["age"], **COMMON)
    mine = (
        est[est["subgroup_level"] == "False"]
        .drop(columns=["subgroup", "subgroup_level"])
        .reset_index(drop=True)
    )
    # counts are nullable integers here (blank beside a small level)
    pd.testing.assert_frame_equal(
        mine, direct[mine.columns].reset_index(drop=True), check_dtype=False
    )
    assert est.attrs["suppressed"] == [] and "SYNTHETIC" in est.attrs["note"]


def test_built_in_difference_is_found_and_tested(strong):
    est = pw.subgroup_estimates(
        strong, outcome="work_gt_8h", subgroup="basic_qualification", **COMMON
    )
    diff = pw.subgroup_differences(est, reference="True")
    row = diff[(diff["site"] == "Utrecht") & (diff["arm"] == "Extra Hulp")].iloc[0]
    assert row["subgroup_level"] == "False" and row["reference"] == "True"
    assert row["difference"] > 10 and row["significant"]  # percentage points
    # the formula, by hand
    e = est.set_index(["site", "arm", "subgroup_level"])
    a, b = e.loc[("Utrecht", "Extra Hulp", "False")], e.loc[("Utrecht", "Extra Hulp", "True")]
    assert row["se"] == pytest.approx(np.hypot(a["se"], b["se"]))
    z = (a["estimate"] - b["estimate"]) / row["se"]
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_small_cells_are_suppressed_and_listed():
    pop = pw.examples.simulate_participants(random_seed=1, size=0.3).data
    # one cell of 10+ persons has no variation in its level: no SE, said once, left out
    with pytest.warns(UserWarning, match=r"No standard error for Utrecht: Zelf in Actie \(within"):
        est = pw.subgroup_estimates(
            pop, outcome="work_gt_8h", subgroup="distance_to_labour_market", **COMMON
        )
    assert est.attrs["min_cell"] == 10 and est.attrs["suppressed"]
    assert (est["n_arm"].dropna() >= 10).all() and (est["n_comparison"].dropna() >= 10).all()
    assert all("distance_to_labour_market=" in s for s in est.attrs["suppressed"])
    # every cell of 9 or fewer is among the suppressed, and none of them is reported
    counts = pop.groupby(["municipality", "arm", "distance_to_labour_market"]).size()
    tiny = counts[(counts < 10) & (counts.index.get_level_values("arm") != "reference")]
    for (site, arm, level), _ in tiny.items():
        if arm == "control" or (site == "Groningen"):
            continue  # whole site dropped / not a Groningen register arm
        label = f"site={site}, arm={arm}, distance_to_labour_market={level}"
        assert f"suppressed (fewer than 10 persons): {label}" in est.attrs["suppressed"], label
    bigger = pw.subgroup_estimates(
        pop, outcome="work_gt_8h", subgroup="distance_to_labour_market", min_cell=25, **COMMON
    )
    assert len(bigger) < len(est) and (bigger["n_arm"].dropna() >= 25).all()
    with pytest.raises(pw.DataError, match="switch disclosure control off"):
        pw.subgroup_estimates(pop, outcome="work_gt_8h", subgroup="female", min_cell=0, **COMMON)


def test_bad_subgroup_arguments(strong):
    with pytest.raises(pw.DataError, match="not found: subgroup='education'"):
        pw.subgroup_estimates(strong, outcome="work_gt_8h", subgroup="education", **COMMON)
    with pytest.raises(pw.DataError, match="did you mean 'basic_qualification'"):
        pw.subgroup_estimates(strong, outcome="work_gt_8h", subgroup="Basic_qualificaton", **COMMON)
    with pytest.raises(pw.DataError, match="both the subgroup and a covariate"):
        pw.subgroup_estimates(
            strong,
            outcome="work_gt_8h",
            subgroup="female",
            covariates=["female", "age"],
            **COMMON,
        )
    holes = strong.assign(female=strong["female"].where(strong.index % 50 != 0))
    with pytest.raises(pw.DataError, match="missing value"):
        pw.subgroup_estimates(holes, outcome="work_gt_8h", subgroup="female", **COMMON)
    with pytest.warns(UserWarning, match="dropped .* missing 'female'"):
        pw.subgroup_estimates(
            holes, outcome="work_gt_8h", subgroup="female", missing="drop", **COMMON
        )
    est = pw.subgroup_estimates(strong, outcome="work_gt_8h", subgroup="female", **COMMON)
    with pytest.raises(pw.DataError, match="reference='maybe' is not a level"):
        pw.subgroup_differences(est, reference="maybe")


def test_numeric_subgroup_is_binned_by_default_or_as_asked(strong):
    est = pw.subgroup_estimates(strong, outcome="work_gt_8h", subgroup="age", **COMMON)
    assert len(est.attrs["levels"]) == 4  # quartiles of age
    assert set(est["subgroup_level"]) <= set(est.attrs["levels"])
    assert all(level.startswith("[") for level in est.attrs["levels"])
    edges = pw.subgroup_estimates(
        strong, outcome="work_gt_8h", subgroup="age", bins=[18, 40, 67], **COMMON
    )
    assert edges.attrs["levels"] == ["[18, 40)", "[40, 67)"]
    assert "age" in strong.columns and strong["age"].dtype.kind == "i"  # caller's frame intact
    with pytest.raises(pw.DataError, match="'female' is not numeric"):
        pw.subgroup_estimates(strong, outcome="work_gt_8h", subgroup="female", bins=3, **COMMON)


def test_binned_levels_keep_their_numeric_order(strong):
    est = pw.subgroup_estimates(
        strong,
        outcome="work_gt_8h",
        subgroup="benefit_duration_years",
        bins=[0.5, 2, 10, 30],
        **COMMON,
    )
    assert est.attrs["levels"] == ["[0.5, 2)", "[2, 10)", "[10, 30)"]  # not text order
    diff = pw.subgroup_differences(est)
    assert (diff["reference"] == "[0.5, 2)").all()
    assert set(diff["subgroup_level"]) == {"[2, 10)", "[10, 30)"}


def test_counts_beside_a_small_level_are_blank():
    """Secondary suppression: the other level's count minus the total would be the small one."""
    pop = pw.examples.simulate_participants(random_seed=1, size=0.3).data
    cell = (pop.municipality == "Utrecht") & (pop.arm == "Extra Hulp")
    few = pop.index[cell & pop.basic_qualification][:7]
    data = pop[~(cell & pop.basic_qualification) | pop.index.isin(few)]
    est = pw.subgroup_estimates(data, outcome="work_gt_8h", subgroup="basic_qualification",
                                **COMMON)  # fmt: skip
    other = est[(est.site == "Utrecht") & (est.arm == "Extra Hulp")]
    assert list(other.subgroup_level) == ["False"]  # the level of 7 is suppressed
    assert other.n_arm.isna().all() and other.n_comparison.notna().all()
    total = pw.site_estimates(data, outcome="work_gt_8h", **COMMON)
    assert total[(total.site == "Utrecht") & (total.arm == "Extra Hulp")].n_arm.item() > 10
    rest = est[(est.site == "Wageningen") & (est.arm == "Extra Hulp")]
    assert rest.n_arm.notna().all()  # other cells keep their counts
