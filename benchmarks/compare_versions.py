"""The same fits with two versions of pwbayes, in one run: times as ratios, same draws?

Usage::

    python benchmarks/compare_versions.py --base 1afad94 [--cases summary person national]
        [--repeats 3] [--fits 3] [--json benchmarks/out/compare_versions.json]

``--base`` is a commit of this repository (default: the commit before the 0.2 redesign);
its ``src/`` is extracted with ``git archive`` into a temporary folder, and every fit runs in
a fresh Python process with ``PYTHONPATH`` pointing at one version's ``src`` (same
interpreter, same dependencies, same machine, same run). Each version first runs every
case once to fill its compile caches (numba, PyTensor), then the measured runs alternate
between the versions (base, new, base, new...), so that drifts in the machine's speed
hit both alike.

Cases (the figures of ``docs/benchmarks.md`` that the redesign could touch):

* ``summary``: the six-municipality example, default ``fit()`` (4 x 2,000 draws); one
  compile, then ``--fits`` fits of the same model object per process: wall time per fit;
* ``person``: the full synthetic population (11,316 rows, nine covariates), the whole
  default fit (4 x 1,000 draws) from a new process: build, compile (warm caches), sample,
  post-process;
* ``national``: ``size=100`` with binned covariates (1.13 M rows, normal approximation),
  the whole default fit.

For each: wall time, bulk ESS of ``tau`` per second of sampling, and whether the sampler's
draws of ``mu`` and ``tau`` are the same in both versions for the same seed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "1afad94"

CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
import numpy as np, arviz as az
import pwbayes as pw
warnings.simplefilter("ignore")
case, repeats, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def timings(fit):
    rec = getattr(fit, "record", None)
    if rec is not None:
        t = rec.timings
        return {"compile_s": t.compile_s, "sample_s": t.sample_s, "post_s": t.postprocess_s}
    t = fit.config["timings"]
    post_s = t.get("effects_s", 0.0)
    return {"compile_s": t["compile_s"], "sample_s": t["sample_s"], "post_s": post_s}

def facts(fit, wall):
    t = timings(fit)
    ess = az.ess(fit.idata, var_names=["tau"], method="bulk")["tau"].values.min()
    post = fit.idata.posterior
    first = {k: post[k].values.ravel()[:400].tolist() for k in ("mu", "tau")}
    rate = float(ess / t["sample_s"])
    return {"wall_s": wall, **t, "ess_tau": float(ess), "ess_tau_per_sample_s": rate, **first}

out = {"module": pw.__file__, "runs": []}
if case == "summary":
    m = pw.SummaryModel(pw.examples.summary_effects(), site="municipality", arm="arm",
                        estimate="estimate", se="se")
    m.fit(random_seed=seed + 100, progress=False)  # compile
    for r in range(repeats):
        t = time.perf_counter()
        fit = m.fit(random_seed=seed + r, progress=False)
        out["runs"].append(facts(fit, time.perf_counter() - t))
else:
    from pwbayes.data.population import COVARIATES
    size = 1.0 if case == "person" else 100.0
    people, _ = pw.examples.simulate_participants(random_seed=1, size=size)
    if case == "national":
        people = pw.bin_covariates(people, {"age": [18, 30, 40, 50, 67],
                                            "benefit_duration_years": 4,
                                            "prior_earnings": [0, 1, 500, 1e9]})
    t = time.perf_counter()
    m = pw.PersonModel(people, site="municipality", arm="arm", outcome="work_gt_8h",
                       covariates=list(COVARIATES), comparison={"Groningen": "reference"})
    fit = m.fit(random_seed=seed, progress=False)
    out["runs"].append(facts(fit, time.perf_counter() - t))
    out["likelihood"] = m.likelihood
print("RESULT" + json.dumps(out))
"""


def extract(commit: str, into: Path) -> Path:
    """``src/`` of ``commit``, extracted with git archive; return its path."""
    archive = into / "src.tar"
    with archive.open("wb") as f:
        subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run(src: Path, case: str, repeats: int, seed: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run(
        [sys.executable, "-c", CHILD, case, str(repeats), str(seed)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT")), None)
    if res.returncode or line is None:
        raise RuntimeError(f"{case} with {src} failed:\n{res.stderr[-3000:]}")
    out = json.loads(line[len("RESULT") :])
    if not out["module"].startswith(str(src)):
        raise RuntimeError(f"imported {out['module']}, not the version in {src}")
    return out


def summarise(runs: dict[str, list[dict]]) -> dict:
    def med(version, key):
        return statistics.median(r[key] for out in runs[version] for r in out["runs"])

    same = all(
        a["mu"] == b["mu"] and a["tau"] == b["tau"]
        for out_a, out_b in zip(runs["base"], runs["new"], strict=True)
        for a, b in zip(out_a["runs"], out_b["runs"], strict=True)
    )
    keys = ("wall_s", "compile_s", "sample_s", "post_s", "ess_tau_per_sample_s")
    row = {v: {k: med(v, k) for k in keys} for v in ("base", "new")}
    row["new_over_base_wall"] = row["new"]["wall_s"] / row["base"]["wall_s"]
    row["new_over_base_ess_per_s"] = (
        row["new"]["ess_tau_per_sample_s"] / row["base"]["ess_tau_per_sample_s"]
    )
    row["same_draws"] = same
    return row


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=DEFAULT_BASE)
    ap.add_argument("--cases", nargs="+", default=["summary", "person", "national"])
    ap.add_argument("--repeats", type=int, default=3, help="alternating rounds per case")
    ap.add_argument("--fits", type=int, default=3, help="summary: fits per process")
    ap.add_argument("--json", default="benchmarks/out/compare_versions.json")
    args = ap.parse_args()
    unknown = sorted(set(args.cases) - {"summary", "person", "national"})
    if unknown or args.repeats < 1 or args.fits < 1:
        ap.error(f"unknown case(s) {unknown}, or repeats or fits < 1")
    with tempfile.TemporaryDirectory() as tmp:
        versions = {"base": extract(args.base, Path(tmp)), "new": ROOT / "src"}
        out: dict = {"base": args.base, "cases": {}}
        for case in args.cases:
            for name, src in versions.items():  # fill each version's compile caches
                print(f"warm-up {case} {name}", flush=True)
                run(src, case, 1, seed=99)
            runs: dict[str, list[dict]] = {"base": [], "new": []}
            for r in range(args.repeats):
                for name, src in versions.items():
                    print(f"{case} round {r + 1} {name}", flush=True)
                    runs[name].append(run(src, case, args.fits, seed=1 + 10 * r))
            out["cases"][case] = summarise(runs)
            print(case, json.dumps(out["cases"][case], indent=1), flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
