"""How steady is a critic's decision on tasks it never read? The default recipe, across
task folds.

The default recipe (:class:`CriticConfig`) holds out a fifth of its tasks, keeps the
weights that do best on them and fits its per-class logit offsets there. With a few
hundred validation programs, which side of the constant a critic lands on for the
held-out split C could depend on which tasks happened to validate it. This benchmark
measures that: the training programs of ``code-synthesis train-critic`` (the same
warm-start, copy of it after RL, tasks, recipe and seed) are cut into ``--folds`` task
folds; for each fold a critic is trained on the others and validated on it, exactly as
the recipe does with its one split. Then:

- **each fold's critic, its own offsets**: what the default recipe gives with that fold
  as its validation split;
- **out-of-fold, pooled offsets**: the offsets searched on every training program at
  once, each scored by the critic that did not train on it (:func:`search_offsets`, the
  search of :func:`fit_offsets`), with the figures of that decision on those programs;
- **each fold's critic and the mean of their logits, pooled offsets**, on C.

Every figure is on the programs the warm-start samples for C (16 per task, as
``train-critic`` measures), beside the constant to beat (the training set's commonest
class, told the parser's verdict where the critic takes it).

    python benchmarks/critic_folds.py                 # φ_test, 3 folds: ~15 min on 2 cores
    python benchmarks/critic_folds.py --critic outcome
    python benchmarks/critic_folds.py --quick --out /tmp/folds   # a smoke run

Output: ``critic_folds_{critic}.json`` in ``--out`` (default docs/) and the table, printed.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents import Policy
from agents.coderl.critic import (
    OUTCOME_CLASSES,
    TEST_CLASSES,
    CriticConfig,
    CriticExample,
    collect_training_programs,
    constant_accuracy,
    held_out_programs,
    raw_logits,
    search_offsets,
    train_one_critic,
    train_rl_sampler,
)
from agents.common.config import SamplingConfig
from agents.common.data import solution_pairs
from agents.common.reporting import markdown_table
from agents.run.train import WARM_START, plan_tasks, without_solutions
from agents.run.warm_start import rl_sampler_dir, warm_start
from code_env.sandbox import Sandbox

#: The programs' length, as ``code-synthesis train-critic`` samples them.
MAX_NEW_TOKENS = 96


def task_folds(
    examples: list[CriticExample], folds: int, seed: int
) -> list[tuple[list[CriticExample], list[int]]]:
    """``folds`` pairs of (training examples, indices of the validation examples): the
    tasks, shuffled by ``seed``, dealt into folds, so that no task is on both sides."""
    ids = sorted({e.task_id for e in examples})
    random.Random(seed).shuffle(ids)
    fold_of = {task: i % folds for i, task in enumerate(ids)}
    return [
        (
            [e for e in examples if fold_of[e.task_id] != k],
            [i for i, e in enumerate(examples) if fold_of[e.task_id] == k],
        )
        for k in range(folds)
    ]


def decision(
    logits: np.ndarray, labels: np.ndarray, allowed: np.ndarray | None, offsets: np.ndarray
) -> dict[str, Any]:
    """The figures of a decision (argmax of ``logits + offsets`` where ``allowed``):
    accuracy, balanced accuracy, each class's recall and how often each class is
    predicted."""
    scores = logits + offsets
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    predicted = scores.argmax(-1)
    n_classes = logits.shape[1]
    recall = [
        float((predicted[labels == c] == c).mean()) if (labels == c).any() else None
        for c in range(n_classes)
    ]
    return {
        "accuracy": float((predicted == labels).mean()),
        "balanced_accuracy": float(np.mean([r for r in recall if r is not None])),
        "recall": recall,
        "predicted": np.bincount(predicted, minlength=n_classes).tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--critic",
        choices=("test", "outcome"),
        default="test",
        help="φ_test (example tests, the default) or φ (outcome)",
    )
    parser.add_argument("--folds", type=int, default=3, help="task folds (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where the results go")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error(f"--folds must be at least 2, got {args.folds}")
    start = time.perf_counter()
    name = args.critic
    classes = TEST_CLASSES if name == "test" else OUTCOME_CLASSES
    config = CriticConfig()
    plan = plan_tasks("builtin")
    rl_tasks, reference_tasks, held_tasks = plan.rl_tasks, plan.reference_tasks, plan.held_out
    settings = WARM_START
    if args.quick:
        rl_tasks, reference_tasks, held_tasks = rl_tasks[:6], reference_tasks[:6], held_tasks[:4]
        settings = {**WARM_START, "steps": 20}
        config = replace(
            config, samples_per_task=1, reference_mutants=2, steps=4, eval_every=2,
            held_out_samples_per_task=2, actor_rl_updates=1,
        )  # fmt: skip
    warm_path = str(
        warm_start(solution_pairs(reference_tasks), progress=not args.quiet, **settings)
    )
    policy = Policy(warm_path, reference=False)
    sampling = SamplingConfig(max_new_tokens=16 if args.quick else MAX_NEW_TOKENS)
    with Sandbox() as sandbox:
        held = held_out_programs(
            policy, held_tasks, sandbox, config, sampling=sampling, seed=args.seed
        )[name]
        samplers = {"actor": policy}
        if config.actor_rl_updates:  # the recipe's copy of the actor after RL, cached
            samplers["rl-actor"] = train_rl_sampler(
                warm_path,
                without_solutions(rl_tasks),
                sandbox,
                rl_sampler_dir(warm_path, config.actor_rl_updates, args.seed),
                updates=config.actor_rl_updates,
                reference_tasks=reference_tasks,
                sampling=sampling,
                seed=args.seed,
                progress=not args.quiet,
            )
        torch.manual_seed(args.seed)
        data = collect_training_programs(
            samplers,
            without_solutions(rl_tasks),
            sandbox,
            config,
            reference_tasks=reference_tasks,
            sampling=sampling,
        )[name]
    print(f"{len(data)} training programs, {len(held)} of C ({time.perf_counter() - start:.0f} s)")

    labels = np.array([e.label for e in data])
    counts = np.bincount(labels, minlength=len(classes)).tolist()
    held_labels = np.array([e.label for e in held])
    out_of_fold = np.zeros((len(data), len(classes)))
    held_logits: list[np.ndarray] = []
    rows: list[dict[str, Any]] = []
    critic, held_allowed = None, None
    for k, (train, validation_index) in enumerate(task_folds(data, args.folds, args.seed)):
        validation = [data[i] for i in validation_index]
        critic, info = train_one_critic(
            [],
            classes,
            policy,
            config,
            seed=args.seed,
            progress=not args.quiet,
            desc=f"fold {k}",
            split=(train, validation),
        )
        kept, own = info["kept_step"], info["offsets"]
        # raw logits: before the offsets and temperature fitted on this fold
        out_of_fold[validation_index] = raw_logits(critic, validation).numpy()
        held_logits.append(raw_logits(critic, held).numpy())
        mask = critic.syntax_mask([e.compiles for e in held])
        held_allowed = None if mask is None else mask.numpy()
        rows.append(
            {
                "name": f"fold {k}, its own offsets",
                "kept_step": kept,
                "validation_programs": len(validation),
                "offsets": own,
                "C": decision(held_logits[-1], held_labels, held_allowed, np.array(own)),
            }
        )
        print(f"fold {k}: kept step {kept}, offsets {own} ({time.perf_counter() - start:.0f} s)")

    assert critic is not None
    allowed = critic.syntax_mask([e.compiles for e in data])
    allowed = None if allowed is None else allowed.numpy()
    constant = constant_accuracy(critic, data, counts)
    pooled_scores = out_of_fold if allowed is None else np.where(allowed, out_of_fold, -np.inf)
    pooled = search_offsets(pooled_scores, labels, constant)
    held_constant = constant_accuracy(critic, held, counts)
    for k, logits in enumerate(held_logits):
        rows.append(
            {
                "name": f"fold {k}, pooled offsets",
                "offsets": pooled.tolist(),
                "C": decision(logits, held_labels, held_allowed, pooled),
            }
        )
    rows.append(
        {
            "name": "mean of the folds' logits, pooled offsets",
            "offsets": pooled.tolist(),
            "C": decision(np.mean(held_logits, axis=0), held_labels, held_allowed, pooled),
        }
    )
    result = {
        "command": "python benchmarks/critic_folds.py"
        + (f" --critic {name}" if name != "test" else "")
        + (f" --folds {args.folds}" if args.folds != 3 else "")
        + (" --quick" if args.quick else ""),
        "critic": name,
        "classes": list(classes),
        "folds": args.folds,
        "seed": args.seed,
        "training_programs": len(data),
        "training_label_counts": dict(zip(classes, counts, strict=True)),
        "out_of_fold": {
            "offsets": pooled.tolist(),
            "constant": constant,
            **decision(out_of_fold, labels, allowed, pooled),
        },
        "held_out": {
            "n": len(held),
            "label_counts": dict(
                zip(classes, np.bincount(held_labels, minlength=len(classes)).tolist(), strict=True)
            ),
            "constant": held_constant,
        },
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 1),
    }
    header = ["critic", "offsets", "C acc.", "constant", "C bal. acc.", "recall", "predicted"]
    table = [
        [
            row["name"],
            " / ".join(f"{x:g}" for x in row["offsets"]),
            f"{100 * row['C']['accuracy']:.1f}",
            f"{100 * held_constant:.1f}",
            f"{100 * row['C']['balanced_accuracy']:.1f}",
            " / ".join("n/a" if r is None else f"{100 * r:.0f}" for r in row["C"]["recall"]),
            " / ".join(map(str, row["C"]["predicted"])),
        ]
        for row in rows
    ]
    result["table"] = {"header": header, "rows": table}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"critic_folds_{name}.json"
    path.write_text(json.dumps(result, indent=1))
    oof = result["out_of_fold"]
    print(
        f"out of fold, on all {len(data)} training programs: offsets {oof['offsets']}, "
        f"accuracy {100 * oof['accuracy']:.1f}% (constant {100 * constant:.1f}%), balanced "
        f"{100 * oof['balanced_accuracy']:.1f}%, recall "
        + " / ".join("n/a" if r is None else f"{100 * r:.0f}" for r in oof["recall"])
        + f", predicted {oof['predicted']}"
    )
    print(markdown_table(header, table))
    print(f"\nwrote {path} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
