"""Ordinary inputs that used to give a wrong model without a word, or crash.

Each case asserts the message (the column, the values, what is allowed) and that the
caller's frame is unchanged.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import COLUMNS, fake_result

import pwbayes as pw
from pwbayes.errors import quote_values

PERSON = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
GRONINGEN_REF = {"Groningen": "reference"}


@pytest.fixture(scope="module")
def people():
    return pw.examples.simulate_participants(random_seed=4, size=0.2).data


def _unchanged(make, df, *args, **kwargs):
    """Run ``make(df, ...)`` and check that ``df`` is as it was."""
    before = df.copy(deep=True)
    try:
        return make(df, *args, **kwargs)
    finally:
        pd.testing.assert_frame_equal(df, before)


def _summary(df, **kw):
    return pw.SummaryModel(df, **{**COLUMNS, **kw})


def _person(df, **kw):
    return pw.PersonModel(df, **{**PERSON, "comparison": GRONINGEN_REF, **kw})


# ---------------------------------------------------------------------------- site labels
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"Utrecht": ["Utrecht", "Utrecht ", " utrecht"]}, "differ only by case or spaces"),
        ({"Utrecht": ["", "", ""]}, "empty label"),
        ({"Utrecht": [5, "5", 5.0]}, "mixes numbers"),
    ],
    ids=["case-and-spaces", "empty", "numbers-and-text"],
)
def test_site_labels_that_would_split_or_merge_sites(example_data, labels, message):
    df = example_data.astype({"municipality": object})
    for site, new in labels.items():
        rows = df.index[df.municipality == site]
        df.loc[rows, "municipality"] = pd.Series(new, index=rows, dtype=object)
    with pytest.raises(pw.DataError, match=f"'municipality'.*{message}"):
        _unchanged(_summary, df)


def test_whole_numbers_are_one_site_however_stored(people):
    codes = {s: i for i, s in enumerate(sorted(people.municipality.unique()), start=11)}
    as_int = people.assign(municipality=people.municipality.map(codes))
    as_float = as_int.astype({"municipality": float})
    ref = {codes["Groningen"]: "reference"}
    for df in (as_int, as_float):
        model = _unchanged(_person, df, comparison=ref)
        assert len(model.data.sites) == 6
        assert model.data.comparison[str(codes["Groningen"])] == "reference"  # key 16 matched


# ---------------------------------------------------------------------------- roles and types
def test_one_column_in_two_roles(example_data):
    with pytest.raises(pw.DataError, match="'se' is given as both estimate and se"):
        _unchanged(_summary, example_data, estimate="se")


def test_boolean_estimate_column(example_data):
    df = example_data.assign(significant=example_data.published_significant_90 == "yes")
    with pytest.raises(pw.DataError, match="'significant' holds True/False"):
        _unchanged(_summary, df, estimate="significant")


def test_numeric_covariate_stored_as_text(people):
    df = people.assign(age=people.age.astype(str))
    with pytest.raises(pw.DataError, match=r"'age' \(covariate\) holds numbers stored as text"):
        _unchanged(_person, df, covariates=["age"])


def test_covariates_as_one_string(people):
    with pytest.raises(pw.DataError, match=r"covariates='age' is one string.*\['age'\]"):
        _unchanged(_person, people, covariates="age")


@pytest.mark.parametrize(
    ("column", "message"),
    [("date", "holds dates"), ("infinite", "has 1 infinite value"), ("mixed", "mixes numbers")],
)
def test_covariates_that_cannot_be_adjusted_for(people, column, message):
    df = people.assign(
        date=pd.Timestamp("2017-01-01") + pd.to_timedelta(np.arange(len(people)) % 300, "D"),
        infinite=np.where(np.arange(len(people)) == 5, np.inf, people.age),
        mixed=np.where(np.arange(len(people)) < 50, 1, people.household_type).astype(object),
    )
    with pytest.raises(pw.DataError, match=f"'{column}' \\(covariate\\) {message}"):
        _unchanged(_person, df, covariates=[column])


def test_many_levels_warn_once(people):
    df = people.assign(code=[f"c{i % 40}" for i in range(len(people))])
    with pytest.warns(UserWarning, match="'code' .* has 40 levels.*39 indicator columns"):
        _unchanged(_person, df, covariates=["code"])


def test_pyarrow_frames_give_the_numpy_model(people):
    arrow = people.convert_dtypes(dtype_backend="pyarrow")
    a = _unchanged(_person, arrow, covariates=["age", "female"])
    b = _person(people, covariates=["age", "female"])
    np.testing.assert_array_equal(a.data.y, b.data.y)
    np.testing.assert_allclose(a.data.x, b.data.x)
    assert a.structure_key() == b.structure_key()


@pytest.mark.parametrize("names", [("Controle", "Referentiegroep"), ("Controlegroep", "reference")])
def test_dutch_comparison_labels_are_the_english_ones(people, names):
    control, reference = names
    df = people.assign(arm=people.arm.replace({"control": control, "reference": reference}))
    model = _unchanged(pw.PersonModel, df, **PERSON, comparison={"Groningen": "reference"})
    assert len(model.data.sites) == 6 and model.data.dropped  # Groningen's control left out
    plain = _unchanged(pw.PersonModel, df, **PERSON)  # no comparison=: 'Controle' is control
    assert plain.data.comparison["Groningen"] == "control"


# ---------------------------------------------------------------------------- frames and names
def test_frames_without_rows_or_with_a_name_twice(example_data, people):
    with pytest.raises(pw.DataError, match="no rows: one row per site x arm"):
        _unchanged(_summary, example_data.iloc[0:0])
    with pytest.raises(pw.DataError, match="no rows: one row per person"):
        _unchanged(_person, people.iloc[0:0])
    for df, make in ((example_data, _summary), (people, _person)):
        twice = pd.concat([df, df[["arm"]]], axis=1)
        with pytest.raises(pw.DataError, match=r"\['arm'\] appear more than once"):
            _unchanged(make, twice)


def test_a_near_miss_column_name_is_suggested(example_data, people):
    with pytest.raises(pw.DataError, match="site='Municipality' \\(did you mean 'municipality'"):
        _unchanged(_summary, example_data, site="Municipality")
    with pytest.raises(pw.DataError, match="outcome='work_gt8h' \\(did you mean 'work_gt_8h'"):
        _unchanged(_person, people, outcome="work_gt8h")


@pytest.mark.parametrize(
    ("values", "hint"),
    [
        ({0: "0", 1: "1"}, "0/1 stored as text"),
        ({0: "nee", 1: "ja"}, r"str\.lower\(\)\.map\(\{'ja': 1, 'nee': 0\}\)"),
        ({0: "No ", 1: "Yes"}, r"str\.strip\(\)\.str\.lower\(\)\.map\(\{'no': 0, 'yes': 1\}\)"),
        ({0: "False", 1: "True"}, r"map\(\{'false': 0, 'true': 1\}\)"),
        ({0: "low", 1: "high"}, "family='normal' for a score"),
    ],
    ids=["text-0-1", "ja-nee", "yes-no-spaces", "true-false-text", "other-words"],
)
def test_a_yes_no_outcome_that_is_not_0_1(people, values, hint):
    df = people.assign(work_gt_8h=people.work_gt_8h.astype(int).map(values))
    with pytest.raises(pw.DataError, match=f"'work_gt_8h' \\(outcome\\) must be 0/1.*{hint}"):
        _unchanged(_person, df)


def test_the_suggested_yes_no_mapping_works(people):
    """The code in the hint, run as given, gives the 0/1 outcome back."""
    df = people.assign(work_gt_8h=people.work_gt_8h.astype(int).map({0: " Nee", 1: "JA "}))
    with pytest.raises(pw.DataError) as caught:
        _person(df)
    code = str(caught.value).split("Code them as 0/1: ")[1].rstrip(".")
    exec(code, {"df": df, "pd": pd})  # noqa: S102 - the message's own advice
    np.testing.assert_array_equal(df.work_gt_8h, people.work_gt_8h.astype(int))


def test_a_score_written_with_a_decimal_comma(people):
    scored = people.dropna(subset=["wellbeing_0_10"])  # measured in a subsample
    comma = scored.wellbeing_0_10.map(lambda v: f"{v:.1f}".replace(".", ","))
    df = scored.assign(wellbeing_0_10=comma)
    message = r"'wellbeing_0_10' \(outcome\).*decimal comma.*decimal=','"
    with pytest.raises(pw.DataError, match=message):
        _unchanged(pw.PersonModel, df, **{**PERSON, "outcome": "wellbeing_0_10"}, family="normal")


def test_columns_named_by_numbers(people):
    """A file read without a header has columns 0, 1, ...: the message says how to name them."""
    message = r"must be a list of column names \(text\).*astype\(str\)"
    with pytest.raises(pw.DataError, match=message):
        _unchanged(_person, people, covariates=[3])


def test_numpy_values_in_messages_read_as_plain_values():
    assert quote_values([np.int64(7), np.float64(2.5), "a"]) == "7, 2.5, 'a'"


def test_subgroup_bins_without_the_subgroup(people):
    with pytest.raises(pw.DataError, match=r"subgroup_bins names column\(s\) \['age'\]"):
        _unchanged(_person, people, subgroup_bins={"age": 3})


# ---------------------------------------------------------------------------- few sites, spread
def test_one_site_cannot_learn_how_sites_differ(example_data):
    utrecht = example_data[example_data.municipality == "Utrecht"]
    with pytest.raises(pw.DataError, match="one municipality.*pooling='none'.*tau"):
        _unchanged(_summary, utrecht)
    assert _summary(utrecht, pooling="none").weak_tau == {}
    given = _summary(utrecht, priors={"tau": pw.Prior("HalfNormal", sigma=2)})
    assert "seen in one municipality only" in given.weak_tau["extra_hulp"]


def test_few_sites_say_that_tau_rests_on_the_prior(example_data):
    model = _summary(example_data)
    assert set(model.weak_tau) >= {"werkbonus", "keuze", "app"}  # each run in one site
    assert "tau[werkbonus]: seen in one municipality only" in repr(model)
    eff = fake_result(model).effects()
    assert "keuze" in eff.attrs["tau_rests_on_prior"]
    two = example_data[example_data.municipality.isin(["Utrecht", "Tilburg"])]
    text = " ".join(_summary(two).weak_tau.values())
    assert "in 2 municipalities only" in text and "municipalitys" not in text


def test_standard_errors_spanning_orders_of_magnitude(example_data):
    df = example_data.copy()
    df.loc[3, "se"] = 1e-9
    with pytest.warns(UserWarning, match="'se' .* spans a factor of .*Tilburg"):
        _unchanged(_summary, df)


# ---------------------------------------------------------------------------- fit, results
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"tune": 0}, "tune=0 must be a whole number >= 1"),
        ({"draws": 2.5}, "draws=2.5 must be a whole number"),
        ({"chains": "4"}, "chains='4' must be a whole number"),
        ({"target_accept": 1.2}, "target_accept=1.2 must be a number between 0 and 1"),
        ({"random_seed": -1}, "random_seed=-1 must be >= 0"),
        ({"random_seed": 1.5}, "random_seed=1.5 must be a whole number"),
        ({"sampler": "stan"}, "sampler='stan' is not allowed"),
    ],
)
def test_sampler_settings_are_checked_before_compiling(example_model, monkeypatch, settings,
                                                      message):  # fmt: skip
    import nutpie

    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda *a, **k: pytest.fail("compiled"))
    with pytest.raises(pw.DataError, match=message):
        example_model.fit(**settings)


def test_numpy_integers_and_one_chain(fitted_example):
    model = pw.SummaryModel(pw.examples.summary_effects(), **COLUMNS)  # compiled already
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(draws=np.int64(200), tune=np.int64(200), chains=np.int32(1),
                        random_seed=np.int64(3), progress=False)  # fmt: skip
    assert [w.category for w in caught] == [pw.ConvergenceWarning]  # one, no RuntimeWarning
    assert "R-hat cannot be checked with one chain" in str(caught[0].message)
    assert fit.record.sampling.chains == 1 and isinstance(fit.record.sampling.draws, int)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": float("nan")}, "threshold=nan must be a finite number"),
        ({"threshold": "2"}, "threshold='2' must be a finite number"),
        ({"hdi_prob": 90}, r"hdi_prob=90 must be between 0 and 1.*write 0.9"),
        ({"hdi_prob": 0}, "hdi_prob=0 must be between 0 and 1"),
        ({"scale": "logit"}, "scale='logit' is not allowed"),
    ],
)
def test_table_options(fake_example_result, options, message):
    with pytest.raises(pw.DataError, match=message):
        fake_example_result.effects(**options)


def test_save_and_load_paths(fake_example_result, tmp_path):
    with pytest.raises(pw.DataError, match="folder .* does not exist"):
        fake_example_result.save(tmp_path / "missing" / "fit.nc")
    path = fake_example_result.save(tmp_path / "fit.nc")
    with pytest.raises(pw.DataError, match="exists; pass overwrite=True"):
        fake_example_result.save(path)
    assert fake_example_result.save(path, overwrite=True) == path
    with pytest.raises(pw.DataError, match="is a folder"):
        fake_example_result.save(tmp_path)
    with pytest.raises(pw.RecordError, match="is a folder, not a saved result"):
        pw.load_result(tmp_path)


def test_arviz_calls_on_a_result_work(fake_example_result):
    """numpy 2.4 broke ArviZ 0.2x's mcse of the SD; the pin keeps users' calls working."""
    import arviz as az

    with warnings.catch_warnings():  # ArviZ's own call, deprecated by numpy 2.x
        warnings.filterwarnings("ignore", "Conversion of an array with ndim", DeprecationWarning)
        sd = az.mcse(fake_example_result.idata, var_names=["mu"], method="sd")
    assert np.isfinite(sd["mu"]).all()
