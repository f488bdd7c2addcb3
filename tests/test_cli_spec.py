from pathlib import Path

import pandas as pd
import pytest

import pwbayes as pw
from pwbayes.cli import main
from pwbayes.spec import load_spec, model_from_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "models").glob("*.toml"))


def test_specs_are_shipped():
    names = {p.stem for p in SPECS}
    assert {
        "example_work_gt_8h",
        "example_work_gt_27h",
        "example_earn_gt_70pct_wml",
        "example_work_gt_8h_suspect_bias",
        "example_work_gt_8h_suspect_excluded",
        "eight_schools",
    } <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_spec_builds(path):
    spec = load_spec(path)
    model = model_from_spec(spec)
    assert model.model is not None
    if spec["data"].get("example") == "summary_effects":
        assert "SYNTHETIC" in model.note and "SYNTHETIC" in spec["title"]


def test_suspect_specs_treat_rows_as_documented():
    bias = model_from_spec(load_spec(ROOT / "models" / "example_work_gt_8h_suspect_bias.toml"))
    excl = model_from_spec(load_spec(ROOT / "models" / "example_work_gt_8h_suspect_excluded.toml"))
    assert bias.bias_sites == ["Tilburg", "Nijmegen"]
    assert bias.priors["bias"] == pw.Prior("Normal", mu=0, sigma=5)
    assert set(excl.data.excluded.site) == {"Tilburg", "Nijmegen"}


def _write(tmp_path, text):
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


BASE = """
[data]
example = "summary_effects"
filter = { outcome = "work_gt_8h" }
[columns]
site = "municipality"
arm = "arm"
estimate = "estimate"
se = "se"
"""


def test_unknown_key_is_an_error(tmp_path):
    with pytest.raises(pw.SpecError, match=r"unknown key\(s\) \['pooling_'\] in \[model\]"):
        load_spec(_write(tmp_path, BASE + "[model]\npooling_ = 'full'\n"))


def test_unknown_section_is_an_error(tmp_path):
    with pytest.raises(pw.SpecError, match=r"unknown section \[prior\]"):
        load_spec(_write(tmp_path, BASE + "[prior]\nmu = 1\n"))


def test_bad_toml(tmp_path):
    with pytest.raises(pw.SpecError, match="not valid TOML"):
        load_spec(_write(tmp_path, "[data\n"))


def test_missing_data_file(tmp_path):
    spec = load_spec(
        _write(tmp_path, BASE.replace('example = "summary_effects"', 'file = "nope.csv"'))
    )
    with pytest.raises(pw.SpecError, match="nope.csv"):
        model_from_spec(spec)


def test_filter_keeping_nothing(tmp_path):
    spec = load_spec(_write(tmp_path, BASE.replace("work_gt_8h", "work_gt_99h")))
    with pytest.raises(pw.SpecError, match="keeps no rows"):
        model_from_spec(spec)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    code = main(["show", str(_write(tmp_path, BASE + "[model]\npooling = 'some'\n"))])
    assert code == 2
    assert "pwbayes: error: pooling='some'" in capsys.readouterr().err


def test_cli_show(capsys):
    assert main(["show", str(ROOT / "models" / "eight_schools.toml")]) == 0
    out = capsys.readouterr().out
    assert "8 sites: A, B, C" in out and "tau ~ HalfCauchy(beta=5)" in out


@pytest.mark.slow
def test_cli_example_writes_outputs(tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["example", "--out", str(out), "--draws", "1000"]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed
    for name in ("effects.csv", "forest.png", "report.md", "result.nc"):
        assert (out / name).stat().st_size > 0
    eff = pd.read_csv(out / "effects.csv")
    assert {
        "level",
        "site",
        "component",
        "arm",
        "mean",
        "sd",
        "hdi_low",
        "hdi_high",
        "p_positive",
    } <= set(eff.columns)
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report and "| Utrecht | Extra Hulp |" in report
    assert pw.load_result(out / "result.nc").record.sampling.draws == 1000


@pytest.mark.parametrize("outcome", ["work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml"])
def test_example_specs_reproduce_cli_example(outcome):
    """`pwbayes fit models/example_<outcome>.toml` runs what `pwbayes example` runs."""
    from pwbayes.cli import EXAMPLE_SPEC

    spec = load_spec(ROOT / "models" / f"example_{outcome}.toml")
    assert spec["data"] == {**EXAMPLE_SPEC["data"], "filter": {"outcome": outcome}}
    for section in ("columns", "model", "sampling"):
        assert spec[section] == EXAMPLE_SPEC[section]
