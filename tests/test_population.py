"""The SYNTHETIC person-level population matches the published facts."""

import numpy as np
import pandas as pd
import pytest

import pwbayes as pw
from pwbayes.data.population import COVARIATES, REGISTER_OUTCOMES


@pytest.fixture(scope="module")
def population():
    return pw.examples.simulate_participants(random_seed=3)


def test_groups_and_sizes(population):
    df = population.data
    mun = pw.published.municipalities().set_index("municipality")
    sizes = df.groupby("municipality").size()
    groningen = df[df.municipality == "Groningen"]
    assert (groningen.arm == "reference").sum() == 8724 - 890
    assert (groningen.arm != "reference").sum() == 890
    assert sizes["Utrecht"] == mun.loc["Utrecht", "participants"]
    assert sizes["Deventer"] == mun.loc["Deventer", "participants_cpb2022"]
    for site, grp in df[df.arm != "reference"].groupby("municipality"):
        arms = {a.strip() for a in mun.loc[site, "arms"].split(";")}
        assert set(grp.arm) == arms | {"control"}
    assert df.attrs["note"].startswith("SYNTHETIC")
    assert set(COVARIATES) <= set(df.columns)


def test_comparison_levels_within_sampling_error(population):
    df = population.data
    levels = pw.published.comparison_outcomes().set_index(["outcome", "municipality"])["value"]
    for site, grp in df.groupby("municipality"):
        comp = grp[grp.arm == ("reference" if site == "Groningen" else "control")]
        for outcome in REGISTER_OUTCOMES:
            p = levels[(outcome, site)] / 100
            se = np.sqrt(p * (1 - p) / len(comp))
            assert abs(comp[outcome].mean() - p) < 4 * se, (site, outcome)


def test_outcome_logic_and_characteristics(population):
    df = population.data
    assert not (df.work_gt_27h & ~df.work_gt_8h).any()
    assert (1 - df.basic_qualification.mean()) == pytest.approx(0.6, abs=0.02)
    reference = df.arm == "reference"
    assert df.loc[reference, "wellbeing_0_10"].isna().all()
    assert df.loc[~reference, "wellbeing_0_10"].notna().all()
    assert df.loc[~reference, "wellbeing_0_10"].between(0, 10).all()


def test_default_effects_follow_published_directions(population):
    truth = population.effects
    found = pw.published.findings()
    found = found[found.direction != "unknown"]
    parser_label = {a: pw.arms.arm_label(pw.parse_arm(a)) for a in found.arm.unique()}
    merged = found.assign(arm=found.arm.map(parser_label)).merge(
        truth, left_on=["outcome", "municipality", "arm"], right_on=["outcome", "site", "arm"]
    )
    assert len(merged) == len(found)
    sign = np.where(merged.direction == "positive", 1, -1)
    assert (np.sign(merged.effect) == sign).all()


def test_additive_effects_and_size():
    pop = pw.examples.simulate_participants(random_seed=1, size=0.5, effects={"extra_hulp": 0.3})
    assert len(pop.data) == pytest.approx(11316 / 2, rel=0.01)
    comp = pop.component_effects
    eh = comp[(comp.component == "extra_hulp") & (comp.outcome == "work_gt_8h")]
    assert len(eh) == 6 and eh.effect.mean() == pytest.approx(0.3, abs=0.2)
    zia = comp[comp.component == "zelf_in_actie"]
    assert (zia.effect == 0).all()


def test_suspect_controls_bias_effects_downwards():
    plain = pw.examples.simulate_participants(random_seed=5, effects={})
    biased = pw.examples.simulate_participants(random_seed=5, effects={}, suspect_controls=True)
    for pop, expected in ((plain, 0.0), (biased, -1.0)):
        df = pop.data[pop.data.municipality == "Nijmegen"]
        treated = df[df.arm != "control"].work_gt_8h.mean()
        control = df[df.arm == "control"].work_gt_8h.mean()
        diff = treated - control
        assert (diff < -0.05) if expected < 0 else (abs(diff) < 0.12)


def test_same_seed_same_population():
    a = pw.examples.simulate_participants(random_seed=9, size=0.2).data
    b = pw.examples.simulate_participants(random_seed=9, size=0.2).data
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 0}, "size"),
        ({"effects": "made-up"}, "effects"),
        ({"effects": {"basisbaan": 0.1}}, "unknown component"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(pw.DataError, match=match):
        pw.examples.simulate_participants(random_seed=1, **kwargs)


def test_utrecht_like_heterogeneity_is_built_in_and_reported():
    effects = {"zelf_in_actie": -0.1, "extra_hulp": 0.2}
    pop = pw.examples.simulate_participants(
        random_seed=3, effects=effects, size=5, heterogeneity="utrecht", between_site_sd=0.0
    )
    sub = pop.subgroup_effects.set_index(
        ["outcome", "site", "component", "subgroup", "subgroup_level"]
    )
    key = ("work_gt_8h", "Utrecht", "extra_hulp", "basic_qualification")
    assert sub.loc[(*key, "False"), "effect"] == pytest.approx(0.2 + 1.0)
    assert sub.loc[(*key, "True"), "effect"] == pytest.approx(0.2)
    far = ("work_gt_8h", "Utrecht", "extra_hulp", "distance_to_labour_market", "large")
    assert sub.loc[far, "effect"] == pytest.approx(1.2)
    assert "SYNTHETIC" in pop.subgroup_effects.attrs["note"]
    # in the data (a large extra, so that 0.1 is > 4 standard errors at this size): the gap
    # between people without and with a basic qualification is larger in Utrecht's Extra
    # Hulp arm than in its control group (difference in differences)
    strong = pw.examples.simulate_participants(
        random_seed=3,
        effects=effects,
        size=5,
        heterogeneity={"extra_hulp": {"basic_qualification": {False: 1.5}}},
        between_site_sd=0.0,
    )
    df = strong.data[strong.data.municipality == "Utrecht"]
    rate = df.groupby(["arm", "basic_qualification"])["work_gt_8h"].mean()
    gap_arm = rate[("Extra Hulp", False)] - rate[("Extra Hulp", True)]
    gap_control = rate[("control", False)] - rate[("control", True)]
    assert gap_arm - gap_control > 0.1
    # without heterogeneity the same seed gives an empty table and the same people
    plain = pw.examples.simulate_participants(
        random_seed=3, effects=effects, size=5, between_site_sd=0.0
    )
    assert plain.subgroup_effects.empty
    pd.testing.assert_frame_equal(
        plain.data.drop(columns=list(REGISTER_OUTCOMES)),
        pop.data.drop(columns=list(REGISTER_OUTCOMES)),
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"heterogeneity": "amsterdam", "effects": {"extra_hulp": 0.2}}, "not a preset"),
        ({"heterogeneity": "utrecht"}, "needs additive effects"),
        (
            {"heterogeneity": {"extra_hulp": {"age": {30: 0.1}}}, "effects": {"extra_hulp": 0.2}},
            "'age' is not a categorical characteristic",
        ),
        (
            {"heterogeneity": {"cash": {"female": {True: 0.1}}}, "effects": {"extra_hulp": 0.2}},
            "unknown component 'cash'",
        ),
    ],
)
def test_bad_heterogeneity(kwargs, match):
    with pytest.raises(pw.DataError, match=match):
        pw.examples.simulate_participants(random_seed=1, **kwargs)
