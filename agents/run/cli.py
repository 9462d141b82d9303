"""The ``code-synthesis`` command.

``code-synthesis train`` trains an agent and reports; ``train-critic`` trains CodeRL's
critics; ``eval --checkpoint`` evaluates a trained agent (``--critic-sampling``: plain
sampling against Critic Sampling at one budget); ``eval --reference`` grades a task
set's reference solutions in the sandbox and prints the outcome table, the quickest
check that a task set, its tests and the sandbox agree.

``--ray [ADDRESS]`` on ``train`` and ``eval`` grades on a Ray cluster
(:class:`~code_env.sandbox.RaySandbox`); ``eval --checkpoint --ray`` also spreads
generation over model replicas on the cluster (:mod:`agents.run.ray_eval`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from agents.common.reporting import format_table
from agents.registry import AGENTS

# What ``--ray`` holds when given without an address (argparse's ``const``): join the
# cluster in RAY_ADDRESS, or start a local Ray.
RAY_NO_ADDRESS = True

_RAY_HELP = (
    "ADDRESS as ray.init takes it: 'auto' (the cluster this machine is part of), "
    "HOST:PORT (the head node's GCS), or ray://HOST:10001 (Ray Client); --ray alone "
    "joins the cluster in RAY_ADDRESS, or without one starts a local Ray on 127.0.0.1. "
    "Needs the ray extra: pip install 'code-synthesis-rl[ray]'"
)


def ray_address(value: str | bool | None) -> str | None:
    """The address ``RaySandbox`` takes for a ``--ray`` value (None: RAY_ADDRESS or a
    local Ray)."""
    return None if value is RAY_NO_ADDRESS or value is None else str(value)


def _ray_trouble(command: str, exc: BaseException) -> int:
    """Print why Ray could not be used (missing, or its cluster unreachable); exit 2."""
    print(f"code-synthesis {command} --ray: {exc}", file=sys.stderr)
    return 2


def _is_ray_trouble(exc: BaseException) -> bool:
    """Whether ``exc`` says Ray is missing or its cluster cannot be reached (the user's
    setup), rather than a bug."""
    from code_env.sandbox import RayClusterError
    from code_env.sandbox.cluster import RAY_INSTALL_HINT

    return isinstance(exc, RayClusterError) or (
        isinstance(exc, ImportError) and RAY_INSTALL_HINT in str(exc)
    )


def _load(args: argparse.Namespace):
    from code_env import load_tasks

    kwargs = {"path": args.path} if args.path else {}
    source = args.tasks
    if Path(source).suffix in (".jsonl", ".gz") or source.endswith(".jsonl.gz"):
        return load_tasks(source, split=args.split)
    return load_tasks(source, split=args.split, **kwargs)


def cmd_train(args: argparse.Namespace) -> int:
    """``code-synthesis train``: warm-start, train, evaluate, report (with
    ``--processes N``, in N data-parallel processes started here)."""
    from agents.common.distributed import launched_processes
    from agents.registry import agent_class
    from agents.run.train import parse_overrides, run_training

    if args.processes < 1:
        print(
            f"code-synthesis train: --processes must be >= 1, got {args.processes}", file=sys.stderr
        )
        return 2
    overrides = parse_overrides(agent_class(args.agent).config_class, args.set or [])
    if args.env != "synthesis":  # (the config field, spelled as a flag)
        overrides["env"] = args.env
    if args.processes > 1 and launched_processes() == 1:
        from agents.run.launch import launch

        return launch(["-m", "agents.run.cli", *without_processes_flag(args.argv)], args.processes)
    try:
        run_training(
            agent_name=args.agent,
            model=args.model,
            tasks=args.tasks,
            path=args.path,
            updates=args.updates,
            out=args.out,
            resume=args.resume,
            seed=args.seed,
            eval_samples=args.eval_samples,
            overrides=overrides,
            warm_start_steps=args.warm_start_steps,
            progress=not args.quiet,
            ray=False if args.ray is None else args.ray,  # True: RAY_ADDRESS or local
        )
    except (ImportError, ConnectionError) as exc:
        if args.ray is None or not _is_ray_trouble(exc):
            raise
        return _ray_trouble("train", exc)
    return 0


def cmd_train_critic(args: argparse.Namespace) -> int:
    """``code-synthesis train-critic``: CodeRL's critics φ and φ_test for a model."""
    from dataclasses import replace

    from agents.coderl.critic import CriticConfig
    from agents.common.data import solution_pairs
    from agents.run.train import WARM_START, plan_tasks, train_critics
    from agents.run.warm_start import warm_start

    plan = plan_tasks(args.tasks, args.path)
    model = args.model
    if model == "tiny":
        model = str(
            warm_start(solution_pairs(plan.reference_tasks), progress=not args.quiet, **WARM_START)
        )
    base = CriticConfig.original() if args.recipe == "original" else CriticConfig()
    changes = {
        "samples_per_task": args.samples_per_task,
        "steps": args.steps,
        "held_out_samples_per_task": args.held_out_samples_per_task,
        "actor_rl_updates": args.actor_rl_updates,
    }
    config = replace(base, **{k: v for k, v in changes.items() if v is not None})
    report = train_critics(
        model,
        plan,
        args.out,
        config=config,
        max_new_tokens=args.max_new_tokens,
        extra_samplers=args.extra_sampler,
        seed=args.seed,
        progress=not args.quiet,
    )
    for name in ("outcome", "test"):
        held = report[name]["held_out"]
        line = (
            f"φ{'_test' if name == 'test' else ''}: {report[name]['train_examples']} training "
            f"programs, train accuracy {report[name]['train_accuracy']:.1%}"
        )
        if held["n"]:
            line += (
                f"; on {held['n']} held-out programs: accuracy {held['accuracy']:.1%} "
                f"(always the commonest training class: {report[name]['held_out_constant']:.1%}), "
                f"balanced accuracy {held['balanced_accuracy']:.1%}"
            )
            if "held_out_constant_given_syntax" in report[name]:
                own = report[name]["held_out_compiling"]
                line += (
                    f"; a constant told whether each program compiles: "
                    f"{report[name]['held_out_constant_given_syntax']:.1%}; on the "
                    f"{own['n']} that compile, the network alone: accuracy "
                    f"{own['accuracy']:.1%} (constant {own['constant']:.1%}), balanced "
                    f"accuracy {own['balanced_accuracy']:.1%}"
                )
            distinct = report[name].get("held_out_distinct")
            if distinct:
                counts = ", ".join(f"{k} {v}" for k, v in distinct["label_counts"].items())
                line += (
                    f"; on its {distinct['n']} distinct programs ({counts}): accuracy "
                    f"{distinct['accuracy']:.1%} (constant {distinct['constant']:.1%}), "
                    f"balanced accuracy {distinct['balanced_accuracy']:.1%}"
                )
        print(line)
    print(f"critics and report in {args.out}")
    return 0


def cmd_critic_sampling(args: argparse.Namespace, agent, tasks) -> int:
    """``code-synthesis eval --critic-sampling``: plain vs Critic Sampling at one budget."""
    from agents.coderl.critic import OutcomeCritic
    from agents.coderl.critic_sampling import CriticSampler, compare_at_budget
    from agents.common.policy import Policy

    critic_dir = Path(args.critic) if args.critic else Path(args.checkpoint).parent / "critic"
    if not (critic_dir / "test" / "critic.json").is_file():
        print(
            f"code-synthesis eval --critic-sampling: no φ_test in {critic_dir / 'test'}; "
            "train one with code-synthesis train-critic and pass --critic DIR",
            file=sys.stderr,
        )
        return 2
    policy = agent.policy
    test_critic = OutcomeCritic.load(critic_dir / "test", policy.device)
    repair = Policy(args.repair_model, reference=False) if args.repair_model else None
    sampling = agent.config.sampling
    sampler = CriticSampler(
        policy, test_critic, agent.scorer.sandbox, repair_policy=repair, sampling=sampling
    )
    result = compare_at_budget(
        policy, tasks, agent.scorer.sandbox, sampler, args.budget, sampling=sampling
    )
    keys = list(result["plain"])
    rows = [
        ["plain sampling", *(f"{100 * result['plain'][k]:.1f}%" for k in keys)],
        [
            "Critic Sampling",
            *(
                f"{100 * result['critic_sampling'][k]:.1f}%"
                if k in result["critic_sampling"]
                else "-"
                for k in keys
            ),
        ],
    ]
    print(f"{tasks.summary()}; budget {args.budget} programs per task")
    print(format_table(["", *keys], rows))
    print("programs by stage: " + ", ".join(f"{k} {v}" for k, v in result["stage_counts"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def cmd_eval_checkpoint(args: argparse.Namespace) -> int:
    """``code-synthesis eval --checkpoint``: evaluate a trained agent, here or (``--ray``)
    on a Ray cluster."""
    from agents.common.base import read_checkpoint_config, resolve_checkpoint
    from agents.common.reporting import percent
    from agents.registry import agent_class

    args.checkpoint = str(resolve_checkpoint(args.checkpoint))  # a run folder, or its checkpoint/
    agent_name, _ = read_checkpoint_config(args.checkpoint)
    if args.split is None and args.tasks == "builtin":
        args.split = "test"
    tasks = _load(args)
    ks = tuple(int(k) for k in args.k.split(","))
    n = max(args.samples, max(ks))
    if args.ray is not None:
        if args.critic_sampling:
            print(
                "code-synthesis eval: --critic-sampling runs here only; leave out --ray",
                file=sys.stderr,
            )
            return 2
        try:
            report, where = _eval_checkpoint_on_ray(args, tasks, ks, n)
        except (ImportError, ConnectionError) as exc:
            if not _is_ray_trouble(exc):
                raise
            return _ray_trouble("eval", exc)
    else:
        if args.replicas is not None:
            print("code-synthesis eval: --replicas needs --ray", file=sys.stderr)
            return 2
        agent = agent_class(agent_name).load(args.checkpoint, tasks)
        if args.critic_sampling:
            return cmd_critic_sampling(args, agent, tasks)
        report = agent.evaluate(tasks, k=ks, n=n, progress=not args.quiet)
        where = ""
    print(report.table(f"{agent_name} from {args.checkpoint} on {tasks.summary()}"))
    if report.by_difficulty:
        rows = [
            [d, r.n_tasks, percent(r.greedy_pass_at_1), *(percent(r.pass_at_k[k]) for k in ks)]
            for d, r in report.by_difficulty.items()
        ]
        header = ["difficulty", "tasks", "greedy pass@1", *(f"pass@{k}" for k in ks)]
        print(format_table(header, rows))
    if where:
        print(where)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _eval_checkpoint_on_ray(args: argparse.Namespace, tasks, ks: tuple[int, ...], n: int):
    """``eval --checkpoint --ray``: the report, and a line saying what ran where."""
    from agents.run.ray_eval import evaluate_checkpoint_on_ray
    from code_env.sandbox import RaySandbox

    stats: dict = {}
    with RaySandbox(ray_address(args.ray), workers_per_node=args.workers) as sandbox:
        report = evaluate_checkpoint_on_ray(
            args.checkpoint,
            tasks,
            sandbox=sandbox,
            k=ks,
            n=n,
            replicas=args.replicas,
            progress=not args.quiet,
            stats=stats,
        )
        nodes = sandbox.nodes
        address = sandbox.address
    devices = Counter(r["device"] for r in stats["replicas"])
    replica_nodes = len({r["node_id"] for r in stats["replicas"]})
    seconds = stats["seconds"]
    where = (
        f"\non the Ray cluster at {address}: {len(stats['replicas'])} model replicas "
        f"({', '.join(f'{c} on {d}' for d, c in sorted(devices.items()))}) on "
        f"{replica_nodes} node(s), {stats['chunks']} chunks of {stats['chunk_tasks']} "
        f"tasks; graded by {len(nodes)} node(s) with {sum(g.workers for g in nodes)} "
        f"sandbox workers; {stats['programs']} programs in {seconds:.1f} s "
        f"({stats['programs'] / seconds:.0f} programs/s)"
    )
    return report, where


def cmd_eval(args: argparse.Namespace) -> int:
    """``code-synthesis eval``: grade reference solutions, or a trained checkpoint."""
    if args.checkpoint:
        return cmd_eval_checkpoint(args)
    if not args.reference:
        print(
            "code-synthesis eval: nothing to evaluate; pass --checkpoint DIR to evaluate a "
            "trained agent, or --reference to grade the task set's reference solutions",
            file=sys.stderr,
        )
        return 2
    from code_env.sandbox import Limits, Outcome, RaySandbox, Sandbox

    outcomes = [o.value for o in reversed(Outcome)]  # passed first, as the table reads
    tasks = _load(args)
    with_ref = [t for t in tasks if t.solutions]
    print(f"{tasks.summary()}; {len(with_ref)} with a reference solution")
    limits = Limits(timeout_s=args.timeout)
    try:
        sandbox = (
            RaySandbox(ray_address(args.ray), workers_per_node=args.workers, limits=limits)
            if args.ray is not None
            else Sandbox(workers=args.workers, limits=limits)
        )
    except (ImportError, ConnectionError) as exc:
        if args.ray is None or not _is_ray_trouble(exc):
            raise
        return _ray_trouble("eval", exc)
    with sandbox:
        start = time.perf_counter()
        results = sandbox.run_many(
            [(t.program(t.solutions[0]), t) for t in with_ref], progress=not args.quiet
        )
        elapsed = time.perf_counter() - start
        layers = sandbox.layers
        workers = sandbox.n_workers
        nodes = sandbox.nodes if isinstance(sandbox, RaySandbox) else None
    groups: dict[str, Counter] = defaultdict(Counter)
    for task, result in zip(with_ref, results, strict=True):
        key = str(task.metadata.get(args.by) or "-")
        groups[key][result.outcome.value] += 1
        groups["all"][result.outcome.value] += 1
    rows = []
    for key in [*sorted(k for k in groups if k != "all"), "all"]:
        counts = groups[key]
        total = sum(counts.values())
        rows.append(
            [key, total, *(counts[o] for o in outcomes), f"{100 * counts['passed'] / total:.1f}%"]
        )
    print()
    print(format_table([args.by, "tasks", *outcomes, "pass rate"], rows))
    where = (
        f" on {len(nodes)} Ray node(s) ({', '.join(f'{g.address}: {g.workers}' for g in nodes)})"
        if nodes is not None
        else ""
    )
    print(
        f"\ngraded {len(with_ref)} programs in {elapsed:.2f} s "
        f"({len(with_ref) / elapsed:.0f} programs/s) with {workers} workers{where}; "
        f"layers: {', '.join(layers)}"
    )
    failures = [(t, r) for t, r in zip(with_ref, results, strict=True) if not r.passed]
    for task, result in failures[:10]:
        print(
            f"  not passed: {task.task_id}: {result.outcome.value} {result.subtype or ''} "
            f"{result.message[:100]}"
        )
    if args.json:
        out = {
            "tasks": len(with_ref),
            "seconds": elapsed,
            "layers": layers,
            "workers": workers,
            "ray_nodes": None if nodes is None else len(nodes),
            "by": args.by,
            "groups": {k: dict(v) for k, v in groups.items()},
            "failures": [{"task_id": t.task_id, **r.to_dict()} for t, r in failures],
        }
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if not failures or args.allow_failures else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="code-synthesis",
        description="Reinforcement learning for code synthesis: tasks, sandbox, env, agents.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    tr = sub.add_parser(
        "train",
        help="train an agent with unit-test rewards, then evaluate it",
        description="Train an RL agent against the env's unit-test rewards and report. On the "
        "built-in suite (default): warm-start the tiny model on part of the train split's "
        "solutions (A), learn from rewards only on the other half (B), evaluate on B and on "
        "the held-out test split (C), before and after. Writes metrics.jsonl, checkpoint/, "
        "learning_curve.png, outcomes.png, report.json and report.md to --out.",
    )
    tr.add_argument(
        "--agent",
        default="actor-critic",
        choices=list(AGENTS),
        help="the agent (default: actor-critic): "
        + "; ".join(f"{name}: {spec.summary}" for name, spec in AGENTS.items()),
    )
    tr.add_argument(
        "--model",
        default="tiny",
        help="'tiny' (built here and warm-started), or a Hugging Face causal LM "
        "name or local path (default: tiny)",
    )
    tr.add_argument(
        "--tasks",
        default="builtin",
        help="builtin (default), mbpp, humaneval, apps, or a .jsonl file",
    )
    tr.add_argument("--path", default=None, help="local file or folder for mbpp/humaneval/apps")
    tr.add_argument("--updates", type=int, default=50, help="updates to train (default: 50)")
    tr.add_argument(
        "--env",
        choices=("synthesis", "repair"),
        default="synthesis",
        help="episodes to train on: synthesis (CodeSynthesis-v0, default) or repair "
        "(CodeRepair-v0: up to --set max_attempts=3 attempts, each after the last one's "
        "feedback; actor-critic and ppo)",
    )
    tr.add_argument("--out", default="runs/latest", help="run folder (default: runs/latest)")
    tr.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    tr.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tr.add_argument(
        "--eval-samples",
        type=int,
        default=8,
        help="samples per task for pass@k before and after (default: 8)",
    )
    tr.add_argument(
        "--warm-start-steps",
        type=int,
        default=None,
        help="cross-entropy steps of the tiny model's warm-start (default: 800)",
    )
    tr.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set kl_target=2 (repeatable)",
    )
    tr.add_argument(
        "--ray",
        nargs="?",
        const=RAY_NO_ADDRESS,
        default=None,
        metavar="ADDRESS",
        help="grade every program (rollouts, and the evaluations before and after) on a "
        "Ray cluster, one grading actor per node, instead of this machine's sandbox; the "
        "model still trains here. " + _RAY_HELP,
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr.set_defaults(func=cmd_train)

    tc = sub.add_parser(
        "train-critic",
        help="train CodeRL's critics (outcome φ and example-test φ_test)",
        description="Sample programs from a model for the training tasks, grade them, and "
        "train CodeRL's critics on them (plus the reference solutions, labelled passed): φ "
        "predicts the outcome (compile error, runtime error, failed test, passed), φ_test "
        "whether the example tests pass. Reports held-out accuracy and confusion matrices.",
    )
    tc.add_argument(
        "--model",
        default="tiny",
        help="'tiny' (the warm-started tiny model, cached) or a causal LM name or path",
    )
    tc.add_argument("--tasks", default="builtin", help="task source (default: builtin)")
    tc.add_argument("--path", default=None, help="local file or folder for mbpp/humaneval/apps")
    tc.add_argument("--out", default="runs/critic", help="output folder (default: runs/critic)")
    tc.add_argument(
        "--samples-per-task",
        type=int,
        default=None,
        help="programs sampled per task and temperature (default: the recipe's, 8)",
    )
    tc.add_argument(
        "--steps",
        type=int,
        default=None,
        help="training steps (default: the recipe's: 600, or 300 for 'original')",
    )
    tc.add_argument(
        "--held-out-samples-per-task",
        type=int,
        default=None,
        help="programs sampled per held-out task to measure the critics (default: 16)",
    )
    tc.add_argument(
        "--recipe",
        choices=("default", "original"),
        default="default",
        help="'default': CriticConfig's defaults (programs at several temperatures for the "
        "training and reference tasks from the model and from a copy of it after 40 "
        "actor-critic updates, the references and their graded mutants, the "
        "actor's LM as backbone reading where brackets fail to match, class weights, "
        "logit offsets and a temperature fitted on validation); 'original': the recipe "
        "the project started with (docs/results.md measures each choice)",
    )
    tc.add_argument(
        "--actor-rl-updates",
        type=int,
        default=None,
        metavar="N",
        help="actor-critic updates of the copy of the model whose samples join the "
        "training programs, saved in OUT/rl-actor (0: none; default: the recipe's, 40, "
        "or 0 for 'original')",
    )
    tc.add_argument(
        "--extra-sampler",
        action="append",
        default=[],
        metavar="MODEL",
        help="another model (name or path, e.g. the actor after some RL) whose samples join "
        "the training programs; repeatable",
    )
    tc.add_argument(
        "--max-new-tokens", type=int, default=96, help="longest sampled program (default: 96)"
    )
    tc.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    tc.add_argument("--quiet", action="store_true", help="no progress bars")
    tc.set_defaults(func=cmd_train_critic)

    tr.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="train data-parallel in N processes on this machine (each samples and grades "
        "its share of every update; gradients are summed across them), as torchrun "
        "--nproc_per_node N would start them but with no network store: the processes "
        "meet through a file and exchange tensors over loopback (default: 1). Under "
        "torchrun or accelerate launch, leave it out",
    )
    ev = sub.add_parser(
        "eval",
        help="grade programs against a task set's unit tests",
        description="Evaluate a trained checkpoint (greedy pass@1, pass@k with the unbiased "
        "estimator, outcome shares, per difficulty), or grade a task set's reference "
        "solutions in the sandbox and print the outcome table.",
    )
    ev.add_argument(
        "--checkpoint",
        default=None,
        metavar="DIR",
        help="evaluate the agent saved in DIR: a run folder from train, or its checkpoint/",
    )
    ev.add_argument(
        "--k",
        default="1,5",
        help="with --checkpoint: the k of pass@k, comma-separated (default: 1,5)",
    )
    ev.add_argument(
        "--samples",
        type=int,
        default=8,
        help="with --checkpoint: samples per task, at least max(k) (default: 8)",
    )
    ev.add_argument(
        "--critic-sampling",
        action="store_true",
        help="with --checkpoint: compare plain sampling and CodeRL's Critic Sampling at "
        "the same budget (pass@budget and 1@budget)",
    )
    ev.add_argument(
        "--critic",
        default=None,
        metavar="DIR",
        help="with --critic-sampling: a folder from train-critic (default: the run's critic/)",
    )
    ev.add_argument(
        "--budget",
        type=int,
        default=16,
        help="with --critic-sampling: programs per task for each method (default: 16)",
    )
    ev.add_argument(
        "--repair-model",
        default=None,
        metavar="DIR",
        help="with --critic-sampling: the repair model (default: the actor itself)",
    )
    ev.add_argument(
        "--reference",
        action="store_true",
        help="grade each task's reference solution (the tasks' own check)",
    )
    ev.add_argument(
        "--tasks",
        default="builtin",
        help="task source: builtin, mbpp, humaneval, apps, or a .jsonl file (default: builtin)",
    )
    ev.add_argument(
        "--path",
        default=None,
        help="local file or folder for mbpp / humaneval / apps (otherwise the "
        "Hugging Face hub is tried)",
    )
    ev.add_argument(
        "--split",
        default=None,
        help="only this split (e.g. train, test; default for --checkpoint on builtin: test)",
    )
    ev.add_argument(
        "--by",
        default="split",
        help="metadata field to group the table by (split, family, difficulty...)",
    )
    ev.add_argument(
        "--workers",
        type=int,
        default=None,
        help="sandbox worker processes (default: one per CPU core); with --ray: per node "
        "(default: the node's CPUs)",
    )
    ev.add_argument(
        "--ray",
        nargs="?",
        const=RAY_NO_ADDRESS,
        default=None,
        metavar="ADDRESS",
        help="run on a Ray cluster. With --checkpoint: generate on model replicas that Ray "
        "places (one per GPU, else one per CPU; see --replicas), a few tasks at a time, "
        "and grade each chunk on the cluster as soon as it is generated; the report is "
        "the local one's (greedy results equal it; samples are seeded per chunk). With "
        "--reference: grade the reference solutions on the cluster. " + _RAY_HELP,
    )
    ev.add_argument(
        "--replicas",
        type=int,
        default=None,
        metavar="N",
        help="with --checkpoint --ray: model replicas to start (default: one per GPU of "
        "the cluster, or one per CPU when it has none)",
    )
    ev.add_argument("--timeout", type=float, default=4.0, help="seconds per test (default: 4)")
    ev.add_argument("--json", default=None, help="also write the results to this JSON file")
    ev.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even if some reference solution does not pass",
    )
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=cmd_eval)

    from datagen.cli import add_parser as add_datagen_parser

    add_datagen_parser(sub)
    return parser


def without_processes_flag(argv: Sequence[str]) -> list[str]:
    """A command line less its ``--processes N`` (for the processes that it starts)."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--processes":
            skip = True
        elif not item.startswith("--processes="):
            out.append(item)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``code-synthesis`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
