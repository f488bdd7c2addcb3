"""Refits reuse the compiled sampler: new prior values, and each site left out in turn.

Measures on the SYNTHETIC summary example (``fit()`` defaults: 4 chains x 2,000 draws):

1. the first fit in this process (build, compile, sample) — the reference;
2. three refits with other prior values for ``tau`` (the same structure: no compiling);
3. the six leave-one-site-out refits (``model.leave_out(site)``), together;
4. the checks a report runs, with the fit's settings: ``fit.loo_sites()`` (six refits and
   their predictive densities), ``fit.sensitivity()`` (four refits and power-scaling) and
   ``fit.predictive_check()`` (no refit).

Usage: ``python benchmarks/refits.py`` (writes ``benchmarks/out/refits.json``).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pwbayes as pw

COLUMNS = {"site": "municipality", "arm": "arm", "estimate": "estimate", "se": "se"}


def main() -> None:
    warnings.simplefilter("ignore", pw.ConvergenceWarning)
    data = pw.examples.summary_effects()
    model = pw.SummaryModel(data, **COLUMNS)
    start = time.perf_counter()
    fit = model.fit(random_seed=1, progress=False)
    first = time.perf_counter() - start
    priors = []
    for sigma in (2.0, 5.0, 10.0):
        other = pw.SummaryModel(
            data, **COLUMNS, priors={"tau": pw.Prior("HalfNormal", sigma=sigma)}
        )
        start = time.perf_counter()
        fit = other.fit(random_seed=1, progress=False)
        priors.append((time.perf_counter() - start, fit.record.timings.compile_s))
    start = time.perf_counter()
    for site in model.data.sites:
        model.leave_out(site).fit(random_seed=1, progress=False)
    loo = time.perf_counter() - start
    checks = {}
    settings = {"draws": 2000, "chains": 4, "random_seed": 1}
    for name in ("loo_sites", "sensitivity", "predictive_check"):
        start = time.perf_counter()
        if name == "predictive_check":
            fit.predictive_check(random_seed=1)
        else:
            getattr(fit, name)(**settings)
        checks[f"{name}_s"] = time.perf_counter() - start
    out = {
        "first_fit_s": first,
        "prior_refits_s": [p[0] for p in priors],
        "prior_refits_compile_s": [p[1] for p in priors],
        "six_leave_one_out_refits_s": loo,
        "ratio_first_to_prior_refit": first / max(p[0] for p in priors),
        **checks,
        "ratio_checks_to_first_fit": sum(checks.values()) / first,
    }
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    (folder / "refits.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
