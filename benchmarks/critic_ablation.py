"""CodeRL's critic, one design choice at a time.

φ (the outcome: compile error, runtime error, failed test, passed) and φ_test (do the
example tests pass) are trained by a chain of recipes, each adding one choice to the one
before, from the recipe this project started with (:meth:`CriticConfig.original`) to
the defaults (:class:`CriticConfig`). Every critic is measured on the same programs:
the warm-start's samples for the held-out split C, which no critic's training data
touches (:attr:`CriticConfig.held_out_samples_per_task`, 16 per task, temperature 1,
their own seed). Reported for each: accuracy,
balanced accuracy (the mean recall over the classes present: a constant scores
1 / classes), each class's recall, the accuracy of always answering the training
set's commonest class (the constant to beat), the negative log-likelihood and the
expected calibration error.

The tasks and the warm-start are the learning benchmark's (benchmarks/learning.py): the
built-in train split cut into A (solutions seen) and B (rewards only), the tiny GPT-2
warm-started with cross-entropy on A. The programs of every recipe come from one pool,
sampled once: the warm-start's and a copy's after ``--rl-updates`` actor-critic updates
on B, rewards only (:func:`train_rl_sampler`, as the default recipe trains it), at
temperatures 0.6, 1.0 and 1.3, 8 per task and temperature, for A's and B's tasks; A's
references labelled passed, and 16 graded mutants of each. Each recipe takes its part of
the pool. The chain's last step, the RL actor's programs, reaches the default recipe;
``--rl-updates 0`` stops the chain one step short of it.

    python benchmarks/critic_ablation.py   # first run: ~40 min of sampling and grading
                                           # on 2 cores, then minutes per row; cached
    python benchmarks/critic_ablation.py --quick --out /tmp/ablation   # a smoke run

Output: ``critic_ablation.json`` in ``--out`` (default docs/, where
benchmarks/learning.py reads it into results.md; it holds the table as printed),
``critic_reliability.png`` (the original and the default recipe's reliability
diagrams), and the table, printed.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from agents import Policy
from agents.coderl import critic as critic_module
from agents.coderl.critic import (
    OUTCOME_CLASSES,
    TEST_CLASSES,
    CriticConfig,
    CriticExample,
    CriticReport,
    OutcomeCritic,
    collect_training_programs,
    deduplicate,
    evaluate_critic,
    held_out_programs,
    plot_reliability,
    syntax_figures,
    train_one_critic,
    train_rl_sampler,
)
from agents.coderl.syntax import program_compiles
from agents.common.config import SamplingConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.common.reporting import markdown_table
from agents.run.train import WARM_START
from agents.run.warm_start import default_cache_dir, rl_sampler_dir, warm_start
from code_env import load_tasks
from code_env.sandbox import Sandbox

MAX_NEW_TOKENS = 96
#: The temperatures the pool is sampled at (every recipe takes a subset).
POOL_TEMPERATURES = (0.6, 1.0, 1.3)
POOL_SAMPLES_PER_TASK = 8
#: Mutants graded per reference solution (recipes take the first ones).
POOL_MUTANTS = 16


@dataclass(frozen=True)
class Recipe:
    """One row: a name, what it adds and its config."""

    name: str
    adds: str
    config: CriticConfig


def recipes(rl_updates: int, quick: bool) -> list[Recipe]:
    """The chain, each recipe the one before plus one choice, ending at the default
    recipe (one step short of it with ``rl_updates`` 0: no RL actor's programs); then
    the chain's last recipe with one choice taken out, for the choices that matter
    most."""
    budget: dict[str, Any] = {"steps": 6, "eval_every": 3} if quick else {}
    c = CriticConfig.original(**budget)
    chain = [Recipe("original", "the recipe the project started with", c)]

    def add(name: str, adds: str, **changes: Any) -> None:
        nonlocal c
        c = replace(c, **changes)
        chain.append(Recipe(name, adds, c))

    add("temperatures", "programs at temperatures 0.6, 1.0 and 1.3", temperatures=POOL_TEMPERATURES)
    add("A's programs", "programs sampled for A's tasks too", sample_reference_tasks=True)
    add("A's references", "A's references, labelled passed", references=True)
    add("dedup", "a program sampled twice for a task counts once", dedup=True)
    add("class weights", "each class weighted by its inverse frequency", balance=True)
    add(
        "kept by balanced accuracy",
        "the weights kept by validation balanced accuracy, not accuracy",
        select_by="balanced_accuracy",
    )
    add(
        "actor's LM",
        "the backbone a copy of the actor's language model (600 steps at 3e-4, not a "
        "new GPT-2 for 300 at 1e-3)",
        init="actor",
        **({} if quick else {"steps": 600, "lr": 3e-4}),
    )
    add(
        "reference mutants",
        f"{POOL_MUTANTS} graded mutants of each reference (one edit: near misses)",
        reference_mutants=POOL_MUTANTS,
    )
    add(
        "reads brackets",
        "the critic reads where brackets fail to match (most of the compile errors)",
        read_brackets=True,
    )
    add(
        "knows syntax",
        "the parser's verdict on whether the program compiles taken as given",
        knows_syntax=True,
    )
    add(
        "logit offsets",
        "per-class logit offsets fitted on the validation tasks (the best balanced "
        "accuracy that keeps the constant's accuracy)",
        adjust_logits=True,
    )
    add("calibrated", "a temperature fitted on the validation tasks", calibrate=True)
    if rl_updates:
        add(
            "RL actor's programs",
            f"programs a copy of the actor samples after {rl_updates} actor-critic updates "
            "on B (rewards only) join",
            actor_rl_updates=rl_updates,
        )
    final = chain[-1]
    chain.append(
        Recipe(
            "default, no class weights",
            "the chain's last recipe without class weights",
            replace(final.config, balance=False),
        )
    )
    chain.append(
        Recipe(
            "default, new GPT-2",
            "the chain's last recipe with a new GPT-2 as backbone",
            replace(final.config, init="scratch", **({} if quick else {"steps": 300, "lr": 1e-3})),
        )
    )
    return chain


def part_of_pool(
    pool: list[CriticExample], recipe: Recipe, rl_task_ids: set[str]
) -> list[CriticExample]:
    """The programs of ``pool`` that ``recipe`` trains on."""
    config = recipe.config
    kept = []
    mutants_taken: dict[str, int] = {}
    for e in pool:
        if e.source == "reference":
            if config.references:
                kept.append(e)
        elif e.source == "mutant":
            if mutants_taken.get(e.task_id, 0) < config.reference_mutants:
                mutants_taken[e.task_id] = mutants_taken.get(e.task_id, 0) + 1
                kept.append(e)
        elif (
            (e.sampler == "warm-start" or (e.sampler == "rl-actor" and config.actor_rl_updates))
            and e.temperature in config.temperatures
            and (config.sample_reference_tasks or e.task_id in rl_task_ids)
        ):
            kept.append(e)
    return deduplicate(kept) if config.dedup else kept


def with_verdicts(
    examples: list[CriticExample], tasks_by_id: dict[str, Any], policy: Policy
) -> list[CriticExample]:
    """``examples`` with whether each compiles filled in where it is not known."""
    verdicts: dict[tuple[str, tuple[int, ...]], bool] = {}
    out = []
    for e in examples:
        if e.compiles is None:
            if e.key not in verdicts:
                text = policy.decode(e.completion_ids)
                verdicts[e.key] = program_compiles(tasks_by_id[e.task_id].program(text))
            e = replace(e, compiles=verdicts[e.key])
        out.append(e)
    return out


def rl_actor(
    warm_path: str, a_tasks, b_tasks, sandbox, updates: int, seed: int, quiet: bool
) -> Policy:
    """A copy of the warm-start after ``updates`` actor-critic updates on B (rewards
    only, A's solutions in its replay buffer), as the default recipe trains it, cached
    by its settings."""
    return train_rl_sampler(
        warm_path,
        without_solutions(b_tasks),
        sandbox,
        rl_sampler_dir(warm_path, updates, seed),
        updates=updates,
        reference_tasks=a_tasks,
        sampling=SamplingConfig(max_new_tokens=MAX_NEW_TOKENS),
        seed=seed,
        progress=not quiet,
    )


def measure(
    report: CriticReport,
    info: dict[str, Any],
    critic: OutcomeCritic | None = None,
    held: list[CriticExample] | None = None,
) -> dict[str, Any]:
    """The figures of one critic on the held-out programs; for a critic that knows
    syntax, also the constant told whether each program compiles, and the network's
    own figures on the programs that compile."""
    figures = {**report.to_dict(), "constant": report.constant_accuracy(info["train_majority"])}
    if critic is not None and held is not None and critic.knows_syntax:
        figures.update(syntax_figures(critic, held, list(info["train_label_counts"].values())))
    return figures


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The markdown table of the ablation (percentages)."""
    header = [
        "recipe",
        "adds",
        "φ programs",
        "φ acc.",
        "φ constant",
        "φ constant told compiles",
        "φ bal. acc.",
        "φ on compiling: acc. (constant) / bal.",
        "φ recall CE / RE / FT / P",
        "φ ECE",
        "φ_test programs",
        "φ_test acc.",
        "φ_test constant",
        "φ_test recall passed",
        "φ_test ECE",
    ]
    body = []
    for r in rows:
        o, t = r["outcome"], r["test"]
        recall = " / ".join(pct(o["held_out"]["recall"][c]) for c in OUTCOME_CLASSES)
        body.append(
            [
                r["name"],
                r["adds"],
                str(o["train_examples"] + o["validation"]["n"]),
                pct(o["held_out"]["accuracy"]),
                pct(o["held_out"]["constant"]),
                pct(o["held_out"].get("constant_given_syntax")),
                pct(o["held_out"]["balanced_accuracy"]),
                compiling_figures(o["held_out"]),
                recall,
                f"{o['held_out']['ece']:.3f}",
                str(t["train_examples"] + t["validation"]["n"]),
                pct(t["held_out"]["accuracy"]),
                pct(t["held_out"]["constant"]),
                pct(t["held_out"]["recall"]["passed"]),
                f"{t['held_out']['ece']:.3f}",
            ]
        )
    return header, body


def compiling_figures(held: dict[str, Any]) -> str:
    """The network's own figures on the programs that compile (a critic that knows
    syntax), or n/a."""
    own = held.get("compiling")
    if not own:
        return "n/a"
    return f"{pct(own['accuracy'])} ({pct(own['constant'])}) / {pct(own['balanced_accuracy'])}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where the results go")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--rl-updates",
        type=int,
        default=CriticConfig().actor_rl_updates,
        help="actor-critic updates of the copy of the actor whose programs the chain's "
        "last step adds (0: no such step; default: the default recipe's, "
        f"{CriticConfig().actor_rl_updates})",
    )
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    c_tasks = load_tasks("builtin", split="test")
    pool_per_temperature = POOL_SAMPLES_PER_TASK
    if args.quick:
        a_tasks, b_tasks, c_tasks = a_tasks[:6], b_tasks[:6], c_tasks[:4]
        pool_per_temperature = 2
    settings = {**WARM_START, "steps": 20} if args.quick else WARM_START
    warm_path = str(warm_start(solution_pairs(a_tasks), progress=not args.quiet, **settings))
    policy = Policy(warm_path, reference=False)
    sampling = SamplingConfig(max_new_tokens=16 if args.quick else MAX_NEW_TOKENS)
    rl_task_ids = {t.task_id for t in b_tasks}
    chain = recipes(args.rl_updates, args.quick)
    # the chain's last recipe (the default one, with the RL actor's programs), before
    # the rows that take one choice out of it
    last_of_chain = [r for r in chain if not r.name.startswith("default, ")][-1]

    # The pool and the held-out programs are cached: sampling and grading them is most
    # of the run's time, and they depend only on the models, the tasks and the seed (the
    # held-out programs also on how many each C task gets, so they have their own file).
    key = hashlib.sha256(
        json.dumps(
            [
                Path(warm_path).name,
                args.rl_updates,
                args.seed,
                args.quick,
                POOL_TEMPERATURES,
                pool_per_temperature,
                POOL_MUTANTS,
                MAX_NEW_TOKENS,
                [t.task_id for t in (*a_tasks, *b_tasks, *c_tasks)],
            ]
        ).encode()
    ).hexdigest()[:16]
    cache = default_cache_dir() / "critic-ablation" / f"programs-{key}.json"
    held_per_task = CriticConfig().held_out_samples_per_task
    held_cache = cache.with_name(f"held-{key}-{held_per_task}.json")
    cache.parent.mkdir(parents=True, exist_ok=True)
    with Sandbox() as sandbox:
        if held_cache.is_file():
            saved = json.loads(held_cache.read_text())
            held = {k: [CriticExample(**e) for e in v] for k, v in saved.items()}
            print(f"held-out programs: cached ({held_cache.name})", flush=True)
        else:
            held = held_out_programs(
                policy, c_tasks, sandbox, CriticConfig(), sampling=sampling, seed=args.seed
            )
            plain = {k: [asdict(e) for e in v] for k, v in held.items()}
            held_cache.write_text(json.dumps(plain))
        if cache.is_file():
            saved = json.loads(cache.read_text())
            pool = {k: [CriticExample(**e) for e in v] for k, v in saved["pool"].items()}
            print(f"pool: cached ({cache.name})", flush=True)
        else:
            samplers = {"warm-start": policy}
            if args.rl_updates > 0:
                samplers["rl-actor"] = rl_actor(
                    warm_path, a_tasks, b_tasks, sandbox, args.rl_updates, args.seed, args.quiet
                )
            pool_config = CriticConfig(
                samples_per_task=pool_per_temperature,
                temperatures=POOL_TEMPERATURES,
                sample_reference_tasks=True,
                references=True,
                reference_mutants=POOL_MUTANTS,
                dedup=False,
            )
            torch.manual_seed(args.seed)
            pool = collect_training_programs(
                samplers,
                without_solutions(b_tasks),
                sandbox,
                pool_config,
                reference_tasks=a_tasks,
                sampling=sampling,
            )
            plain = {"pool": {k: [asdict(e) for e in v] for k, v in pool.items()}}
            cache.write_text(json.dumps(plain))
    # pools cached before the critics knew syntax: the parser's verdict, from the text
    tasks_by_id = {t.task_id: t for t in (*a_tasks, *b_tasks, *c_tasks)}
    pool = {k: with_verdicts(v, tasks_by_id, policy) for k, v in pool.items()}
    print(
        f"pool: {len(pool['outcome'])} φ and {len(pool['test'])} φ_test programs; held out: "
        f"{len(held['outcome'])} programs of {len(c_tasks)} C tasks "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )

    # Each row is kept as soon as it is measured, keyed by the programs and the critic's
    # code: a run that stops part-way goes on from the next row.
    code = hashlib.sha256(inspect.getsource(critic_module).encode()).hexdigest()[:12]
    done_file = cache.with_name(f"rows-{key}-{held_per_task}-{code}.json")
    done = json.loads(done_file.read_text()) if done_file.is_file() else {}
    rows: list[dict[str, Any]] = []
    reliability: dict[str, CriticReport] = {}
    for recipe in chain:
        t0 = time.perf_counter()
        row: dict[str, Any] = {
            "name": recipe.name,
            "adds": recipe.adds,
            "config": json.loads(json.dumps(recipe.config.to_dict())),  # as saved
        }
        saved_row = done.get(recipe.name)
        reports: dict[str, CriticReport] = {}
        if saved_row is not None and saved_row["config"] == row["config"]:
            row = {**saved_row, **row}  # the measurements kept, the row's words as now
            for name in ("outcome", "test"):
                held_dict = row[name]["held_out"]
                reports[name] = CriticReport(
                    tuple(held_dict["classes"]),
                    held_dict["accuracy"],
                    held_dict["confusion"],
                    held_dict["n"],
                    held_dict["reliability"],
                    held_dict["nll"],
                )
        else:
            for name, classes in (("outcome", OUTCOME_CLASSES), ("test", TEST_CLASSES)):
                data = part_of_pool(pool[name], recipe, rl_task_ids)
                critic, info = train_one_critic(
                    data, classes, policy, recipe.config, seed=args.seed
                )
                reports[name] = evaluate_critic(critic, held[name])
                row[name] = {
                    **info,
                    "held_out": measure(reports[name], info, critic, held[name]),
                }
            row["seconds"] = round(time.perf_counter() - t0, 1)
            done[recipe.name] = row
            done_file.write_text(json.dumps(done))
        if recipe is chain[0] or recipe is last_of_chain:
            for name, report in reports.items():
                label = "φ" if name == "outcome" else "φ_test"
                reliability[f"{label}, {recipe.name}"] = report
        rows.append(row)
        o, t = row["outcome"]["held_out"], row["test"]["held_out"]
        print(
            f"{recipe.name}: φ acc {pct(o['accuracy'])} (constant {pct(o['constant'])}), "
            f"balanced {pct(o['balanced_accuracy'])}; φ_test acc {pct(t['accuracy'])} "
            f"(constant {pct(t['constant'])}), passed recall {pct(t['recall']['passed'])} "
            f"[{row['seconds']:.0f} s]",
            flush=True,
        )

    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_reliability(
        reliability,
        args.out / "critic_reliability.png",
        title="critics on C's programs: original vs default recipe",
    )
    held_counts = {
        name: {
            c: sum(1 for e in held[name] if e.label == i)
            for i, c in enumerate(OUTCOME_CLASSES if name == "outcome" else TEST_CLASSES)
        }
        for name in ("outcome", "test")
    }
    result = {
        "command": "python benchmarks/critic_ablation.py"
        + (
            f" --rl-updates {args.rl_updates}"
            if args.rl_updates != CriticConfig().actor_rl_updates
            else ""
        )
        + (" --quick" if args.quick else ""),
        "seed": args.seed,
        "tasks": {"A": len(a_tasks), "B": len(b_tasks), "C": len(c_tasks)},
        "pool": {name: len(v) for name, v in pool.items()},
        "held_out": {"n": {k: len(v) for k, v in held.items()}, "labels": held_counts},
        "rl_updates": args.rl_updates,
        "device": str(policy.device),
        "torch_threads": torch.get_num_threads(),
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
        "table": dict(zip(("header", "rows"), table(rows), strict=True)),
    }
    (args.out / "critic_ablation.json").write_text(json.dumps(result, indent=1))
    print()
    print(markdown_table(result["table"]["header"], result["table"]["rows"]))
    print(f"\nwrote {args.out / 'critic_ablation.json'} and {png} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
