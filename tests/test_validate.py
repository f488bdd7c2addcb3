import numpy as np
import pandas as pd
import pytest
from helpers import COLUMNS

import pwbayes as pw


def _model(df, **kw):
    return pw.SummaryModel(df, **{**COLUMNS, **kw})


def test_caller_data_unchanged(example_data):
    before = example_data.copy(deep=True)
    _model(example_data, suspect=["Tilburg"], suspect_action="exclude")
    pd.testing.assert_frame_equal(example_data, before)


def test_missing_column_named(example_data):
    with pytest.raises(pw.DataError, match=r"se='stderr'.*columns") as err:
        _model(example_data, se="stderr")
    assert "municipality" in str(err.value)


@pytest.mark.parametrize("bad", ["abc", np.nan, np.inf, None])
def test_non_finite_estimate(example_data, bad):
    df = example_data.astype({"estimate": object})
    df.loc[3, "estimate"] = bad
    with pytest.raises(pw.DataError) as err:
        _model(df)
    msg = str(err.value)
    assert "'estimate'" in msg and "Tilburg" in msg and "1 row(s)" in msg


@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_se_not_positive(example_data, bad):
    df = example_data.copy()
    df.loc[0, "se"] = bad
    with pytest.raises(pw.DataError, match=r"'se'.*> 0.*Deventer"):
        _model(df)


def test_duplicated_site_arm(example_data):
    df = pd.concat([example_data, example_data.iloc[[0]]], ignore_index=True)
    with pytest.raises(pw.DataError, match="Duplicated site x arm.*Deventer: Zelf in Actie"):
        _model(df)


def test_duplicates_detected_across_label_spellings(example_data):
    extra = example_data.iloc[[7]].copy()
    extra["arm"] = "zelf_in_actie"  # Utrecht's "Zelf in Actie" again, in snake_case
    with pytest.raises(pw.DataError, match="Duplicated"):
        _model(pd.concat([example_data, extra], ignore_index=True))


def test_all_outcomes_need_selecting():
    with pytest.raises(pw.DataError, match="select one"):
        _model(pw.examples.summary_effects(outcome=None))


def test_arm_with_no_components(example_data):
    df = example_data.copy()
    df.loc[0, "arm"] = "control"
    with pytest.raises(pw.ArmError, match="Column 'arm'.*no components"):
        _model(df)


def test_unknown_component(example_data):
    df = example_data.copy()
    df.loc[0, "arm"] = "Zelf in Actie + Jobcoach"
    with pytest.raises(pw.ArmError, match="Column 'arm'.*'Jobcoach'.*Known components"):
        _model(df)


def test_single_row(example_data):
    with pytest.raises(pw.DataError, match="at least 2 rows"):
        _model(example_data.iloc[[0]])


def test_single_row_after_exclusion(example_data):
    df = example_data[example_data.municipality.isin(["Tilburg", "Utrecht"])].iloc[:3]
    with pytest.raises(pw.DataError, match="after 2 excluded"):
        _model(df, suspect=["Tilburg"], suspect_action="exclude")


def test_unknown_suspect_site(example_data):
    with pytest.raises(pw.DataError, match="'Amsterdam'.*Deventer"):
        _model(example_data, suspect=["Amsterdam"])


def test_suspect_column(example_data):
    model = _model(example_data, suspect="suspect_comparison", suspect_action="exclude")
    assert set(model.data.excluded["site"]) == {"Nijmegen", "Tilburg"}
    assert "Tilburg" not in model.data.sites


def test_bad_suspect_action(example_data):
    with pytest.raises(pw.DataError, match="suspect_action"):
        _model(example_data, suspect=["Tilburg"], suspect_action="drop")


def test_bad_pooling(example_data):
    with pytest.raises(pw.DataError, match="pooling='some'"):
        _model(example_data, pooling="some")


def test_not_a_dataframe():
    with pytest.raises(pw.DataError, match="DataFrame"):
        pw.SummaryModel([1, 2], site="a", estimate="b", se="c")


def test_missing_site(example_data):
    df = example_data.copy()
    df.loc[2, "municipality"] = None
    with pytest.raises(pw.DataError, match="'municipality'.*missing"):
        _model(df)
