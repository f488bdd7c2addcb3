"""The typed, versioned record of a fit, and what loading refuses."""

import dataclasses
import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest
from helpers import fake_person_result

import pwbayes as pw
from pwbayes.record import FORMAT_VERSION, FitRecord
from pwbayes.results.io import FORMAT_ATTR, RECORD_ATTR


@pytest.fixture(scope="module")
def person_result():
    people = pw.examples.simulate_participants(random_seed=2, size=0.3).data
    m = pw.PersonModel(
        people,
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=["age"],
        subgroups=["basic_qualification"],
        comparison={"Groningen": "reference"},
    )
    return fake_person_result(m)


def test_records_have_sections_not_placeholders(fake_example_result, person_result):
    summary, person = fake_example_result.record, person_result.record
    assert summary.model.kind == "SummaryModel" and summary.model.summary is not None
    assert summary.model.person is None and summary.model.subgroups is None
    assert summary.disclosure is None
    assert person.model.kind == "PersonModel" and person.model.summary is None
    assert person.model.person.family == "bernoulli"
    assert person.model.subgroups.levels == {"basic_qualification": ("False", "True")}
    assert person.disclosure.min_cell == 10
    for record in (summary, person):
        assert record.format_version == FORMAT_VERSION and record.pwbayes_version == pw.__version__
        assert record.sampling.sampler == "fake" and record.diagnostics.chains == 2


@pytest.mark.parametrize("which", ["fake_example_result", "person_result"])
def test_to_dict_and_back(which, request):
    record = request.getfixturevalue(which).record
    data = record.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert FitRecord.from_dict(data) == record
    assert FitRecord.from_json(record.to_json()) == record


def test_from_dict_names_what_is_wrong(fake_example_result):
    data = fake_example_result.record.to_dict()
    missing = {k: v for k, v in data.items() if k != "sampling"}
    with pytest.raises(pw.RecordError, match="lacks the field 'sampling'.*truncated"):
        FitRecord.from_dict(missing)
    typo = {**data, "model": {**data["model"], "pooling_": "partial"}}
    with pytest.raises(pw.RecordError, match=r"unknown field\(s\) \['pooling_'\]"):
        FitRecord.from_dict(typo)
    wrong = {**data, "sampling": {**data["sampling"], "draws": "many"}}
    with pytest.raises(pw.RecordError, match=r"record.sampling.draws = 'many'"):
        FitRecord.from_dict(wrong)
    newer = {**data, "format_version": FORMAT_VERSION + 1, "pwbayes_version": "9.0"}
    message = f"by pwbayes 9.0 in format {FORMAT_VERSION + 1}.*Upgrade"
    with pytest.raises(pw.RecordError, match=message):
        FitRecord.from_dict(newer)


def test_fields_with_defaults_may_be_absent(fake_example_result):
    """Optional fields (plain defaults and default factories alike) are not required."""
    record = fake_example_result.record
    data = record.to_dict()
    for optional in ("weak_tau", "subgroups"):
        data["model"].pop(optional)
    back = FitRecord.from_dict(data).model
    assert back.weak_tau == {} and back.subgroups is None
    assert back.sites == record.model.sites


def _saved(result, tmp_path):
    return result.save(tmp_path / "fit.nc", overwrite=True)


def _rewrite(path, **attrs):
    """Rewrite a saved file with changed posterior attributes (None removes one)."""
    idata = az.from_netcdf(str(path), engine="h5netcdf")
    idata.load()
    for key, value in attrs.items():
        if value is None:
            idata.posterior.attrs.pop(key, None)
        else:
            idata.posterior.attrs[key] = value
    out = path.with_name("changed.nc")
    idata.to_netcdf(str(out), engine="h5netcdf")
    return out


def test_load_round_trip(person_result, tmp_path):
    back = pw.load_result(_saved(person_result, tmp_path))
    assert type(back) is pw.PersonResult and back.record == person_result.record
    assert RECORD_ATTR not in back.idata.posterior.attrs


def test_load_refuses_a_newer_format(fake_example_result, tmp_path):
    path = _rewrite(_saved(fake_example_result, tmp_path), **{FORMAT_ATTR: FORMAT_VERSION + 1})
    with pytest.raises(pw.RecordError, match=f"format {FORMAT_VERSION + 1}.*Upgrade pwbayes"):
        pw.load_result(path)


def test_load_refuses_the_previous_format_with_a_reason(fake_example_result, tmp_path):
    """A file of pwbayes 0.1 (an unversioned configuration in ``pwbayes_config``)."""
    old = json.dumps({"model": "SummaryModel", "pooling": "partial", "rows": {}})
    path = _rewrite(
        _saved(fake_example_result, tmp_path),
        **{RECORD_ATTR: None, FORMAT_ATTR: None, "pwbayes_config": old},
    )
    with pytest.raises(pw.RecordError, match="format 1.*Refit the model and save it again"):
        pw.load_result(path)


def test_load_refuses_a_damaged_record(fake_example_result, tmp_path):
    data = fake_example_result.record.to_dict()
    del data["diagnostics"]
    path = _rewrite(_saved(fake_example_result, tmp_path), **{RECORD_ATTR: json.dumps(data)})
    with pytest.raises(pw.RecordError, match="lacks the field 'diagnostics'"):
        pw.load_result(path)
    path = _rewrite(_saved(fake_example_result, tmp_path), **{RECORD_ATTR: "{not json"})
    with pytest.raises(pw.RecordError, match="not valid JSON"):
        pw.load_result(path)


def test_load_refuses_foreign_and_truncated_files(fake_example_result, tmp_path):
    foreign = tmp_path / "foreign.nc"
    az.from_dict(posterior={"x": np.zeros((1, 10))}).to_netcdf(str(foreign), engine="h5netcdf")
    with pytest.raises(pw.RecordError, match="not written by pwbayes"):
        pw.load_result(foreign)
    text = tmp_path / "table.nc"
    text.write_text("site,estimate\nA,1\n")
    with pytest.raises(pw.RecordError, match="not a readable NetCDF file"):
        pw.load_result(text)
    whole = _saved(fake_example_result, tmp_path).read_bytes()
    cut = tmp_path / "cut.nc"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(pw.RecordError, match="truncated"):
        pw.load_result(cut)
    with pytest.raises(pw.RecordError, match="no such file"):
        pw.load_result(tmp_path / "absent.nc")


def test_record_is_immutable_and_replaceable(fake_example_result):
    record = fake_example_result.record
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.format_version = 3  # type: ignore[misc]
    assert record.replace(pwbayes_version="x").pwbayes_version == "x"


def test_a_file_written_by_pwbayes_0_1_is_refused_with_the_reason():
    """A real format-1 file: eight schools, 2 x 20 draws, saved by pwbayes 0.1.0 (1afad94)."""
    path = Path(__file__).parent / "data" / "pwbayes_0.1_eight_schools.nc"
    with pytest.raises(pw.RecordError, match=r"format 1 \(pwbayes 0.1's unversioned .*Refit"):
        pw.load_result(path)
