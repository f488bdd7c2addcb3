from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_converged

import pwbayes as pw
from pwbayes.cli import main
from pwbayes.spec import load_spec, model_from_spec

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p for p in (ROOT / "models").glob("*.toml") if not p.stem.startswith("design_"))


def test_specs_are_shipped():
    names = {p.stem for p in SPECS}
    assert {
        "example_work_gt_8h",
        "example_work_gt_27h",
        "example_earn_gt_70pct_wml",
        "example_work_gt_8h_suspect_bias",
        "example_work_gt_8h_suspect_excluded",
        "example_work_gt_8h_moderators",
        "eight_schools",
        "synthetic_person_work_gt_8h",
        "synthetic_subgroups_work_gt_8h",
        "synthetic_person_moderators",
    } <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_spec_builds(path):
    spec = load_spec(path)
    model = model_from_spec(spec)
    assert model.model is not None
    if spec["data"].get("example") == "summary_effects":
        assert "SYNTHETIC" in model.note and "SYNTHETIC" in spec["title"]


def test_the_moderator_spec_uses_the_published_site_facts():
    model = model_from_spec(load_spec(ROOT / "models" / "example_work_gt_8h_moderators.toml"))
    assert model.coords["moderator"] == ["comparison_level_pct", "randomisation=before_enrolment"]
    facts = pw.published.municipalities().set_index("municipality")
    before = model.model_record().summary.moderators["randomisation=before_enrolment"]
    assert before == tuple(
        float(facts.randomisation[s] == "before_enrolment") for s in model.data.sites
    )


def test_person_specs_take_site_facts_published_or_from_a_file(tmp_path):
    path = ROOT / "models" / "synthetic_person_moderators.toml"
    model = model_from_spec(load_spec(path))
    assert model.moderators.names == ["randomisation=before_enrolment"]
    before = model.model_record().moderators["randomisation=before_enrolment"]
    assert before == tuple(float(s in ("Deventer", "Groningen")) for s in model.data.sites)
    # the same facts from a file beside the spec
    facts = pw.published.municipalities()[["municipality", "randomisation"]]
    facts.to_csv(tmp_path / "sites.csv", index=False)
    text = path.read_text().replace('site_data = "published"', 'site_data = "sites.csv"')
    (tmp_path / "spec.toml").write_text(text)
    from_file = model_from_spec(load_spec(tmp_path / "spec.toml"))
    np.testing.assert_array_equal(from_file.moderators.values, model.moderators.values)
    (tmp_path / "bad.toml").write_text(text.replace('"sites.csv"', '"absent.csv"'))
    with pytest.raises(pw.SpecError, match=r"\[model\] site_data: .*absent.csv"):
        model_from_spec(load_spec(tmp_path / "bad.toml"))
    (tmp_path / "bad.toml").write_text(text.replace('"sites.csv"', "3"))
    with pytest.raises(pw.SpecError, match=r"site_data = 3: give a file"):
        model_from_spec(load_spec(tmp_path / "bad.toml"))


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


def test_cli_show_person_spec(capsys):
    assert main(["show", str(ROOT / "models" / "synthetic_subgroups_work_gt_8h.toml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PersonModel(family='bernoulli', outcome='work_gt_8h')")
    assert "subgroups (the same in every site): basic_qualification" in out
    assert "tau_sub ~ HalfNormal(sigma=0.5)" in out and "disclosure control" in out


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"pwbayes {pw.__version__}"
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    assert "docs/specs.md" in helptext and "relative to the spec's folder" in helptext
    for option in ("--draws", "--tune", "--chains", "--seed", "--out"):
        assert option in helptext


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit"], "the following arguments are required: spec"),
        (["fit", "spec.toml", "--draws", "many"], "argument --draws: invalid int value"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_argument_errors_are_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("pwbayes: error: ") and message in err


def test_cli_errors_are_one_line_never_a_traceback(tmp_path, capsys, monkeypatch):
    spec = _write(tmp_path, BASE + "[sampling]\ndraws = 'many'\n")
    assert main(["fit", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err == "pwbayes: error: draws='many' must be a whole number >= 1, e.g. draws=1000.\n"
    assert main(["fit", str(tmp_path / "absent.toml")]) == 2
    assert capsys.readouterr().err.startswith("pwbayes: error: Spec file")

    def boom(spec):
        raise RuntimeError("something inside broke\nwith a second line")

    monkeypatch.setattr("pwbayes.spec.model_from_spec", boom)
    assert main(["show", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected RuntimeError: something inside broke" in err


def test_cli_checks_before_it_builds_or_samples(tmp_path, capsys, monkeypatch):
    """A wrong setting or reference level fails in seconds, not after a fit."""
    text = (ROOT / "models" / "synthetic_subgroups_work_gt_8h.toml").read_text()
    spec = tmp_path / "subgroups.toml"
    spec.write_text(text.replace('"small"', '"tiny"').replace("size = 1.0", "size = 0.2"))

    def never(*args, **kwargs):
        raise AssertionError("sampled although the spec was wrong")

    monkeypatch.setattr("pwbayes.PersonModel.fit", never)
    for command in ("show", "fit"):
        assert main([command, str(spec)]) == 2
        err = capsys.readouterr().err
        assert "reference='tiny' is not a level of 'distance_to_labour_market'" in err, err
    monkeypatch.setattr("pwbayes.spec.model_from_spec", never)
    assert main(["fit", str(spec), "--chains", "0"]) == 2
    assert "chains=0 must be a whole number >= 1" in capsys.readouterr().err


def test_spec_paths_are_relative_to_the_spec(tmp_path, monkeypatch):
    folder = tmp_path / "analysis"
    folder.mkdir()
    pw.examples.eight_schools().to_csv(folder / "schools.csv", sep=";", decimal=",", index=False)
    spec = folder / "schools.toml"
    spec.write_text(
        '[data]\nfile = "schools.csv"\nseparator = ";"\ndecimal = ","\n'
        '[columns]\nsite = "school"\nestimate = "estimate"\nse = "se"\n'
        '[output]\nfolder = "out"\n'
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: the paths still resolve against the spec
    loaded = load_spec(spec)
    model = model_from_spec(loaded)
    assert model.data.sites == list("ABCDEFGH")
    from pwbayes.spec import output_folder

    assert output_folder(loaded) == folder / "out"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[output]\nchecks = 'yes'\n", r"checks = 'yes' must be true or false"),
        ("[model]\npooling = 'none'\n[output]\nchecks = true\n", r"pooling = 'partial'"),
        ("[columns]\noutcome = 'y'\nsite = 's'\n", r"needs site, arm, outcome.*missing arm"),
        ("[model]\nsubgroups = ['x']\n", r"\['subgroups'\] do not apply to a summary"),
        ("[data]\nseed = 3\n", r"\['seed'\] do not apply to summary_effects"),
    ],
)
def test_spec_errors_name_what_is_wrong(tmp_path, text, message):
    base = BASE if "[columns]" not in text else BASE.split("[columns]")[0]
    if "[data]" in text:
        base = base.replace('filter = { outcome = "work_gt_8h" }', "seed = 3")
        text = ""
    with pytest.raises(pw.SpecError, match=message):
        load_spec(_write(tmp_path, base + text))


def test_checks_follow_partially_pooled_summary_specs_by_default(tmp_path):
    from pwbayes.spec import wants_checks

    assert wants_checks(load_spec(_write(tmp_path, BASE)))
    assert not wants_checks(load_spec(_write(tmp_path, BASE + "[output]\nchecks = false\n")))
    assert not wants_checks(load_spec(_write(tmp_path, BASE + "[model]\npooling = 'none'\n")))
    person = load_spec(ROOT / "models" / "synthetic_person_work_gt_8h.toml")
    assert not wants_checks(person)
    from pwbayes.spec import check_spec

    person["output"] = {"checks": True}
    check_spec(person, "spec")  # a binary outcome without subgroups: allowed when asked
    assert wants_checks(person)
    subgroups = load_spec(ROOT / "models" / "synthetic_subgroups_work_gt_8h.toml")
    subgroups["output"] = {"checks": True}
    with pytest.raises(pw.SpecError, match="no subgroups"):
        check_spec(subgroups, "spec")


def test_shipped_person_specs_reproduce_the_notebooks():
    """The specs build the models of notebooks 02 and 03 (same data, same graph)."""
    from pwbayes.data.population import COVARIATES

    person = model_from_spec(load_spec(ROOT / "models" / "synthetic_person_work_gt_8h.toml"))
    people, _ = pw.examples.simulate_participants(random_seed=2017, size=1.0)
    columns = {"site": "municipality", "arm": "arm", "outcome": "work_gt_8h"}
    notebook02 = pw.PersonModel(
        people, **columns, covariates=list(COVARIATES), comparison={"Groningen": "reference"}
    )
    subgroups = model_from_spec(load_spec(ROOT / "models" / "synthetic_subgroups_work_gt_8h.toml"))
    pop = pw.examples.simulate_participants(
        random_seed=3, effects={"zelf_in_actie": 0.0, "extra_hulp": 0.1, "werken_loont": 0.1},
        size=1.0, heterogeneity="utrecht",
    )  # fmt: skip
    notebook03 = pw.PersonModel(
        pop.data,
        **columns,
        covariates=["age", "female"],
        subgroups=["basic_qualification", "distance_to_labour_market"],
    )
    for spec_model, notebook_model in ((person, notebook02), (subgroups, notebook03)):
        assert spec_model.structure_key() == notebook_model.structure_key()
        np.testing.assert_array_equal(spec_model.data.y, notebook_model.data.y)
        np.testing.assert_array_equal(spec_model.data.x, notebook_model.data.x)


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
    assert (eff["note"].str.startswith("SYNTHETIC")).all() and (eff["interval"] == "90% HDI").all()
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report and "| Utrecht | Extra Hulp |" in report
    assert report.index("Convergence: ") < report.index("## Pooled effect")
    saved = pw.load_result(out / "result.nc")
    assert saved.record.sampling.draws == 1000
    assert_converged(saved.diagnostics)  # clean here; the test's tolerance on other machines
    if not saved.diagnostics.problems:
        assert "Convergence: all checks passed" in report
    assert "Effect in a new municipality" in report and "percentage points" in report
    # the model checks ran with the fit's settings and went into the report
    for name in ("prior_sensitivity.csv", "prior_sensitivity.png", "power_scaling.csv",
                 "loo_sites.csv", "loo_sites.png", "predictive_check.csv",
                 "predictive_check.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert "## Does the model reproduce the estimates" in report
    assert "## How much do the priors decide" in report and "## Leaving each municipality" in report
    assert "Vivalt (2020)" in report and "de Chaisemartin & Deeb (2024)" in report
    assert "Where tau rests on its prior, the pooled effect moves" in report  # few sites
    loo = pd.read_csv(out / "loo_sites.csv")
    assert len(loo) == 17 and loo["note"].str.startswith("SYNTHETIC").all()
    assert set(pd.read_csv(out / "prior_sensitivity.csv").prior) >= {"as fitted", "spread = effect"}
    assert "PSIS-LOO" in printed and "posterior SDs" in printed


@pytest.mark.slow
def test_cli_fits_a_person_spec_with_overrides(tmp_path, capsys):
    """The subgroup spec on a smaller population, with every command-line override."""
    text = (ROOT / "models" / "synthetic_subgroups_work_gt_8h.toml").read_text()
    spec = tmp_path / "subgroups.toml"
    spec.write_text(text.replace("size = 1.0", "size = 0.3"))
    out = tmp_path / "bundle"
    argv = ["fit", str(spec), "--draws", "200", "--tune", "200", "--chains", "2", "--seed", "5",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "compiling the model" in printed.out and "SYNTHETIC" in printed.out
    assert "Traceback" not in printed.err
    for line in printed.err.splitlines():
        assert line.startswith("pwbayes: warning: ")  # one line each
    names = {p.name for p in out.iterdir()}
    assert names == {"effects.csv", "subgroup_contrasts.csv", "forest.png", "subgroups.png",
                     "report.md", "result.nc"}  # fmt: skip
    eff = pd.read_csv(out / "effects.csv")
    assert set(eff.level) == {"site", "pooled", "new_site", "subgroup"}
    contrasts = pd.read_csv(out / "subgroup_contrasts.csv")
    assert set(contrasts.reference) == {"True", "small"}  # [output] subgroup_reference
    fit = pw.load_result(out / "result.nc")
    s = fit.record.sampling
    assert (s.draws, s.tune, s.chains, s.random_seed) == (200, 200, 2, 5)
    report = (out / "report.md").read_text()
    top = report[: report.index("## Pooled effect")]
    assert "Convergence:" in top and "Disclosure control:" in top
    assert "What works for whom" in report


@pytest.mark.parametrize("outcome", ["work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml"])
def test_example_specs_reproduce_cli_example(outcome):
    """`pwbayes fit models/example_<outcome>.toml` runs what `pwbayes example` runs."""
    from pwbayes.cli import EXAMPLE_SPEC

    spec = load_spec(ROOT / "models" / f"example_{outcome}.toml")
    assert spec["data"] == {**EXAMPLE_SPEC["data"], "filter": {"outcome": outcome}}
    for section in ("columns", "model", "sampling"):
        assert spec[section] == EXAMPLE_SPEC[section]
