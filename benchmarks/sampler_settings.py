"""nutpie's adaptation options, and PyMC's NUTS, on pwbayes's own models, seed by seed.

Usage::

    python benchmarks/sampler_settings.py --case summary --seeds 1,2,3
    python benchmarks/sampler_settings.py --case person --seeds 1,2 [--variants default lowrank]
    python benchmarks/sampler_settings.py --case national --seeds 1,2,3,4 --target-accept 0.95
    python benchmarks/sampler_settings.py --case national --seeds 1,2,3,4 --variants pymc

The model of ``speed.py``'s case is built and compiled once; then each variant samples it
with each seed (4 chains x (1,000 tuning + 2,000 draws for the summary model, 1,000 for the
person models)). Variants: ``default`` (nutpie as ``fit()`` calls it), ``stanlike``
(``use_grad_based_mass_matrix=False``: mass-matrix adaptation like Stan's and PyMC's),
``lowrank`` (``low_rank_modified_mass_matrix=True``) and ``pymc`` (``fit(sampler="pymc")``,
PyMC's NUTS; its time includes PyTensor's compilation from a warm cache, ~1 s). Prints one
JSON line per fit: sampling time, min bulk ESS of ``mu`` and ``tau``, divergences, steps per
draw. The figures are in ``docs/benchmarks.md`` ("Tried and not adopted").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import arviz as az

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402

from pwbayes.sampling import compile_model  # noqa: E402

NUTPIE = {
    "default": {},
    "stanlike": {"use_grad_based_mass_matrix": False},
    "lowrank": {"low_rank_modified_mass_matrix": True},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["summary", "person", "national"], required=True)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--variants", nargs="*", default=list(NUTPIE), choices=[*NUTPIE, "pymc"])
    ap.add_argument("--target-accept", type=float, default=None, help="default: fit()'s")
    args = ap.parse_args()
    if args.target_accept is not None and not 0 < args.target_accept < 1:
        ap.error(f"--target-accept {args.target_accept} must be between 0 and 1, e.g. 0.95")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds {args.seeds!r} must be integers separated by commas, e.g. 1,2,3")
    import nutpie

    model = speed.build_pwbayes(args.case)
    target = args.target_accept or speed.default_target_accept(model)
    draws = 2000 if args.case == "summary" else 1000
    compiled = None
    for variant in args.variants:
        for seed in seeds:
            start = time.perf_counter()
            if variant == "pymc":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = model.fit(draws=draws, random_seed=seed, progress=False,
                                    sampler="pymc", target_accept=target)  # fmt: skip
                idata, seconds = fit.idata, fit.record.timings.sample_s
            else:
                if compiled is None:
                    compiled = compile_model(
                        model.model, "nutpie", key=model.structure_key(), data=model.data_values()
                    )
                    start = time.perf_counter()
                idata = nutpie.sample(
                    compiled, draws=draws, tune=1000, chains=4, cores=2, seed=seed,
                    target_accept=target, progress_bar=False, save_warmup=False,
                    **NUTPIE[variant],
                )  # fmt: skip
                seconds = time.perf_counter() - start
            ess = az.ess(idata, var_names=["mu", "tau"])
            stats = idata.sample_stats
            steps = next(stats[k] for k in ("n_steps", "tree_size") if k in stats)
            row = {
                "case": args.case, "variant": variant, "seed": seed,
                "target_accept": target, "sample_s": round(seconds, 2),
                "min_ess_mu": round(float(ess["mu"].min())),
                "min_ess_tau": round(float(ess["tau"].min())),
                "divergences": int(stats["diverging"].sum()),
                "steps_per_draw": round(float(steps.mean()), 1),
            }  # fmt: skip
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
