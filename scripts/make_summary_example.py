"""Regenerate the bundled SYNTHETIC summary table.

Usage: ``python scripts/make_summary_example.py``. The method and every assumption
are documented in :mod:`pwbayes.data.synthetic`; the seed is fixed, so the output
is identical on every machine (a test checks the shipped file against it).
"""

from pathlib import Path

from pwbayes.data.synthetic import make_summary_effects
from pwbayes.examples import SUMMARY_EFFECTS_FILE

OUT = Path(__file__).resolve().parents[1] / "src" / "pwbayes" / "data" / "files"

if __name__ == "__main__":
    df = make_summary_effects()
    df.to_csv(OUT / SUMMARY_EFFECTS_FILE, index=False)
    print(f"wrote {len(df)} SYNTHETIC rows to {OUT / SUMMARY_EFFECTS_FILE}")
