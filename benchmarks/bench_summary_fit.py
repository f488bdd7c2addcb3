"""Speed and sampling quality of the summary model on the six-municipality example.

Usage::

    python benchmarks/bench_summary_fit.py [--repeats 5] [--json benchmarks/out/summary_fit.json]

Measures, on the bundled (SYNTHETIC) work_gt_8h table with the default ``fit()``
settings (4 chains x 2000 draws, 1000 tuning steps, nutpie):

1. first fit in a fresh Python process (import, build, compile, sample), twice;
2. repeated fits in one process: the same model object (compiled model cached) and a
   new model object of the same data (compiles again);
3. ESS per second of sampling for every ``mu`` and ``tau``, R-hat, divergences;
4. the reference in the same run: PyMC's own NUTS (``pm.sample``, 2 processes) on the
   same model, settings and data, as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import arviz as az
import numpy as np

import pwbayes as pw

COLUMNS = {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"}

FRESH = """
import time, warnings
t0 = time.perf_counter()
import pwbayes as pw
t1 = time.perf_counter()
warnings.simplefilter("ignore")
m = pw.SummaryModel(pw.examples.summary_effects(), site="municipality", arm="arm",
                    estimate="estimate", se="se")
fit = m.fit(random_seed=1, progress=False)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, t2 - t0)
"""


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cores": os.cpu_count(), "memory": mem, "cpu": cpu, "python": platform.python_version()}


def quality(fit, seconds: float) -> dict:
    ess = az.ess(fit.idata, var_names=["mu", "tau"], method="bulk")
    ess_min = {v: float(ess[v].min()) for v in ("mu", "tau")}
    rhat = az.rhat(fit.idata, var_names=["mu", "tau"])
    return {
        "seconds": seconds,
        "ess_bulk_min": ess_min,
        "ess_per_second_min": {v: e / seconds for v, e in ess_min.items()},
        "rhat_max": float(max(rhat[v].max() for v in ("mu", "tau"))),
        "divergences": fit.diagnostics.divergences,
    }


def timed_fit(model, **kw):
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pw.ConvergenceWarning)
        fit = model.fit(progress=False, **kw)
    return fit, time.perf_counter() - t


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default="benchmarks/out/summary_fit.json")
    args = ap.parse_args()
    data = pw.examples.summary_effects()
    out: dict = {"machine": machine(), "settings": "fit(): 4 chains x 2000 draws, 1000 tune"}

    fresh = []
    for _ in range(2):
        res = subprocess.run(
            [sys.executable, "-c", FRESH], capture_output=True, text=True, check=True
        )
        imp, fit_s, total = map(float, res.stdout.split())
        fresh.append({"import": imp, "build_compile_sample": fit_s, "total": total})
    out["fresh_process"] = fresh

    model = pw.SummaryModel(data, **COLUMNS)
    timed_fit(model, random_seed=0)  # compile once
    same = [quality(*timed_fit(model, random_seed=s)) for s in range(1, args.repeats + 1)]
    out["repeat_same_model"] = same
    new = []
    for s in range(1, args.repeats + 1):
        t = time.perf_counter()
        m = pw.SummaryModel(data, **COLUMNS)
        fit, _ = timed_fit(m, random_seed=s)
        new.append(quality(fit, time.perf_counter() - t))
    out["repeat_new_model"] = new

    pymc = [
        quality(*timed_fit(pw.SummaryModel(data, **COLUMNS), random_seed=s, sampler="pymc"))
        for s in range(1, 3)
    ]
    out["reference_pymc_nuts"] = pymc

    def med(rows, key, sub=None):
        vals = [r[key][sub] if sub else r[key] for r in rows]
        return float(np.median(vals))

    out["ratios"] = {
        "pymc_wall_over_pwbayes_same_model": med(pymc, "seconds") / med(same, "seconds"),
        "pymc_wall_over_pwbayes_new_model": med(pymc, "seconds") / med(new, "seconds"),
        "pwbayes_over_pymc_ess_per_s_tau": med(same, "ess_per_second_min", "tau")
        / med(pymc, "ess_per_second_min", "tau"),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))

    print(f"machine: {out['machine']}")
    for i, f in enumerate(fresh, 1):
        print(
            f"fresh process {i}: import {f['import']:.1f} s, build+compile+sample "
            f"{f['build_compile_sample']:.1f} s, total {f['total']:.1f} s"
        )
    for name in ("repeat_same_model", "repeat_new_model", "reference_pymc_nuts"):
        rows = out[name]
        print(
            f"{name}: wall median {med(rows, 'seconds'):.2f} s (max "
            f"{max(r['seconds'] for r in rows):.2f}), min bulk ESS mu "
            f"{min(r['ess_bulk_min']['mu'] for r in rows):.0f} tau "
            f"{min(r['ess_bulk_min']['tau'] for r in rows):.0f}, ESS/s tau median "
            f"{med(rows, 'ess_per_second_min', 'tau'):.0f}, max R-hat "
            f"{max(r['rhat_max'] for r in rows):.4f}, divergences "
            f"{sum(r['divergences'] for r in rows)}"
        )
    print("ratios:", {k: round(v, 2) for k, v in out["ratios"].items()})
    return out


if __name__ == "__main__":
    main()
