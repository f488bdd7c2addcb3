"""``pwbayes design SPEC.toml``, its outputs and the design plots (explicit priors: fast)."""

import re

import matplotlib
import pandas as pd
import pytest

import pwbayes as pw
from pwbayes import design as D
from pwbayes.cli import main
from pwbayes.design_spec import load_design_spec
from pwbayes.plots.design_assurance import plot_assurance
from pwbayes.plots.design_type_m import plot_type_m

matplotlib.use("Agg")

SPEC = """
title = "Test designs"
[prior]
mu = { extra_hulp = 3.0, werken_loont = 1.0 }
tau = { extra_hulp = 2.0, werken_loont = 1.0 }
mu_sd = { extra_hulp = 1.5, werken_loont = 1.0 }
outcome = "work_gt_8h"
[[designs]]
name = "one arm of 600"
arms = { "Extra Hulp" = 600 }
comparison = 300
[grid]
persons_per_arm = [100, 300, 900]
arms = [["Extra Hulp"], ["Extra Hulp", "Werken Loont"]]
sites = [1, 3]
[evaluate]
random_seed = 1
[output]
folder = "out"
show = "Extra Hulp"
target = { column = "assurance", at_least = 0.3 }
"""


@pytest.fixture(scope="module")
def grid_table():
    prior = D.EffectPrior(mu={"extra_hulp": 3.0, "werken_loont": 1.0}, tau={"extra_hulp": 2.0},
                          outcome="work_gt_8h")  # fmt: skip
    return D.grid(prior, persons_per_arm=[100, 300, 900],
                  arms=[["Extra Hulp"], ["Extra Hulp", "Werken Loont"]], sites=[1, 2],
                  random_seed=1)  # fmt: skip


def test_design_command_writes_table_plots_and_report(tmp_path, capsys):
    spec = tmp_path / "design.toml"
    spec.write_text(SPEC)
    assert main(["design", str(spec)]) == 0
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"design.csv", "assurance.png", "type_m.png",
                                               "report.md"}  # fmt: skip
    table = pd.read_csv(out / "design.csv")
    assert len(table) == 2 + 6 * 2 + 6 * 4  # (site, pooled) per component of each design
    assert set(table.unit) == {"percentage points"}
    report = (out / "report.md").read_text()
    assert "## Smallest designs with assurance >= 0.3 (Extra Hulp, site)" in report
    best = table[(table["name"] == "Extra Hulp") & (table.level == "site")
                 & (table.assurance >= 0.3)].persons.min()  # fmt: skip
    assert f": {best} persons" in report
    assert "wrote:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[evaluate]", "[evalute]"), "unknown section \\[evalute\\]"),
        (("comparison = 300", "comparison = 0"), "comparison=0"),
        (('mu = { extra_hulp', 'mu = { extra_hoop'), "extra_hoop"),
        (('at_least = 0.3', 'above = 0.3'), "target"),
        (('name = "one arm of 600"', 'nmae = "x"'), "unknown key\\(s\\) \\['nmae'\\]"),
    ],
    ids=["section", "no-comparison", "component", "target", "design-key"],
)  # fmt: skip
def test_bad_design_specs_are_one_line_errors(tmp_path, capsys, edit, message):
    spec = tmp_path / "design.toml"
    spec.write_text(SPEC.replace(*edit))
    assert main(["design", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pwbayes: error:") and err.count("\n") == 1
    assert re.search(message, err)


def test_design_spec_needs_one_prior_and_some_designs(tmp_path):
    spec = tmp_path / "d.toml"
    spec.write_text("[prior]\nmu = { extra_hulp = 1.0 }\n")
    with pytest.raises(pw.SpecError, match="give candidate designs"):
        load_design_spec(spec)
    spec.write_text('[prior]\n[grid]\npersons_per_arm = [1]\narms = [["Extra Hulp"]]\n')
    with pytest.raises(pw.SpecError, match="exactly one of spec"):
        load_design_spec(spec)


def test_shipped_design_specs_are_valid():
    from pathlib import Path

    specs = sorted((Path(__file__).parents[1] / "models").glob("design_*.toml"))
    assert len(specs) == 3
    for path in specs:
        spec = load_design_spec(path)
        assert (Path(spec["_base"]) / spec["prior"]["spec"]).is_file()


def test_assurance_plot_draws_one_line_per_design_family(grid_table):
    fig = plot_assurance(grid_table, name="Extra Hulp")
    left, right = fig.axes
    assert len(left.lines) == 2 * 2 + 1  # (1 or 2 arms) x (1 or 2 sites) + target line
    shown = grid_table.query("name == 'Extra Hulp' and level == 'site'")
    first = left.lines[0]
    part = shown[(shown.n_arms == 1) & (shown.sites == 1)].sort_values("persons")
    assert list(first.get_ydata()) == pytest.approx(list(part.assurance))
    with pytest.raises(pw.DesignError, match="name='Zelf in Actie': not in the table"):
        plot_assurance(grid_table, name="Zelf in Actie")
    with pytest.raises(pw.DesignError, match="lacks 'n_arms'"):
        plot_assurance(grid_table.drop(columns="n_arms"))


def test_type_m_plot_shows_exaggeration_falling_with_persons(grid_table):
    fig = plot_type_m(grid_table)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [100, 300, 900]
    assert list(line.get_ydata()) == sorted(line.get_ydata(), reverse=True)
    with pytest.raises(pw.DesignError, match="no rows with a type M"):
        plot_type_m(grid_table, level="pooled")


@pytest.mark.slow
def test_a_shipped_design_spec_runs_end_to_end(tmp_path, capsys):
    """The prior is fitted from the analysis spec it names; the report answers the question."""
    from pathlib import Path

    spec = Path(__file__).parents[1] / "models" / "design_new_municipality.toml"
    assert main(["design", str(spec), "--out", str(tmp_path), "--seed", "2"]) == 0
    table = pd.read_csv(tmp_path / "design.csv")
    site = table[(table.level == "site") & (table["name"] == "Extra Hulp")]
    assert site.sort_values("persons").half_width_90.is_monotonic_decreasing
    report = (tmp_path / "report.md").read_text()
    assert "## Smallest designs with half_width_90 <= 3" in report
    smallest = site[site.half_width_90 <= 3].persons.min()
    assert f": {smallest} persons" in report
    assert "fitting the prior" in capsys.readouterr().out
