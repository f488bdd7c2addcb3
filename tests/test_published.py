import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pwbayes as pw
from pwbayes.data.synthetic import SYNTHETIC_NOTE, make_summary_effects

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def test_published_tables_have_sources():
    mun = pw.published.municipalities()
    assert list(mun.municipality) == [
        "Deventer",
        "Tilburg",
        "Nijmegen",
        "Utrecht",
        "Groningen",
        "Wageningen",
    ]
    assert mun.set_index("municipality").loc["Groningen", "randomised_population"] == 8724
    assert "Table 1" in mun.attrs["source"]
    comp = pw.published.comparison_outcomes()
    assert comp.source.notna().all() and "footnote" in comp.attrs["source"]
    found = pw.published.findings()
    assert set(found.direction) <= {"positive", "negative", "unknown"}
    assert found.source.notna().all()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/ data folder not beside the repo")
@pytest.mark.parametrize(
    "name", ["municipalities.csv", "comparison_group_outcomes.csv", "published_findings.csv"]
)
def test_shipped_facts_equal_the_shared_sources(name):
    shipped = ROOT / "src" / "pwbayes" / "data" / "files" / name
    assert shipped.read_bytes() == (SHARED / name).read_bytes()


def test_example_is_reproducible_from_the_script():
    shipped = pw.examples.summary_effects(outcome=None)
    regenerated = make_summary_effects()
    # the synthetic estimates come from the script; three site-level facts are added on reading
    facts = ["randomisation", "final_month", "participation_pct"]
    assert list(shipped.columns) == [*regenerated.columns, *facts]
    pd.testing.assert_frame_equal(shipped[regenerated.columns], regenerated, check_dtype=False)
    published = pw.published.municipalities().set_index("municipality")
    for fact in ("randomisation", "final_month"):
        assert (shipped[fact] == shipped.municipality.map(published[fact])).all()
    share = published.participants_cpb2022 / published.invited_cpb2022 * 100
    assert np.allclose(shipped.participation_pct, shipped.municipality.map(share), atol=0.05)


def test_example_says_it_is_synthetic():
    df = pw.examples.summary_effects()
    assert df.attrs["note"] == SYNTHETIC_NOTE and "SYNTHETIC" in SYNTHETIC_NOTE
    assert (df.data_source == "SYNTHETIC").all()
    assert "SYNTHETIC" in pw.examples.summary_effects.__doc__


def test_example_follows_published_findings():
    df = pw.examples.summary_effects(outcome=None)
    z = df.estimate / df.se
    known = df.published_direction.isin(["positive", "negative"])
    sign = np.where(df.published_direction == "positive", 1, -1)
    assert (np.sign(z[known]) == sign[known]).all()
    sig = df.published_significant_90 == "yes"
    assert (z[sig].abs() > 1.645).all()
    assert (z[df.published_significant_90 == "no"].abs() < 1.645).all()
    found = pw.published.findings()
    register = found[found.outcome.isin(["work_gt_8h", "work_gt_27h", "earn_gt_70pct_wml"])]
    assert sig.sum() == (register.significant_90 == "yes").sum()
    assert known.sum() == register.direction.isin(["positive", "negative"]).sum()


def test_example_se_follow_group_sizes_and_levels():
    df = pw.examples.summary_effects()
    utrecht = df[df.municipality == "Utrecht"].iloc[0]
    p = utrecht.comparison_level_pct / 100
    n = 752 // 4  # three arms + control, equal sizes
    expected = 100 * np.sqrt(p * (1 - p) * 2 / n) * 0.95
    assert utrecht.se == pytest.approx(expected, abs=0.01)
    groningen = df[df.municipality == "Groningen"]
    assert (groningen.comparison == "reference").all()
    assert set(df.groupby("municipality").size()) == {2, 3, 4}


def test_example_outcome_choice():
    assert set(pw.examples.summary_effects("work_gt_27h").outcome) == {"work_gt_27h"}
    with pytest.raises(pw.DataError, match="choose one of"):
        pw.examples.summary_effects("wellbeing")


def test_make_script_runs(tmp_path):
    script = ROOT / "scripts" / "make_summary_example.py"
    code = script.read_text().replace(
        'OUT = Path(__file__).resolve().parents[1] / "src" / "pwbayes" / "data" / "files"',
        f"OUT = Path({str(tmp_path)!r})",
    )
    assert "OUT = Path(" in code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "SYNTHETIC" in out.stdout
    regenerated = pd.read_csv(tmp_path / pw.examples.SUMMARY_EFFECTS_FILE)
    shipped = pw.examples.summary_effects(outcome=None)
    pd.testing.assert_frame_equal(regenerated, shipped[regenerated.columns])
