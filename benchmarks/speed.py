"""Speed side by side: pwbayes's default against Stan, PyMC's NUTS and nutpie, as ratios.

Usage (needs the ``bench`` extra for Stan: ``pip install -e ".[bench]"``)::

    python benchmarks/speed.py --case summary      # six-municipality summary example
    python benchmarks/speed.py --case person       # full synthetic population, 9 covariates
    python benchmarks/speed.py --case national     # size=100, binned covariates (1.13 M rows)

One run per case; every contender runs in its own fresh Python process with **empty
compile caches** (numba, PyTensor; Stan gets a program it has not built before), so that
"wall time to first usable posterior" includes all compilation a new user pays. Contenders:

``pwbayes``
    ``Model(...).fit()`` with its defaults (nutpie; the person model whitened, or the
    normal approximation at national scale; its post-processing included).
``pwbayes_warm``
    the same as ``pwbayes`` in a second fresh process that finds the compile caches the
    first one left on disk (numba's kernels): every later session on the same machine.
``pwbayes_pymc``, ``pwbayes_pymc_warm``
    the same pwbayes model sampled with PyMC's NUTS (``fit(sampler="pymc")``, the fallback
    when nutpie is missing), with empty caches and with the caches its cold run left
    (PyTensor's compiled C modules).
``stan``
    the textbook non-centred model in Stan (``stan_programs.py``): what a Stan user writes.
``stan_marginal`` (national only)
    pwbayes's own national-scale model (normal approximation, site effects integrated
    out) written in Stan: the same posterior pwbayes samples, so the samplers compare.
``pwbayes_numpyro`` (summary, national)
    pwbayes's own PyMC model sampled by numpyro (``pm.sample(nuts_sampler="numpyro")``,
    pwbayes's default target acceptance (0.95 for these two models), 4 chains in parallel
    on 4 JAX host devices). Not for the person model at full size: its likelihood and
    whitening are numba Ops with no JAX implementation. Needs ``numpyro`` and ``jax``
    (the ``bench`` extra).
``pymc``, ``nutpie``, ``numpyro``
    the textbook non-centred model in PyMC, sampled by ``pm.sample()`` with its defaults,
    by nutpie with its defaults and by numpyro (``pm.sample(nuts_sampler="numpyro")``).
    numpyro compiles (JAX's jit) inside its first call, so its "sampling" time includes
    that compilation; its wall time is exact.

All contenders draw 4 chains x (1,000 tuning + the pwbayes default's number of draws:
2,000 for the summary model, 1,000 for the person model), each sampler with its own default
target acceptance (pwbayes: 0.95, 0.8 for the whitened person model; Stan, PyMC, nutpie,
numpyro: 0.8),
except the exact-likelihood textbook models at national scale, whose gradient costs a pass
over 107,365 binomial cells: those run short (2 chains x (50 + 50) draws), and
their ESS per second is indicative only (reported with the steps per draw, from which the
time of a full run follows).

Figures per contender: wall time from building the model to the posterior (build +
compile + sample, and for pwbayes its post-processing: percentage-point effects by
g-computation, at national scale the conditional draws of the site effects, which no other
contender does; reported separately too), compile time, sampling time, min bulk ESS over
``mu`` and ``tau``, ESS per second of sampling, of wall time and of wall time without the
post-processing, divergences, mean leapfrog steps per draw. Ratios are against ``stan``
and, at national scale, against ``stan_marginal`` too. Results:
``benchmarks/out/speed_<case>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CONTENDERS = {
    "summary": [
        "pwbayes", "pwbayes_warm", "pwbayes_pymc", "pwbayes_pymc_warm", "pwbayes_numpyro",
        "stan", "pymc", "nutpie", "numpyro",
    ],
    "person": [
        "pwbayes", "pwbayes_warm", "pwbayes_pymc", "pwbayes_pymc_warm", "stan", "pymc", "nutpie",
        "numpyro",
    ],
    "national": [
        "pwbayes", "pwbayes_warm", "pwbayes_pymc", "pwbayes_pymc_warm", "pwbayes_numpyro",
        "stan_marginal", "stan", "nutpie", "pymc",
    ],
}  # fmt: skip
#: numpyro runs one chain per JAX device; the CPU is one device unless told otherwise
XLA_FLAGS = "--xla_force_host_platform_device_count=4"
SHORT = {"chains": 2, "tune": 50, "draws": 50}
#: ratios are to Stan running the textbook model and (national) to Stan running pwbayes's
#: own marginal model, the same posterior pwbayes samples there
REFERENCES = ("stan", "stan_marginal")
#: cases where pwbayes's contenders also time a second fit in the same process (a new
#: model object of the same data, as for a second outcome): what a session of work costs
REPEAT_CASES = ("summary",)
BINS = {
    "age": [18, 30, 40, 50, 67],
    "benefit_duration_years": 4,
    "prior_earnings": [0, 1, 500, 1e9],
}


# ---------------------------------------------------------------- the cases
def build_pwbayes(case: str):
    """The pwbayes model of ``case`` (building validates, collapses, runs stage one)."""
    import pwbayes as pw
    from pwbayes.data.population import COVARIATES

    if case == "summary":
        data = pw.examples.summary_effects()
        return pw.SummaryModel(data, site="municipality", arm="arm", estimate="estimate", se="se")
    return pw.PersonModel(
        _population(case),
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=list(COVARIATES),
        comparison={"Groningen": "reference"},
    )


def _population(case: str):
    import pwbayes as pw

    if case == "person":
        df, _ = pw.examples.simulate_participants(random_seed=1)
        return df
    df, _ = pw.examples.simulate_participants(random_seed=1, size=100)
    return pw.bin_covariates(df, BINS)


def textbook_inputs(case: str):
    """The pwbayes model whose data (and priors) the textbook models are fitted to.

    At national scale the textbook models get the exact likelihood over the binned,
    collapsed cells (what pwbayes's ``likelihood="exact"`` would use).
    """
    if case != "national":
        return build_pwbayes(case)
    import pwbayes as pw
    from pwbayes.data.population import COVARIATES

    return pw.PersonModel(
        _population(case),
        site="municipality",
        arm="arm",
        outcome="work_gt_8h",
        covariates=list(COVARIATES),
        comparison={"Groningen": "reference"},
        likelihood="exact",
        parameterization="noncentered",  # no stage-one fit: it is not used here
    )


def textbook_pymc(model):
    """The textbook non-centred PyMC model of ``model``'s data and priors."""
    import pymc as pm
    from stan_programs import person_data, summary_data

    d = model.data
    coords = {"site": d.sites, "component": d.components}
    if hasattr(model, "family"):  # person
        s = person_data(model)
        with pm.Model(coords=coords | {"covariate": d.covariates}) as m:
            alpha_mu = pm.Normal("alpha_mu", s["alpha_mu_loc"], s["alpha_mu_scale"])
            alpha_sd = pm.HalfNormal("alpha_sd", s["alpha_sd_scale"])
            alpha_z = pm.Normal("alpha_z", 0, 1, dims="site")
            mu = pm.Normal("mu", s["mu_loc"], s["mu_scale"], dims="component")
            tau = pm.HalfNormal("tau", s["tau_scale"], dims="component")
            z = pm.Normal("z", 0, 1, dims=("site", "component"))
            gamma = pm.Normal("gamma", s["gamma_loc"], s["gamma_scale"], dims="covariate")
            alpha = alpha_mu + alpha_sd * alpha_z
            beta = mu + tau * z
            eta_cells = (alpha[:, None] + pm.math.dot(beta, np.asarray(s["design"]).T)).flatten()
            cell = np.asarray(s["cell"]) - 1
            eta = eta_cells[cell] + pm.math.dot(np.asarray(s["x"]), gamma)
            pm.Binomial("k", n=np.asarray(s["n"]), logit_p=eta, observed=np.asarray(s["k"]))
        return m
    s = summary_data(model)
    with pm.Model(coords=coords) as m:
        mu = pm.Normal("mu", s["mu_loc"], s["mu_scale"], dims="component")
        tau = pm.HalfNormal("tau", s["tau_scale"], dims="component")
        z = pm.Normal("z", 0, 1, dims=("site", "component"))
        beta = pm.Deterministic("beta", mu + tau * z, dims=("site", "component"))
        site = np.asarray(s["site"]) - 1
        pred = (beta[site] * np.asarray(s["x"])).sum(axis=1)
        pm.Normal("y", pred, np.asarray(s["se"]), observed=np.asarray(s["y"]))
    return m


# ---------------------------------------------------------------- one contender
def _settings(case: str, contender: str) -> dict:
    if case == "national" and contender in ("stan", "pymc", "nutpie"):
        return dict(SHORT)
    return {"chains": 4, "tune": 1000, "draws": 2000 if case == "summary" else 1000}


def _stats(idata) -> dict:
    import arviz as az

    ess = az.ess(idata, var_names=["mu", "tau"])
    stats = idata.sample_stats
    steps = next((stats[k] for k in ("n_steps", "tree_size") if k in stats), None)
    return {
        "min_bulk_ess": float(ess.to_array().min()),
        "min_bulk_ess_mu": float(ess["mu"].min()),
        "min_bulk_ess_tau": float(ess["tau"].min()),
        "max_rhat": float(az.rhat(idata, var_names=["mu", "tau"]).to_array().max()),
        "divergences": int(stats["diverging"].sum()),
        "steps_per_draw": float(steps.mean()) if steps is not None else None,
    }


def _repeat_stats(idata) -> dict:
    return {"repeat_min_bulk_ess": _stats(idata)["min_bulk_ess"]}


def default_target_accept(model) -> float:
    """``fit()``'s default target acceptance for ``model``: 0.8 only when whitened."""
    return 0.8 if getattr(model, "_whitening", None) is not None else 0.95


def _pm_sample(pm_model, settings: dict, seed: int, numpyro: bool, target_accept: float):
    import pymc as pm

    with pm_model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm.sample(
            draws=settings["draws"],
            tune=settings["tune"],
            chains=settings["chains"],
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            nuts_sampler="numpyro" if numpyro else "pymc",
            target_accept=target_accept,
            **({"nuts_sampler_kwargs": {"chain_method": "parallel"}} if numpyro else {}),
        )


def run_contender(case: str, contender: str, seed: int) -> dict:
    """Build, compile and sample one contender; return its timings and diagnostics."""
    settings = _settings(case, contender)
    out: dict = {"case": case, "contender": contender, **settings}
    start = time.perf_counter()
    if contender in ("pwbayes", "pwbayes_warm", "pwbayes_pymc", "pwbayes_pymc_warm"):
        model = build_pwbayes(case)
        _ = model.model
        built = time.perf_counter()
        sampler = "pymc" if contender.startswith("pwbayes_pymc") else "auto"
        result = model.fit(random_seed=seed, progress=False, sampler=sampler, **settings)
        end = time.perf_counter()
        timings = dataclasses.asdict(result.record.timings)
        compile_s, sample_s = timings["compile_s"], timings["sample_s"]
        if "sampling_time" in result.idata.posterior.attrs:  # pm.sample compiles inside
            sample_s = float(result.idata.posterior.attrs["sampling_time"])
            compile_s += timings["sample_s"] - sample_s
        # the person model times its post-processing (percentage-point effects by
        # g-computation; at national scale also the conditional draws of the site
        # effects), which no other contender does: wall_s - effects_s is the time to the
        # sampled posterior alone
        if "effects_s" in timings:
            out["effects_s"] = timings["effects_s"]
        out.update(
            sampler=result.record.sampling.sampler,
            build_s=built - start,
            compile_s=compile_s,
            sample_s=sample_s,
            wall_s=end - start,
            **_stats(result.idata),
        )
        if hasattr(model, "likelihood"):
            out["likelihood"] = model.likelihood
        if case in REPEAT_CASES:  # a second fit in the same process: a new model object
            start = time.perf_counter()
            again = build_pwbayes(case).fit(
                random_seed=seed + 1, progress=False, sampler=sampler, **settings
            )
            out.update(repeat_wall_s=time.perf_counter() - start, **_repeat_stats(again.idata))
        return out
    if contender in ("stan", "stan_marginal"):
        import stan
        from stan_programs import (
            MARGINAL,
            PERSON,
            SUMMARY,
            marginal_data,
            person_data,
            summary_data,
            to_idata,
        )

        if contender == "stan_marginal":
            model = build_pwbayes(case)
            code, data = MARGINAL, marginal_data(model)
        elif case == "summary":
            model = build_pwbayes(case)
            code, data = SUMMARY, summary_data(model)
        else:
            model = textbook_inputs(case)
            code, data = PERSON, person_data(model)
        built = time.perf_counter()
        # a comment Stan has not seen makes a new program: the compile is always counted
        program = stan.build(code + f"\n// {uuid.uuid4()}\n", data=data, random_seed=seed)
        compiled = time.perf_counter()
        fit = program.sample(
            num_chains=settings["chains"],
            num_samples=settings["draws"],
            num_warmup=settings["tune"],
        )
        end = time.perf_counter()
        coords = {"site": model.data.sites, "component": model.data.components}
        idata = to_idata(fit, ["mu", "tau"], coords, {"mu": ["component"], "tau": ["component"]})
        out.update(
            sampler="stan",
            build_s=built - start,
            compile_s=compiled - built,
            sample_s=end - compiled,
            wall_s=end - start,
            **_stats(idata),
        )
        return out
    if contender == "pwbayes_numpyro":
        model = build_pwbayes(case)
        pm_model = model.model
        target_accept = default_target_accept(model)
    else:
        model = textbook_inputs(case)
        pm_model = textbook_pymc(model)
        target_accept = 0.8
    built = time.perf_counter()
    if contender == "nutpie":
        import nutpie

        compiled_model = nutpie.compile_pymc_model(pm_model)
        compiled = time.perf_counter()
        idata = nutpie.sample(
            compiled_model,
            chains=settings["chains"],
            tune=settings["tune"],
            draws=settings["draws"],
            seed=seed,
            progress_bar=False,
        )
        end = time.perf_counter()
        out.update(compile_s=compiled - built, sample_s=end - compiled)
    else:
        numpyro = contender.endswith("numpyro")
        idata = _pm_sample(pm_model, settings, seed, numpyro, target_accept)
        end = time.perf_counter()
        # pm.sample compiles inside; its sampling-only time is in the sample stats
        # (numpyro's includes JAX's compilation, which happens inside its first call)
        sampling = float(idata.posterior.attrs.get("sampling_time", end - built))
        out.update(compile_s=(end - built) - sampling, sample_s=sampling)
    out.update(sampler=contender, build_s=built - start, wall_s=end - start, **_stats(idata))
    if contender == "pwbayes_numpyro" and case in REPEAT_CASES:
        start = time.perf_counter()
        again = _pm_sample(build_pwbayes(case).model, settings, seed + 1, True, target_accept)
        out.update(repeat_wall_s=time.perf_counter() - start, **_repeat_stats(again))
    return out


# ---------------------------------------------------------------- orchestration
def run_case(case: str, contenders: list[str], seed: int, timeout: float) -> list[dict]:
    """Each contender in a fresh process with empty compile caches."""
    rows = []
    with tempfile.TemporaryDirectory() as base:
        for contender in contenders:
            # pwbayes_warm: the caches pwbayes's first (cold) process left on disk
            tmp = Path(base) / contender.removesuffix("_warm")
            env = dict(os.environ)
            env["NUMBA_CACHE_DIR"] = str(tmp / "numba")
            env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp / 'pytensor'}"
            env["XLA_FLAGS"] = XLA_FLAGS  # JAX has no on-disk cache unless asked
            tmp.mkdir(exist_ok=True)
            result = tmp / "result.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--case", case, "--contender",
                   contender, "--seed", str(seed), "--result", str(result)]  # fmt: skip
            print(f"[{case}] {contender} ...", flush=True)
            t = time.perf_counter()
            # a session of its own, so that a timeout also stops pm.sample's workers
            pipe = subprocess.PIPE
            proc = subprocess.Popen(cmd, env=env, cwd=HERE.parent, stdout=pipe, stderr=pipe,
                                    text=True, start_new_session=True)  # fmt: skip
            try:
                _, stderr = proc.communicate(timeout=60 * timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                print(f"  did not finish within {timeout} minutes", flush=True)
                rows.append({"case": case, "contender": contender,
                             "error": f"did not finish within {timeout} minutes"})  # fmt: skip
                continue
            if proc.returncode != 0:
                print(stderr[-3000:])
                error = stderr.strip().splitlines()[-1] if stderr.strip() else "failed"
                rows.append({"case": case, "contender": contender, "error": error})
                continue
            row = json.loads(result.read_text())
            row["process_s"] = time.perf_counter() - t
            rows.append(row)
            print(
                f"  wall {row['wall_s']:.1f} s (compile {row['compile_s']:.1f}, sample "
                f"{row['sample_s']:.1f}), min ESS {row['min_bulk_ess']:.0f}, "
                f"divergences {row['divergences']}",
                flush=True,
            )
    return add_ratios(rows)


def add_ratios(rows: list[dict]) -> list[dict]:
    """ESS per second (of sampling, of wall time, without post-processing) and ratios."""
    done = [r for r in rows if "error" not in r]
    for r in done:
        r["ess_per_sample_s"] = r["min_bulk_ess"] / r["sample_s"]
        r["ess_per_wall_s"] = r["min_bulk_ess"] / r["wall_s"]
        # to the sampled posterior alone, without pwbayes's post-processing
        r["ess_per_posterior_s"] = r["min_bulk_ess"] / (r["wall_s"] - r.get("effects_s", 0.0))
    for name in REFERENCES:
        ref = next((r for r in done if r["contender"] == name), None)
        for r in done if ref is not None else []:
            r[f"ratio_ess_per_wall_vs_{name}"] = r["ess_per_wall_s"] / ref["ess_per_wall_s"]
            r[f"ratio_ess_per_posterior_vs_{name}"] = (
                r["ess_per_posterior_s"] / ref["ess_per_posterior_s"]
            )
            r[f"ratio_ess_per_sample_vs_{name}"] = r["ess_per_sample_s"] / ref["ess_per_sample_s"]
    return rows


def _num(x: float) -> str:
    """A figure for the tables: three significant digits below 1, none above 100."""
    if x != x:  # NaN: no reference in this run
        return ""
    return f"{x:.3f}" if abs(x) < 1 else f"{x:.2f}" if abs(x) < 100 else f"{x:,.0f}"


def table(rows: list[dict], reference: str = "stan") -> str:
    """Markdown table of a case's rows, with ratios to ``reference``."""
    head = ("| contender | wall (s) | compile (s) | sampling (s) | post-processing (s) | min bulk "
            "ESS (`mu`, `tau`) | ESS/s sampling | ESS/s wall | ESS/s wall without "
            f"post-processing | vs {reference}: ESS/s wall | vs {reference}: ESS/s wall without "
            f"post-processing | vs {reference}: ESS/s sampling | divergences | steps/draw "
            "| max R-hat |")  # fmt: skip
    lines = [head, "| --- |" + " ---: |" * 14]
    nan = float("nan")
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['contender']} | {r['error'][:60]} |" + " |" * 13)
            continue
        steps = f"{r['steps_per_draw']:.1f}" if r.get("steps_per_draw") else ""
        post = f"{r['effects_s']:.1f}" if "effects_s" in r else "—"
        lines.append(
            f"| {r['contender']} | {r['wall_s']:.1f} | {r['compile_s']:.1f} | {r['sample_s']:.1f} "
            f"| {post} | {r['min_bulk_ess']:.0f} "
            f"| {_num(r['ess_per_sample_s'])} | {_num(r['ess_per_wall_s'])} "
            f"| {_num(r['ess_per_posterior_s'])} "
            f"| {_num(r.get(f'ratio_ess_per_wall_vs_{reference}', nan))} "
            f"| {_num(r.get(f'ratio_ess_per_posterior_vs_{reference}', nan))} "
            f"| {_num(r.get(f'ratio_ess_per_sample_vs_{reference}', nan))} "
            f"| {r['divergences']} | {steps} | {r['max_rhat']:.3f} |"
        )
    return "\n".join(lines)


def repeat_table(rows: list[dict]) -> str:
    """Markdown table of the second fits in the same process."""
    lines = ["| contender | second fit, same process (s) | min bulk ESS | ESS/s wall |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    for r in rows:
        if "repeat_wall_s" in r:
            ess, wall = r["repeat_min_bulk_ess"], r["repeat_wall_s"]
            lines.append(f"| {r['contender']} | {wall:.1f} | {ess:.0f} | {_num(ess / wall)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=list(CONTENDERS), required=True)
    ap.add_argument("--contender", default=None, help="run one contender in this process")
    ap.add_argument("--only", nargs="*", default=None, help="a subset of the contenders")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30, help="minutes per contender")
    ap.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    known = CONTENDERS[args.case]
    unknown = [c for c in [*(args.only or []), args.contender] if c and c not in known]
    if unknown:  # an unknown name would otherwise run as the textbook PyMC model
        ap.error(f"unknown contender(s) {unknown} for --case {args.case}; known: {known}")
    sys.path.insert(0, str(HERE))
    if args.contender:  # child process
        row = run_contender(args.case, args.contender, args.seed)
        args.result.write_text(json.dumps(row))
        return
    rows = run_case(args.case, args.only or CONTENDERS[args.case], args.seed, args.timeout)
    name = args.case if not args.only else "_".join([args.case, *args.only])
    out = HERE / "out" / f"speed_{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    for reference in REFERENCES:
        if any(r["contender"] == reference and "error" not in r for r in rows):
            print(table(rows, reference))
    if any("repeat_wall_s" in r for r in rows):
        print(repeat_table(rows))


if __name__ == "__main__":
    main()
