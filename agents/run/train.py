"""A training run from start to report: what ``code-synthesis train`` does.

On the built-in suite (the default) the run follows the learning benchmark's protocol
(docs/architecture.md): the train split is cut into A (solutions available) and B (rewards
only); with the tiny model, a warm-start is trained on A's solutions (cached); the
agent learns on B from rewards alone, with A's solutions in its replay buffer; the
warm-start and the trained policy are then evaluated on B and on the held-out test
split C. On another task source, the agent learns on its train split and is evaluated
there and on its test split.

Everything goes to the run folder: ``metrics.jsonl``, ``checkpoint/``,
``learning_curve.png``, ``outcomes.png``, ``report.json`` and ``report.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.common.reporting import format_table, markdown_table, percent, plot_learning_curve
from code_env.sandbox import BaseSandbox
from code_env.tasks import TaskList, load_tasks

if TYPE_CHECKING:
    from agents.coderl.critic import CriticConfig

#: Warm-start settings for the tiny model (about 3 minutes on 2 CPU cores).
WARM_START = {"steps": 800, "lr": 2e-3, "batch_size": 16}
#: Config defaults on the built-in suite, where every solution fits in 96 tokens (the
#: learning benchmark's setting); ``--set`` still overrides them.
BUILTIN_DEFAULTS: dict[str, Any] = {"max_new_tokens": 96}


@dataclass
class TrainPlan:
    """Which tasks play which part in a run."""

    rl_tasks: TaskList
    """Learned from rewards only (their solutions are never shown)."""
    reference_tasks: TaskList
    """Whose solutions warm-start the tiny model and seed the replay buffer."""
    held_out: TaskList | None
    """Evaluated only."""
    names: dict[str, str] = field(default_factory=dict)


def plan_tasks(source: str = "builtin", path: str | None = None) -> TrainPlan:
    """The A/B/C protocol on the built-in suite; train/test splits elsewhere."""
    if source == "builtin":
        a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
        return TrainPlan(
            b_tasks,
            a_tasks,
            load_tasks("builtin", split="test"),
            {"rl": "B (rewards only)", "held_out": "C (held out)"},
        )
    kwargs = {"path": path} if path else {}
    tasks = load_tasks(source, **kwargs)
    splits = {t.split for t in tasks}
    train = TaskList([t for t in tasks if t.split == "train"] or list(tasks), source=tasks.source)
    test = (
        TaskList([t for t in tasks if t.split == "test"], source=tasks.source)
        if "test" in splits
        else None
    )
    return TrainPlan(train, train, test, {"rl": "train", "held_out": "test"})


def parse_overrides(config_class, items: list[str]) -> dict[str, Any]:
    """``["lr=1e-4", "adaptive_kl=false"]`` as typed config values (JSON where it parses)."""
    known = {f.name: f for f in fields(config_class)}
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        key, text = item.split("=", 1)
        if key not in known:
            raise ValueError(
                f"unknown {config_class.__name__} field {key!r}; valid: {', '.join(sorted(known))}"
            )
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key] = value
    return out


def train_critics(
    model: str,
    plan: TrainPlan,
    out: str | os.PathLike[str],
    *,
    config: CriticConfig | None = None,
    max_new_tokens: int = 96,
    extra_samplers: Sequence[str] = (),
    seed: int = 0,
    progress: bool = True,
    log=print,
    sandbox: BaseSandbox | None = None,
) -> dict[str, Any]:
    """CodeRL's critics φ and φ_test (:func:`agents.coderl.critic.train_critics_for`)
    for a plan, as ``config`` says (default
    :class:`~agents.coderl.critic.CriticConfig`): trained on programs ``model`` (and
    ``extra_samplers``) samples for the RL tasks and the reference tasks, plus the
    reference tasks' solutions as passed programs (the RL tasks' own only when they are
    not learned from rewards only); measured on a validation split of those tasks and
    on programs sampled for the held-out tasks. Saved in ``out``; returns the report."""
    from agents.coderl.critic import train_critics_for
    from agents.common.config import SamplingConfig

    rewards_only = plan.rl_tasks is not plan.reference_tasks
    return train_critics_for(
        model,
        without_solutions(plan.rl_tasks) if rewards_only else plan.rl_tasks,
        out,
        reference_tasks=plan.reference_tasks if rewards_only else (),
        held_out=plan.held_out or (),
        config=config,
        sampling=SamplingConfig(max_new_tokens=max_new_tokens),
        extra_samplers=extra_samplers,
        seed=seed,
        progress=progress,
        log=log,
        sandbox=sandbox,
    )


def run_training(
    *,
    agent_name: str = "actor-critic",
    model: str = "tiny",
    tasks: str = "builtin",
    path: str | None = None,
    updates: int = 50,
    out: str | os.PathLike[str] = "runs/latest",
    resume: bool = False,
    seed: int = 0,
    eval_samples: int = 8,
    overrides: dict[str, Any] | None = None,
    warm_start_steps: int | None = None,
    progress: bool = True,
    log=print,
    sandbox: BaseSandbox | None = None,
    ray: bool | str = False,
) -> dict[str, Any]:
    """Warm-start (tiny), evaluate, train, evaluate, report. Returns the report.

    Every program (rollouts, CodeRL's critic data, the evaluations before and after) is
    graded in one sandbox: ``sandbox`` if given (a local
    :class:`~code_env.sandbox.Sandbox` or a :class:`~code_env.sandbox.RaySandbox`; the
    caller closes it), else, with ``ray``, a :class:`~code_env.sandbox.RaySandbox` made
    here and closed at the end (``True``: the cluster in ``RAY_ADDRESS`` or a local
    Ray; a string: that address, as ``ray.init`` takes it), else the shared local
    sandbox. The model trains in this process either way.

    In a data-parallel run (``train --processes N``, ``torchrun``, ``accelerate
    launch``) every process calls it: each trains and evaluates its share, the main
    process writes and returns the report (with ``"processes": N``), the others return
    an empty dict. With ``ray`` every process makes its own RaySandbox, each reserving
    CPUs on the cluster.
    """
    if sandbox is not None and ray is not False:
        raise ValueError("pass sandbox= or ray=, not both")
    with contextlib.ExitStack() as stack:
        if ray is not False:
            from code_env.sandbox import RaySandbox

            address = None if ray is True else str(ray)
            sandbox = stack.enter_context(RaySandbox(address))
            workers = sum(g.workers for g in sandbox.nodes)
            log(
                f"grading on the Ray cluster at {sandbox.address}: {len(sandbox.nodes)} "
                f"node(s), {workers} sandbox workers"
            )
        return _run_training(
            agent_name=agent_name,
            model=model,
            tasks=tasks,
            path=path,
            updates=updates,
            out=out,
            resume=resume,
            seed=seed,
            eval_samples=eval_samples,
            overrides=overrides,
            warm_start_steps=warm_start_steps,
            progress=progress,
            log=log,
            sandbox=sandbox,
        )


def _run_training(
    *,
    agent_name: str,
    model: str,
    tasks: str,
    path: str | None,
    updates: int,
    out: str | os.PathLike[str],
    resume: bool,
    seed: int,
    eval_samples: int,
    overrides: dict[str, Any] | None,
    warm_start_steps: int | None,
    progress: bool,
    log,
    sandbox: BaseSandbox | None,
) -> dict[str, Any]:
    """:func:`run_training`'s work, with the sandbox decided (None: the shared one).

    In a data-parallel run every process runs it: the main process warm-starts and
    prepares first (the others then find the warm-start cached and take the hook's
    result), every process trains and evaluates its share, and the main process alone
    logs and writes."""
    from agents.common.distributed import Distributed
    from agents.common.evaluation import OUTCOME_NAMES, plot_outcome_shares
    from agents.registry import RunSetup, agent_spec
    from agents.run.warm_start import warm_start

    started = time.perf_counter()
    spec = agent_spec(agent_name)
    cls = spec.load()
    overrides = {
        **(BUILTIN_DEFAULTS if tasks == "builtin" else {}),
        **spec.defaults,  # e.g. rloo -> algorithm="rloo"
        **(overrides or {}),
    }
    dist = Distributed.current(str(overrides.get("device", "auto")))
    if not dist.is_main:
        progress, log = False, _silent
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_tasks(tasks, path)
    log(
        f"tasks: {len(plan.rl_tasks)} learned from rewards ({plan.names.get('rl')}), "
        f"{len(plan.reference_tasks)} with solutions for the warm-start and replay"
        + (f", {len(plan.held_out)} held out" if plan.held_out is not None else "")
        + (f"; {dist.world_size} processes" if dist.enabled else "")
    )

    model_path = model
    if model == "tiny":
        settings = {**WARM_START, **({"steps": warm_start_steps} if warm_start_steps else {})}
        log(
            f"warm-start: tiny model, cross-entropy on {len(plan.reference_tasks)} reference "
            f"solutions, {settings['steps']} steps (cached after the first run)"
        )

        def start_warm() -> str:
            return str(
                warm_start(
                    solution_pairs(plan.reference_tasks),
                    seed=seed,
                    tiny_config=overrides.get("tiny"),
                    progress=progress,
                    **settings,
                )
            )

        model_path = _main_first(dist, start_warm)

    checkpoint = out / "checkpoint"
    rewards_only = plan.rl_tasks is not plan.reference_tasks
    rl_tasks = without_solutions(plan.rl_tasks) if rewards_only else plan.rl_tasks
    setup = RunSetup(
        model=model_path,
        rl_tasks=rl_tasks,
        reference_tasks=plan.reference_tasks,
        held_out=plan.held_out,
        rewards_only=rewards_only,
        out=out,
        overrides=overrides,
        seed=seed,
        resume=resume,
        sandbox=sandbox,
        progress=progress,
        log=log,
    )
    prepared = spec.prepare_run(setup) if dist.is_main else None
    overrides = {**overrides, **dist.broadcast_object(prepared)}
    config = cls.config_class(**{"model": model_path, "seed": seed, **overrides})
    if resume:
        if not (checkpoint / "config.json").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint in {checkpoint}")
        agent = cls.load(checkpoint, rl_tasks, sandbox=sandbox, run_dir=out)
        log(f"resumed at update {agent.n_updates}")
    else:
        agent = cls(rl_tasks, config, sandbox=sandbox, run_dir=out)
        if rewards_only:
            agent.add_references(plan.reference_tasks)

    eval_sets = {plan.names.get("rl", "rl"): plan.rl_tasks}
    if plan.held_out is not None and len(plan.held_out):
        eval_sets[plan.names.get("held_out", "held out")] = plan.held_out
    ks = tuple(k for k in (1, 5) if k <= eval_samples)

    def evaluate(label: str) -> dict[str, Any]:
        reports = {}
        for name, task_set in eval_sets.items():
            reports[name] = agent.evaluate(task_set, k=ks, n=eval_samples)
            log(f"{label} on {name}: {reports[name].summary()}")
        return reports

    before_file = out / "eval_before.json"
    if before_file.is_file() and resume:
        before_data = json.loads(before_file.read_text())
        before = None
    else:
        before = evaluate("warm-start" if model == "tiny" else "before RL")
        before_data = {k: r.to_dict() for k, r in before.items()}
        if dist.is_main:
            before_file.write_text(json.dumps(before_data, indent=2))

    train_start = time.perf_counter()
    agent.learn(updates, progress=progress)
    train_seconds = time.perf_counter() - train_start
    after = evaluate("after RL")
    after_data = {k: r.to_dict() for k, r in after.items()}
    agent.save(checkpoint)
    if not dist.is_main:
        return {}
    (out / "eval_after.json").write_text(json.dumps(after_data, indent=2))

    header = [
        "model",
        "tasks",
        "greedy pass@1",
        *(f"pass@{k}" for k in ks if k > 1),
        "compile err",
        "runtime err",
        "failed test",
        "passed",
    ]
    rows = []
    for label, data in (
        ("warm-start" if model == "tiny" else "before RL", before_data),
        ("after RL", after_data),
    ):
        for name, report in data.items():
            shares = report["outcome_shares"]
            rows.append(
                [
                    label,
                    name,
                    percent(report["greedy_pass_at_1"]),
                    *(percent(pass_at(report, k)) for k in ks if k > 1),
                    *(percent(shares[outcome]) for outcome in OUTCOME_NAMES),
                ]
            )
    table = format_table(header, rows)
    curve = plot_learning_curve(
        agent.history or _read_history(out),
        out / "learning_curve.png",
        title=f"{cls.__name__} on {plan.names.get('rl', tasks)}",
    )
    if before is not None:
        plot_outcome_shares(
            {f"{k} before": v for k, v in before.items()}
            | {f"{k} after": v for k, v in after.items()},
            out / "outcomes.png",
            title="Outcome shares of sampled programs",
        )
    report = {
        "agent": cls.__name__,
        "model": model,
        "tasks": tasks,
        "updates": agent.n_updates,
        "seed": seed,
        "eval_samples": eval_samples,
        "config": agent.config.to_dict(),
        "before": before_data,
        "after": after_data,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "tokens_generated": agent.tokens_generated,
        "processes": dist.world_size,
        "learning_curve": str(curve),
        "sandbox": _sandbox_info(agent.scorer.sandbox),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(
        f"# {cls.__name__} on {tasks}\n\n{markdown_table(header, rows)}\n\n"
        f"{agent.n_updates} updates in {train_seconds:.0f} s; "
        f"{agent.tokens_generated} tokens generated.\n"
    )
    log("")
    log(table)
    log(
        f"\n{agent.n_updates} updates in {train_seconds:.0f} s (run {report['total_seconds']:.0f} s); "
        f"report, checkpoint and plots in {out}"
    )
    return report


def _silent(*_: Any) -> None:
    """The log of the processes other than the main one."""


def _main_first(dist: Any, make: Any) -> Any:
    """``make()`` on the main process, then on the others (which find its result
    cached, e.g. a warm-start), so that the work is done once."""
    if dist.is_main:
        result = make()
        dist.barrier()
        return result
    dist.barrier()
    return make()


def _sandbox_info(sandbox: BaseSandbox) -> dict[str, Any]:
    """What graded a run, for its report: the sandbox's kind and workers (and, on Ray,
    the nodes and the cluster's address)."""
    info: dict[str, Any] = {"kind": type(sandbox).__name__, "workers": sandbox.n_workers}
    nodes = getattr(sandbox, "nodes", None)
    if nodes is not None:
        info.update(nodes=len(nodes), address=getattr(sandbox, "address", None))
    return info


def pass_at(report: dict[str, Any], k: int) -> float | None:
    """pass@k from an evaluation report's dict (int keys, or str keys after JSON)."""
    table = report.get("pass_at_k", {})
    return table.get(k, table.get(str(k)))


def _read_history(out: Path) -> list[dict[str, Any]]:
    from agents.common.metrics import read_metrics

    path = out / "metrics.jsonl"
    return read_metrics(path) if path.is_file() else []
