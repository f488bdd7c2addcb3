"""The person model's checks on the SYNTHETIC population: what they find and what they cost.

Fits ``PersonModel(work_gt_8h ~ age + basic qualification)`` to a synthetic population
(``size=0.5``: about 5,700 persons), refits it with another prior value for ``tau`` (the
compiled sampler reused) and runs ``fit.predictive_check(model)``,
``fit.loo_sites(model)``, ``fit.sensitivity(model)`` and ``fit.loo_persons(model)``, and
under ``likelihood="normal_approx"`` a first fit and a prior refit; times are given against
the first fit in the same run (ratios).

Usage: ``python benchmarks/person_checks.py`` (writes ``benchmarks/out/person_checks.json``).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pwbayes as pw
from pwbayes.models.person.refit import with_priors


def main() -> dict:
    warnings.simplefilter("ignore", pw.ConvergenceWarning)
    effects = {"zelf_in_actie": 0.0, "extra_hulp": 0.25, "werken_loont": 0.15}
    people = pw.examples.simulate_participants(random_seed=2019, size=0.5, effects=effects).data
    model = pw.PersonModel(people, site="municipality", arm="arm", outcome="work_gt_8h",
                           covariates=["age", "basic_qualification"],
                           comparison={"Groningen": "reference"})  # fmt: skip
    settings = {"draws": 1000, "tune": 1000, "chains": 2, "random_seed": 1}
    start = time.perf_counter()
    fit = model.fit(progress=False, **settings)
    out: dict = {"first_fit_s": time.perf_counter() - start}
    start = time.perf_counter()
    other = with_priors(model, {"tau": pw.Prior("HalfNormal", sigma=0.25)})
    refit = other.fit(progress=False, **settings)
    out["prior_refit_s"] = time.perf_counter() - start
    out["prior_refit_compile_s"] = refit.record.timings.compile_s
    start = time.perf_counter()
    check = fit.predictive_check(model, random_seed=1)
    out["predictive_check_s"] = time.perf_counter() - start
    out["predictive_check"] = check.line()
    start = time.perf_counter()
    loo = fit.loo_sites(model, **settings)
    out["loo_sites_s"] = time.perf_counter() - start
    out["loo_sites"] = loo.line()
    start = time.perf_counter()
    sens = fit.sensitivity(model, **settings)
    out["sensitivity_s"] = time.perf_counter() - start
    out["sensitivity"] = sens.line()
    start = time.perf_counter()
    persons = fit.loo_persons(model)
    out["loo_persons_s"] = time.perf_counter() - start
    out["loo_persons"] = persons.line()
    out.update(_normal_approx(people, settings))
    for name in ("prior_refit", "predictive_check", "loo_sites", "sensitivity", "loo_persons"):
        out[f"ratio_{name}_to_first_fit"] = out[f"{name}_s"] / out["first_fit_s"]
    folder = Path(__file__).parent / "out"
    folder.mkdir(exist_ok=True)
    (folder / "person_checks.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return out


def _normal_approx(people, settings: dict) -> dict:
    """The same model under ``likelihood="normal_approx"``: first fit, then a prior refit.

    (At this size the approximation warns that a cell is small; only the compile reuse is
    measured here, its accuracy is ``tests/test_normal_approx.py``'s.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = pw.PersonModel(people, site="municipality", arm="arm", outcome="work_gt_8h",
                               covariates=["age", "basic_qualification"],
                               comparison={"Groningen": "reference"},
                               likelihood="normal_approx")  # fmt: skip
        start = time.perf_counter()
        model.fit(progress=False, **settings)
        first = time.perf_counter() - start
        start = time.perf_counter()
        refit = with_priors(model, {"tau": pw.Prior("HalfNormal", sigma=0.25)}).fit(
            progress=False, **settings
        )
        again = time.perf_counter() - start
    return {
        "normal_approx_first_fit_s": first,
        "normal_approx_prior_refit_s": again,
        "normal_approx_prior_refit_compile_s": refit.record.timings.compile_s,
        "ratio_normal_approx_prior_refit_to_its_first_fit": again / first,
    }


if __name__ == "__main__":
    main()
