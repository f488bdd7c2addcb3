"""Data files as researchers have them: each format written here, then read back."""

import numpy as np
import pandas as pd
import pytest

import pwbayes as pw

PERSONS = pd.DataFrame(
    {
        "gemeente": ["Utrecht", "Utrecht", "Tilburg", "Tilburg"],
        "groep": ["Controlegroep", "Extra Hulp", "Controlegroep", "Zelf in Actie"],
        "werk": [0, 1, 1, 0],
        "leeftijd": [34.5, 51.25, 28.0, 60.75],
    }
)


def _same(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(PERSONS.columns)
    assert df["gemeente"].astype(str).tolist() == PERSONS["gemeente"].tolist()
    assert df["groep"].astype(str).tolist() == PERSONS["groep"].tolist()
    np.testing.assert_allclose(df["werk"].astype(float), PERSONS["werk"])
    np.testing.assert_allclose(df["leeftijd"].astype(float), PERSONS["leeftijd"])


@pytest.mark.parametrize(
    ("separator", "decimal", "encoding", "given"),
    [
        (",", ".", "utf-8", {}),
        (";", ",", "utf-8", {"separator": ";", "decimal": ","}),  # a Dutch export
        (";", ",", "cp1252", {"decimal": ",", "encoding": "cp1252"}),  # separator detected
        ("\t", ".", "utf-8", {}),
    ],
    ids=["comma", "dutch", "dutch-cp1252-detected", "tab"],
)
def test_text_files(tmp_path, separator, decimal, encoding, given):
    data = PERSONS.assign(gemeente=PERSONS.gemeente.replace("Tilburg", "Súdwest-Fryslân"))
    suffix = ".tsv" if separator == "\t" else ".csv"
    path = tmp_path / f"persons{suffix}"
    data.to_csv(path, sep=separator, decimal=decimal, encoding=encoding, index=False)
    df = pw.read_data(path, **given)
    assert df["gemeente"].tolist()[-1] == "Súdwest-Fryslân"
    np.testing.assert_allclose(df["leeftijd"], PERSONS["leeftijd"])


def test_parquet(tmp_path):
    path = tmp_path / "persons.parquet"
    PERSONS.to_parquet(path)
    df = pw.read_data(path)
    _same(df)
    assert not any(isinstance(t, pd.ArrowDtype) for t in df.dtypes)  # numpy, not pyarrow


def test_stata_value_labels_become_categories(tmp_path):
    path = tmp_path / "persons.dta"
    coded = PERSONS.assign(groep=PERSONS.groep.astype("category"))
    coded.to_stata(path, write_index=False)
    df = pw.read_data(path)
    _same(df)
    assert isinstance(df["groep"].dtype, pd.CategoricalDtype)


def test_spss_value_labels_become_categories(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "persons.sav"
    codes = {"Controlegroep": 1, "Extra Hulp": 2, "Zelf in Actie": 3}
    coded = PERSONS.assign(groep=PERSONS.groep.map(codes))
    pyreadstat.write_sav(
        coded, str(path), variable_value_labels={"groep": {v: k for k, v in codes.items()}}
    )
    df = pw.read_data(path)
    _same(df)
    assert isinstance(df["groep"].dtype, pd.CategoricalDtype)


def test_read_data_refuses_with_the_reason(tmp_path):
    with pytest.raises(pw.DataError, match=r"'\.xlsx'.*\.csv.*\.parquet"):
        pw.read_data(tmp_path / "persons.xlsx")
    with pytest.raises(pw.DataError, match="not found"):
        pw.read_data(tmp_path / "absent.csv")
    bad = tmp_path / "latin.csv"
    bad.write_bytes("gemeente;werk\nSúdwest-Fryslân;1\n".encode("latin-1"))
    with pytest.raises(pw.DataError, match="encoding = 'latin-1'"):
        pw.read_data(bad, separator=";")
    assert pw.read_data(bad, separator=";", encoding="latin-1").gemeente[0] == "Súdwest-Fryslân"
    with pytest.raises(pw.DataError, match="decimal"):
        pw.read_data(bad, decimal=";")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(pw.DataError, match="'.*folder.csv' is a folder"):
        pw.read_data(tmp_path / "folder.csv")
    (tmp_path / "export").mkdir()
    with pytest.raises(pw.DataError, match="'.*export' is a folder; give the data file inside"):
        pw.read_data(tmp_path / "export")
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(pw.DataError, match="could not be read as a Parquet file"):
        pw.read_data(broken)


def test_excel_byte_order_mark_is_not_part_of_a_name(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark; the first column keeps its name."""
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffgemeente;werk\nUtrecht;1\n".encode())
    for separator in (None, ";"):
        assert list(pw.read_data(path, separator=separator).columns) == ["gemeente", "werk"]


def test_decimal_comma_read_without_decimal_is_named(tmp_path):
    """A Dutch file read with the default decimal point: the error says decimal=','."""
    path = tmp_path / "personen.csv"
    PERSONS.to_csv(path, sep=";", decimal=",", index=False)
    df = pw.read_data(path)
    assert not pd.api.types.is_numeric_dtype(df.leeftijd)  # "34,5" stays text
    with pytest.raises(pw.DataError, match=r"'leeftijd' \(covariate\).*decimal comma.*decimal=','"):
        pw.PersonModel(df, site="gemeente", arm="groep", outcome="werk", covariates=["leeftijd"])
    summary = pd.DataFrame({"site": ["A", "B"], "estimate": ["2,5", "-1,0"], "se": [1.0, 2.0]})
    with pytest.raises(pw.DataError, match=r"'estimate'.*'2,5'.*decimal=','"):
        pw.SummaryModel(summary, site="site", estimate="estimate", se="se")


def test_a_model_from_a_dutch_csv(tmp_path):
    """A Dutch export with Dutch labels fits without further options."""
    people = pw.examples.simulate_participants(random_seed=1, size=0.2).data
    people = people[people.arm != "reference"]
    dutch = people.assign(arm=people.arm.replace({"control": "Controlegroep"}))
    path = tmp_path / "personen.csv"
    dutch.to_csv(path, sep=";", decimal=",", index=False)
    df = pw.read_data(path, decimal=",")
    model = pw.PersonModel(df, site="municipality", arm="arm", outcome="work_gt_8h",
                           covariates=["age", "female"])  # fmt: skip
    assert model.data.comparison["Utrecht"] == "control" and len(model.data.sites) == 6
