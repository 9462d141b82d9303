"""Does RL against unit-test rewards make a model better, beyond imitation?

The learning benchmark of docs/architecture.md, on 2 CPU cores:

* Tasks: the built-in train split cut into **A** (reference solutions available: used
  for the warm-start, the cross-entropy baseline and replay buffers) and **B** (tests
  only: no row ever sees B's solutions); the built-in test split **C** held out.
* **warm-start**: the tiny model trained with cross-entropy on A (one checkpoint shared
  by every row and seed).
* **cross-entropy**: the warm-start trained further on A, with the same number of
  updates as the RL rows, each on as many sequences as an RL update trains on.
* **actor-critic**, **CodeRL A-D** (the paper's Table 2 models; and later agents): the
  warm-start trained on B with rewards only. CodeRL's critics are trained once on the
  warm-start's samples for B and shared by its rows, as the warm-start is.
* **actor-critic+datagen**: the actor-critic row with generated tasks in its pool
  (the paper's claim that generated tests are a useful learning signal): B plus
  ``--datagen-count`` tasks (default: as many as B has) drawn by the seed from datagen's
  tasks that fit the model, all without solutions; same updates, so B gets about half
  the draws. The tasks come from ``--datagen-tasks PATH``, else from one datagen run on
  the standard library and every pure-Python package installed (``code-synthesis
  datagen stdlib installed``, seed 0), cached like the warm-start. Evaluated on B and C; the
  results compare it with the actor-critic row (B alone) when both are there:
  ``--rows actor-critic,actor-critic+datagen --resume``.
* **actor-critic-repair**: the actor-critic row on ``CodeRepair-v0`` episodes (up to
  3 attempts, each after the earlier ones and their feedback from the example tests,
  each credited with its own reward), same settings and updates. Every row's trained
  model is also evaluated on CodeRepair episodes: greedy pass@1 after 1 and after 3
  attempts on B and C (a section of the results: single-turn against multi-turn).
* **ppo**, **grpo**, **rloo**: PPOAgent and TRL's GRPO and RLOO (through TRLAgent) on B,
  rewards only, at their defaults; **ppo-2epochs**, **grpo-8x8** and **rloo-8x8** are
  the same agents with half PPO's optimisation passes, or TRL's groups of 8 (8 tasks x
  8 completions, the same 64 programs per update).
* **Critic Sampling**: plain sampling against CodeRL's Critic Sampling at the same
  budget (``--cs-budget`` programs per task), for the warm-start and CodeRL D, on B and
  C: pass@budget and 1@budget.
* Metrics per row, mean ± std over seeds: greedy pass@1 and pass@k (k = 1, 5, 16 from
  n = 16 samples) on B and on C, outcome shares, wall time, tokens generated; and
  greedy pass@1 on B every ``--eval-every`` updates for the learning curve.
* Output: a table in docs/results.md with the command that produced it, a PNG of
  greedy pass@1 on B against updates (one line per row), and the raw numbers in JSON.
  Partial results are saved after every (row, seed), and ``--resume`` skips what is
  already there (``--rerun ROWS`` runs those rows' seeds again).

Bar for an RL row: mean greedy pass@1 on B >= the warm-start's + 5 points.

    .venv/bin/python benchmarks/learning.py                       # ~4-5 hours on 2 cores
    .venv/bin/python benchmarks/learning.py --seeds 0 --updates 20 --out /tmp/learning
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents import ActorCriticAgent, ActorCriticConfig, BaseAgent, BaseCallback, Policy
from agents.coderl.agent import TABLE2_VARIANTS, CodeRLAgent, CodeRLConfig
from agents.coderl.critic import CriticConfig
from agents.common.base import evaluate_policy, evaluate_repair
from agents.common.config import SamplingConfig
from agents.common.data import solution_pairs, split_ab, without_solutions
from agents.common.evaluation import OUTCOME_NAMES
from agents.common.optim import optimizer_step
from agents.common.policy import seed_everything
from agents.common.reporting import markdown_table
from agents.common.supervised import cross_entropy_loss, supervised_batches
from agents.ppo.agent import PPOAgent, PPOConfig
from agents.run.train import WARM_START
from agents.run.warm_start import warm_start
from agents.trl.agent import TRLAgent, TRLConfig
from code_env import load_tasks
from code_env.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
BAR_POINTS = 5.0
#: Attempts of the CodeRepair evaluation (greedy pass@1 after each) and of the
#: multi-turn row's episodes.
REPAIR_ATTEMPTS = 3
KS = (1, 5, 16)
#: Sampling settings shared by every row (and the evaluations).
MAX_NEW_TOKENS = 96
TEMPERATURE = 1.0
TOP_P = 0.95
SAMPLING = {"max_new_tokens": MAX_NEW_TOKENS, "temperature": TEMPERATURE, "top_p": TOP_P}


@dataclass
class Setting:
    """What every row of one benchmark run shares."""

    a_tasks: Any
    b_tasks: Any
    c_tasks: Any
    warm_path: str
    sandbox: Sandbox
    updates: int
    eval_every: int
    eval_samples: int
    progress: bool
    critic_path: str | None = None
    """CodeRL's critics (trained on first use)."""
    datagen_tasks: str | None = None
    """The generated tasks of the actor-critic+datagen row (a tasks.jsonl); None:
    generated from the standard library on first use and cached."""
    datagen_count: int | None = None
    """How many generated tasks join B in that row; None: as many as B has."""
    datagen_info: dict[str, Any] | None = None
    """What that row used (source, counts), filled on first use, for the results."""


@dataclass
class RowRun:
    """One row, one seed."""

    curve: list[tuple[int, float]] = field(default_factory=list)
    """(updates, greedy pass@1 on B)."""
    b: dict[str, Any] = field(default_factory=dict)
    c: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    tokens_generated: int = 0
    model_path: str | None = None
    """Where the trained policy was kept (rows whose models later steps reuse), relative
    to the cache folder (``agents.run.warm_start.default_cache_dir``), so the published results
    name no machine's paths."""


def evaluate(policy: Policy, tasks, setting: Setting, greedy_only: bool = False):
    """Greedy pass@1, pass@k for each k of KS that n allows, outcome shares."""
    return evaluate_policy(
        policy,
        tasks,
        sandbox=setting.sandbox,
        k=tuple(k for k in KS if k <= setting.eval_samples),
        n=setting.eval_samples,
        sampling=SamplingConfig(**SAMPLING),
        greedy_only=greedy_only,
    )


def greedy_b(policy: Policy, setting: Setting) -> float:
    return float(evaluate(policy, setting.b_tasks, setting, greedy_only=True).greedy_pass_at_1)


def final_reports(policy: Policy, setting: Setting, run: RowRun) -> RowRun:
    run.b = evaluate(policy, setting.b_tasks, setting).to_dict()
    run.c = evaluate(policy, setting.c_tasks, setting).to_dict()
    without_per_task(run.b)
    without_per_task(run.c)
    for report, tasks in ((run.b, setting.b_tasks), (run.c, setting.c_tasks)):
        # CodeRepair-v0 episodes: greedy pass@1 after 1..REPAIR_ATTEMPTS attempts
        report["repair_greedy"] = evaluate_repair(
            policy,
            tasks,
            sandbox=setting.sandbox,
            max_attempts=REPAIR_ATTEMPTS,
            sampling=SamplingConfig(**SAMPLING),
        )
    return run


def without_per_task(report: dict[str, Any]) -> dict[str, Any]:
    """Drop the per-task records (here and in the per-difficulty reports): the summary
    is what the table needs, and the JSON stays small enough to commit."""
    report.pop("per_task", None)
    for nested in report.get("by_difficulty", {}).values():
        without_per_task(nested)
    return report


# --- rows -----------------------------------------------------------------------------


def row_warm_start(setting: Setting, seed: int) -> RowRun:
    """The shared warm-start, evaluated (sampling seeded per seed)."""
    seed_everything(seed)
    policy = Policy(setting.warm_path, reference=False)
    run = RowRun(curve=[(0, greedy_b(policy, setting)), (setting.updates, None)])  # flat
    return final_reports(policy, setting, run)


def row_cross_entropy(setting: Setting, seed: int) -> RowRun:
    """Cross-entropy continued on A: as many updates as the RL rows, each on as many
    sequences as an RL update trains on (sampled programs plus replayed ones)."""
    import torch

    seed_everything(seed)
    policy = Policy(setting.warm_path, reference=False)
    config = ActorCriticConfig()
    batch = config.tasks_per_update * config.samples_per_task + config.replay_batch
    batches = supervised_batches(
        policy, solution_pairs(setting.a_tasks), batch, torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=config.lr)
    run = RowRun(curve=[(0, greedy_b(policy, setting))])
    for update in range(1, setting.updates + 1):
        start = time.perf_counter()
        loss = cross_entropy_loss(policy, next(batches))
        optimizer_step(optimizer, loss, policy.trainable_parameters(), config.max_grad_norm)
        run.seconds += time.perf_counter() - start
        if update % setting.eval_every == 0 or update == setting.updates:
            run.curve.append((update, greedy_b(policy, setting)))
    return final_reports(policy, setting, run)


class CurveCallback(BaseCallback):
    """Greedy pass@1 on B every ``every`` updates (time spent here is not training)."""

    def __init__(self, setting: Setting, every: int) -> None:
        super().__init__()
        self.setting, self.every = setting, every
        self.curve: list[tuple[int, float]] = []
        self.eval_seconds = 0.0

    def _on_step(self) -> bool:
        if self.n_updates % self.every == 0:
            start = time.perf_counter()
            self.curve.append((self.n_updates, greedy_b(self.agent.policy, self.setting)))
            self.eval_seconds += time.perf_counter() - start
        return True


def row_actor_critic(setting: Setting, seed: int) -> RowRun:
    """The actor-critic agent on B, rewards only; A's solutions in its replay buffer."""
    return train_actor_critic(setting, seed, without_solutions(setting.b_tasks))


def train_actor_critic(setting: Setting, seed: int, tasks) -> RowRun:
    """The actor-critic agent learning from rewards on ``tasks`` (without solutions),
    A's solutions in its replay buffer: the rows that differ only in their task pool."""
    config = ActorCriticConfig(model=setting.warm_path, seed=seed, **SAMPLING)
    agent = ActorCriticAgent(tasks, config, sandbox=setting.sandbox)
    agent.add_references(setting.a_tasks)
    return train_agent(agent, setting)


def row_actor_critic_repair(setting: Setting, seed: int) -> RowRun:
    """The actor-critic row on CodeRepair episodes: the same agent, settings and
    updates, each sample an episode of up to ``REPAIR_ATTEMPTS`` attempts, each attempt
    after the earlier ones and their feedback, credited with its own reward."""
    config = ActorCriticConfig(
        model=setting.warm_path, seed=seed, env="repair", max_attempts=REPAIR_ATTEMPTS, **SAMPLING
    )
    agent = ActorCriticAgent(without_solutions(setting.b_tasks), config, sandbox=setting.sandbox)
    agent.add_references(setting.a_tasks)
    return train_agent(agent, setting)


def cache_folder(kind: str, name: str, depends_on: Any) -> Path:
    """``<cache>/<kind>/<name>-<key>``: a folder for something the benchmark makes once,
    keyed by the JSON of what it ``depends_on``, so a change there makes it anew."""
    from agents.run.warm_start import default_cache_dir

    key = hashlib.sha256(json.dumps(depends_on).encode()).hexdigest()[:12]
    return default_cache_dir() / kind / f"{name}-{key}"


#: What the actor-critic+datagen row generates its tasks from (unless ``--datagen-tasks``
#: names a file), and datagen's seed: one set of generated tasks shared by every seed.
DATAGEN_SOURCE: str | tuple[str, ...] = ("stdlib", "installed")
DATAGEN_SEED = 0


def shared_datagen(setting: Setting) -> str:
    """The generated tasks' file: ``setting.datagen_tasks`` (``--datagen-tasks``) when
    given, else datagen run once on :data:`DATAGEN_SOURCE` (every core, seed
    :data:`DATAGEN_SEED`, default settings otherwise) and cached, keyed by what the
    tasks depend on: datagen's code, its settings, the sources, the Python version
    and installation whose standard library it reads, and with ``installed`` the
    installed distributions and their versions."""
    if setting.datagen_tasks is None:
        import sysconfig

        import datagen
        from datagen import DatagenConfig, run_datagen

        config = DatagenConfig(seed=DATAGEN_SEED, progress=setting.progress)
        # Where grading runs (workers, a Ray cluster) and progress bars do not change the
        # tasks (datagen's determinism).
        ignored = ("workers", "progress", "ray", "ray_address")
        settings = {k: v for k, v in config.to_dict().items() if k not in ignored}
        code = [p.read_text() for p in sorted(Path(datagen.__file__).parent.glob("*.py"))]
        named = [DATAGEN_SOURCE] if isinstance(DATAGEN_SOURCE, str) else list(DATAGEN_SOURCE)
        sources = [
            str(Path(s).resolve()) if s not in ("stdlib", "installed") and Path(s).exists() else s
            for s in named
        ]
        depends: list[Any] = [sources, sys.version, sysconfig.get_paths()["stdlib"], settings, code]
        if "installed" in sources:
            import importlib.metadata

            depends.append(
                sorted(
                    (d.metadata["Name"] or "", d.version)
                    for d in importlib.metadata.distributions()
                )
            )
        folder = cache_folder("datagen", "+".join(Path(s).name for s in sources), depends)
        tasks_file = folder / "tasks.jsonl"
        label = " ".join(named)
        if not (folder / "report.json").is_file():
            print(f"datagen: tasks from {label} (cached afterwards)", flush=True)
            report = run_datagen(sources, tasks_file, config)
            print(report.summary(), flush=True)
        if not tasks_file.is_file():
            raise RuntimeError(f"datagen wrote no tasks from {label} (see {folder})")
        setting.datagen_tasks = str(tasks_file)
        setting.datagen_info = {
            "source": f"datagen on {label} (seed {DATAGEN_SEED}, default settings)"
        }
    return setting.datagen_tasks


def datagen_pool(setting: Setting, seed: int):
    """The actor-critic+datagen row's task pool: B plus ``setting.datagen_count``
    generated tasks (default: as many as B has), all without their solutions.

    The generated tasks are those that fit the model as B's do: the prompt leaves room
    for ``MAX_NEW_TOKENS`` within the model's positions, and the reference solution
    (plus the end-of-text token) fits in ``MAX_NEW_TOKENS`` (every built-in solution
    does). Only the reference's length is read, never shown. The ones used are drawn
    by ``seed`` from those, so the spread over seeds includes that choice."""
    from transformers import AutoConfig

    from code_env.tasks import TaskList
    from code_env.tokenizer import load_tokenizer

    path = shared_datagen(setting)
    generated = load_tasks(path)
    tokenizer = load_tokenizer(setting.warm_path)
    model_config = AutoConfig.from_pretrained(setting.warm_path)
    positions = getattr(model_config, "n_positions", None) or getattr(
        model_config, "max_position_embeddings", None
    )

    def n_tokens(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))

    def fits(task) -> bool:
        return (
            bool(task.solutions)
            and n_tokens(task.solutions[0]) + 1 <= MAX_NEW_TOKENS
            and (positions is None or n_tokens(task.prompt) + MAX_NEW_TOKENS <= positions)
        )

    b_ids = {t.task_id for t in setting.b_tasks}
    fitting = sorted(
        (t for t in generated if t.task_id not in b_ids and fits(t)), key=lambda t: t.task_id
    )
    requested = len(setting.b_tasks) if setting.datagen_count is None else setting.datagen_count
    chosen = random.Random(seed).sample(fitting, min(requested, len(fitting)))
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    setting.datagen_info = {
        "source": "--datagen-tasks",  # unless shared_datagen generated them
        **(setting.datagen_info or {}),
        "tasks_file": Path(path).name,  # the name only: results are published
        "sha256": digest,
        "generated": len(generated),
        "fit": len(fitting),
        "requested": requested,
        "count": len(chosen),
        "b": len(setting.b_tasks),
    }
    return TaskList(
        [*without_solutions(setting.b_tasks), *without_solutions(chosen)],
        source=f"B + {len(chosen)} generated tasks (without solutions)",
    )


def row_actor_critic_datagen(setting: Setting, seed: int) -> RowRun:
    """The actor-critic row with generated tasks beside B: the same agent, settings and
    updates, A's solutions in its replay buffer, rewards only; its task pool is B plus
    ``--datagen-count`` tasks (default: as many as B has) that datagen generated from
    the standard library (see :func:`datagen_pool`). Each update draws its tasks
    uniformly from the pool, so with the default mix about half the draws are B's: at
    equal compute, the row asks whether generated tasks are worth some of B's rollouts.
    Evaluated on B and C like every row."""
    return train_actor_critic(setting, seed, datagen_pool(setting, seed))


def train_agent(agent: BaseAgent, setting: Setting) -> RowRun:
    """Train an agent for the setting's updates, with its learning curve, and evaluate."""
    curve = CurveCallback(setting, setting.eval_every)
    curve.curve.append((0, greedy_b(agent.policy, setting)))
    start = time.perf_counter()
    agent.learn(setting.updates, callback=curve, progress=setting.progress)
    run = RowRun(
        curve=curve.curve,
        seconds=time.perf_counter() - start - curve.eval_seconds,
        tokens_generated=agent.tokens_generated,
    )
    return final_reports(agent.policy, setting, run)


def shared_critic(setting: Setting) -> str:
    """CodeRL's critics, trained once by the default recipe
    (:class:`~agents.coderl.critic.CriticConfig`: on the warm-start's samples and those
    of a copy of it after 40 actor-critic updates on B; like the warm-start, shared by
    every CodeRL row and seed) and cached; their report is kept with the results."""
    from agents.coderl import critic as critic_module
    from agents.run.train import TrainPlan, train_critics

    if setting.critic_path is None:
        # keyed by what the critics depend on, so a change of recipe trains anew
        recipe = inspect.getsource(train_critics) + inspect.getsource(critic_module)
        folder = cache_folder(
            "critic",
            Path(setting.warm_path).name,
            [setting.warm_path, [t.task_id for t in setting.b_tasks], recipe],
        )
        if not (folder / "critic_report.json").is_file():
            plan = TrainPlan(setting.b_tasks, setting.a_tasks, setting.c_tasks)
            train_critics(
                setting.warm_path,
                plan,
                folder,
                max_new_tokens=MAX_NEW_TOKENS,
                progress=setting.progress,
                log=lambda *_: None,
            )
        setting.critic_path = str(folder)
    return setting.critic_path


def row_coderl(variant: str) -> Callable[[Setting, int], RowRun]:
    """CodeRL on B, rewards only, as Table 2's model ``variant``; A's solutions in its
    L_ce buffer. The trained actor of seed ``s`` is kept for the Critic Sampling runs."""

    def run_row(setting: Setting, seed: int) -> RowRun:
        config = CodeRLConfig.variant(
            variant,
            model=setting.warm_path,
            seed=seed,
            **SAMPLING,
            critic=shared_critic(setting)
            if TABLE2_VARIANTS[variant]["token_weights"] == "critic"
            else None,
        )
        agent = CodeRLAgent(without_solutions(setting.b_tasks), config, sandbox=setting.sandbox)
        agent.add_references(setting.a_tasks)
        run = train_agent(agent, setting)
        if variant == "D":
            from agents.run.warm_start import default_cache_dir

            keep = default_cache_dir() / "learning" / f"coderl-D-seed{seed}"
            agent.policy.save(keep)
            run.model_path = str(keep.relative_to(default_cache_dir()))
        return run

    run_row.__doc__ = f"CodeRL, Table 2's model {variant}, on B with rewards only."
    return run_row


def kept_model(path: str) -> Path:
    """A kept model's folder from a row's ``model_path`` (relative to the cache folder;
    results written before that may hold an absolute path)."""
    from agents.run.warm_start import default_cache_dir

    return default_cache_dir() / path  # an absolute path stays as it is


def row_ppo(**settings: Any) -> Callable[[Setting, int], RowRun]:
    """Token-level PPO on B, rewards only (it keeps no buffer of solutions); ``settings``
    override PPOConfig's defaults."""

    def run_row(setting: Setting, seed: int) -> RowRun:
        config = PPOConfig(model=setting.warm_path, seed=seed, **settings, **SAMPLING)
        agent = PPOAgent(without_solutions(setting.b_tasks), config, sandbox=setting.sandbox)
        return train_agent(agent, setting)

    run_row.__doc__ = f"PPO on B, rewards only{f' ({settings})' if settings else ''}."
    return run_row


#: TRL's groups of 8 (8 tasks x 8 completions) for the ``-8x8`` rows: the same 64
#: programs per update as the default 16 x 4. With groups of 4 about 60% of GRPO's groups
#: had no reward spread, so they carried no advantage; with 8, 0-40% in a pilot.
TRL_GROUPS_OF_8 = {"tasks_per_update": 8, "num_generations": 8}


def row_trl(algorithm: str, **settings: Any) -> Callable[[Setting, int], RowRun]:
    """TRL's GRPO or RLOO trainer on B, rewards only; ``settings`` override TRLConfig's
    defaults."""

    def run_row(setting: Setting, seed: int) -> RowRun:
        config = TRLConfig(
            algorithm=algorithm, model=setting.warm_path, seed=seed, **settings, **SAMPLING
        )
        agent = TRLAgent(without_solutions(setting.b_tasks), config, sandbox=setting.sandbox)
        return train_agent(agent, setting)

    run_row.__doc__ = f"TRL's {algorithm.upper()} on B, rewards only."
    return run_row


#: name -> (label, function); later agents add rows here.
ROWS: dict[str, tuple[str, Callable[[Setting, int], RowRun]]] = {
    "warm-start": ("warm-start (CE on A)", row_warm_start),
    "cross-entropy": ("cross-entropy, continued on A", row_cross_entropy),
    "actor-critic": ("actor-critic on B (rewards only)", row_actor_critic),
    "actor-critic+datagen": (
        "actor-critic on B + generated tasks (rewards only)",
        row_actor_critic_datagen,
    ),
    "actor-critic-repair": (
        "actor-critic on B, CodeRepair episodes (rewards only)",
        row_actor_critic_repair,
    ),
    "coderl-A": ("CodeRL A: baseline, no critic", row_coderl("A")),
    "coderl-B": ("CodeRL B: critic, no baseline", row_coderl("B")),
    "coderl-C": ("CodeRL C: baseline, linear-decay values", row_coderl("C")),
    "coderl-D": ("CodeRL D: baseline + critic (full)", row_coderl("D")),
    "ppo": ("PPO on B (rewards only)", row_ppo()),
    "ppo-2epochs": ("PPO, 2 epochs (half the default passes)", row_ppo(ppo_epochs=2)),
    "grpo": ("TRL GRPO on B (rewards only)", row_trl("grpo")),
    "grpo-8x8": ("TRL GRPO, groups of 8 (8 tasks x 8)", row_trl("grpo", **TRL_GROUPS_OF_8)),
    "rloo": ("TRL RLOO on B (rewards only)", row_trl("rloo")),
    "rloo-8x8": ("TRL RLOO, groups of 8 (8 tasks x 8)", row_trl("rloo", **TRL_GROUPS_OF_8)),
}


# --- Critic Sampling --------------------------------------------------------------------


def shared_repair_model(setting: Setting) -> str:
    """The repair model (Eq. 13): the warm-start fine-tuned on (failed sample of an A
    task + its error -> A's reference solution) pairs; cached. Returns its folder."""
    from agents.coderl.critic_sampling import repair_pairs, train_repair_model
    from agents.run.warm_start import default_cache_dir

    folder = default_cache_dir() / "repair" / Path(setting.warm_path).name
    if not (folder / "config.json").is_file():
        seed_everything(0)
        policy = Policy(setting.warm_path, reference=False)
        # the warm-start has learnt A by heart: sampled hotter, it makes the mistakes a
        # repair model must learn to fix
        pairs = repair_pairs(
            policy,
            setting.a_tasks,
            setting.sandbox,
            samples_per_task=8,
            sampling=SamplingConfig(temperature=1.5, max_new_tokens=MAX_NEW_TOKENS),
        )
        print(f"repair model: {len(pairs)} (failed program -> reference) pairs from A", flush=True)
        train_repair_model(setting.warm_path, pairs, folder, steps=300, progress=setting.progress)
    return str(folder)


def critic_sampling_runs(
    setting: Setting, models: dict[str, dict[str, str]], budget: int, saved: dict[str, Any]
) -> dict[str, Any]:
    """Plain sampling vs Critic Sampling at ``budget`` programs per task, on B and C,
    for each model (name -> seed -> path). Skips what ``saved`` already holds."""
    from agents.coderl.critic import OutcomeCritic
    from agents.coderl.critic_sampling import CriticSampler, compare_at_budget
    from agents.common.config import SamplingConfig

    sampling = SamplingConfig(**SAMPLING)
    critic_dir = Path(shared_critic(setting))
    repair_path = shared_repair_model(setting)
    repair = Policy(repair_path, reference=False)

    out = saved
    for name, per_seed in models.items():
        for seed, path in per_seed.items():
            if seed in out.get(name, {}):
                continue
            seed_everything(int(seed))
            policy = Policy(path, reference=False)
            test_critic = OutcomeCritic.load(critic_dir / "test", policy.device)
            sampler = CriticSampler(
                policy, test_critic, setting.sandbox, repair_policy=repair, sampling=sampling
            )
            t = time.perf_counter()
            entry = {
                split: compare_at_budget(
                    policy, tasks, setting.sandbox, sampler, budget, sampling=sampling
                )
                for split, tasks in (("B", setting.b_tasks), ("C", setting.c_tasks))
            }
            out.setdefault(name, {})[seed] = entry
            print(
                f"critic sampling, {name} seed {seed}: "
                + "; ".join(
                    f"{split} plain pass@{budget} {100 * e['plain'][f'pass@{budget}']:.1f}% "
                    f"1@{budget} {100 * e['plain'][f'1@{budget}']:.1f}% | CS pass@{budget} "
                    f"{100 * e['critic_sampling'][f'pass@{budget}']:.1f}% 1@{budget} "
                    f"{100 * e['critic_sampling'][f'1@{budget}']:.1f}%"
                    for split, e in entry.items()
                )
                + f" [{time.perf_counter() - t:.0f} s]",
                flush=True,
            )
    return out


def critic_sampling_table(runs: dict[str, Any], budget: int) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        "tasks",
        f"plain pass@{budget}",
        f"plain 1@{budget}",
        f"Critic Sampling pass@{budget}",
        f"Critic Sampling 1@{budget}",
        "refine / repair programs",
    ]
    rows = []
    for name, per_seed in runs.items():
        for split in ("B", "C"):
            entries = [e[split] for e in per_seed.values()]
            stages = [e["stage_counts"] for e in entries]
            rows.append(
                [
                    ROWS.get(name, (name,))[0],
                    split,
                    fmt([e["plain"][f"pass@{budget}"] for e in entries]),
                    fmt([e["plain"][f"1@{budget}"] for e in entries]),
                    fmt([e["critic_sampling"][f"pass@{budget}"] for e in entries]),
                    fmt([e["critic_sampling"][f"1@{budget}"] for e in entries]),
                    f"{statistics.fmean(s.get('refine', 0) + s.get('repair-refine', 0) for s in stages):.0f}"
                    f" / {statistics.fmean(s.get('repair', 0) for s in stages):.0f}",
                ]
            )
    return header, rows


# --- summary --------------------------------------------------------------------------


def mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values: list[float | None], scale: float = 100.0, digits: int = 1) -> str:
    if all(v is None for v in values):
        return "-"
    mean, std = mean_std(values)
    if sum(v is not None for v in values) == 1:  # one run: no spread to show
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def pass_k(report: dict[str, Any], k: int) -> float | None:
    table = report["pass_at_k"]
    return table.get(k, table.get(str(k)))


def summarise(results: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]], dict]:
    header = [
        "row",
        "B greedy pass@1",
        *(f"B pass@{k}" for k in KS),
        "C greedy pass@1",
        *(f"C pass@{k}" for k in KS),
        "B compile / runtime / failed / passed",
        "train s",
        "tokens generated",
    ]
    rows, numbers = [], {}
    for name, per_seed in results.items():
        runs = list(per_seed.values())
        b_greedy = [r["b"]["greedy_pass_at_1"] for r in runs]
        shares = [mean_std([r["b"]["outcome_shares"][o] for r in runs])[0] for o in OUTCOME_NAMES]
        top = max(KS)
        numbers[name] = {
            "b_greedy": mean_std(b_greedy),
            "seeds": len(runs),
            "c_greedy": mean_std([r["c"]["greedy_pass_at_1"] for r in runs]),
            "b_top_k": (top, mean_std([pass_k(r["b"], top) for r in runs])),
            "b_shares": shares,
        }
        rows.append(
            [
                ROWS[name][0] if name in ROWS else name,
                fmt(b_greedy),
                *(fmt([pass_k(r["b"], k) for r in runs]) for k in KS),
                fmt([r["c"]["greedy_pass_at_1"] for r in runs]),
                *(fmt([pass_k(r["c"], k) for r in runs]) for k in KS),
                " / ".join(f"{100 * s:.0f}" for s in shares),
                f"{mean_std([r['seconds'] for r in runs])[0]:.0f}",
                f"{mean_std([r['tokens_generated'] for r in runs])[0]:,.0f}",
            ]
        )
    return header, rows, numbers


def plot(results: dict[str, dict[str, Any]], path: Path, updates: int) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.2))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    for name, per_seed in results.items():
        curves = [r["curve"] for r in per_seed.values()]
        xs = sorted({x for c in curves for x, y in c if y is not None})
        if name == "warm-start":  # a constant: its greedy pass@1 at update 0
            level = statistics.fmean(c[0][1] for c in curves)
            ax.plot(
                [0, updates], [100 * level] * 2, linestyle="--", color="0.4", label=ROWS[name][0]
            )
            continue
        means, lows, highs = [], [], []
        for x in xs:
            ys = [y for c in curves for cx, y in c if cx == x and y is not None]
            m, s = mean_std(ys)
            means.append(100 * m)
            lows.append(100 * (m - s))
            highs.append(100 * (m + s))
        ax.plot(xs, means, marker="o", label=ROWS.get(name, (name,))[0])
        ax.fill_between(xs, lows, highs, alpha=0.15)
    ax.set_xlabel("updates")
    ax.set_ylabel("greedy pass@1 on B (%)")
    ax.set_title("Learning from unit-test rewards (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def extra_sections(
    numbers: dict[str, Any], critic_dir: str | None, cs_runs: dict[str, Any], budget: int, out: Path
) -> list[str]:
    """Markdown for CodeRL's ablation ordering, its critic, and Critic Sampling."""
    lines: list[str] = []
    variants = [v for v in "ABCD" if f"coderl-{v}" in numbers]
    if len(variants) > 1:
        ranked = sorted(variants, key=lambda v: -numbers[f"coderl-{v}"]["b_greedy"][0])
        scores = ", ".join(
            f"{v} {100 * numbers[f'coderl-{v}']['b_greedy'][0]:.1f}%" for v in ranked
        )
        lines += [
            "",
            "## CodeRL's Table 2 ablations",
            "",
            f"Ordered by mean greedy pass@1 on B: **{' > '.join(ranked)}** ({scores}). "
            "The paper found D best and B worst.",
        ]
    if critic_dir and (Path(critic_dir) / "critic_report.json").is_file():
        lines += critic_section(Path(critic_dir), out)
    if cs_runs:
        header, rows = critic_sampling_table(cs_runs, budget)
        lines += [
            "## Critic Sampling at equal budget",
            "",
            f"{budget} programs per task for each method (Critic Sampling: {budget // 2} sampled, "
            "the rest refined or repaired); pass@k counts a task solved if any program passes "
            "the hidden tests; 1@k submits one program chosen by the example tests (plain: a "
            "uniform choice among those that pass them, expected value; Critic Sampling: the "
            "top of its ranking by example tests and φ_test). "
            f"Seeds: {', '.join(sorted({s for p in cs_runs.values() for s in p}))} "
            "(one run each; with one seed, no spread is shown).",
            "",
            markdown_table(header, rows),
        ]
    return lines


def recipe_sentence(config: dict[str, Any]) -> str:
    """One sentence saying how the shared critics were trained (their report's
    ``config``, a :class:`~agents.coderl.critic.CriticConfig` as plain data)."""
    default = json.loads(json.dumps(CriticConfig().to_dict()))  # as a report holds it
    tasks = "A and B" if config["sample_reference_tasks"] else "B"
    parts = [
        f"{config['samples_per_task']} programs per task at temperatures "
        f"{', '.join(str(t) for t in config['temperatures'])} from the warm-start"
        + (
            f" and from a copy of it after {config['actor_rl_updates']} actor-critic updates "
            "on B (rewards only)"
            if config.get("actor_rl_updates")
            else ""
        )
        + f", for {tasks}"
    ]
    if config["references"]:
        parts.append("with A's references labelled passed")
    if config.get("reference_mutants"):
        parts.append(f"{config['reference_mutants']} graded mutants of each reference")
    if config["dedup"]:
        parts.append("each program once per task")
    backbone = (
        "a copy of the actor's language model" if config["init"] == "actor" else "a new GPT-2"
    )
    training = [f"backbone {backbone}"]
    if config.get("read_brackets"):
        training.append("reading where brackets fail to match")
    if config.get("knows_syntax"):
        training.append("given the parser's verdict on whether each program compiles")
    if config["balance"]:
        training.append("classes weighted by inverse frequency")
    training.append(
        f"the weights kept by validation {config['select_by'].replace('_', ' ')} over "
        f"{config['steps']} steps"
    )
    if config.get("adjust_logits"):
        training.append("then per-class logit offsets fitted on validation")
    if config["calibrate"]:
        training.append("then a temperature fitted on validation")
    which = "the default" if config == default else "changed"
    return f"Recipe ({which} `CriticConfig`): {', '.join(parts)}; {', '.join(training)}."


def recall_text(recalls: Iterable[tuple[str, float | None]]) -> str:
    """``"failed 96%, passed 32%"``: each class's recall (n/a where C has none of it)."""
    return ", ".join(f"{c} {'n/a' if r is None else f'{100 * r:.0f}%'}" for c, r in recalls)


def critic_section(critic_dir: Path, out: Path) -> list[str]:
    """Markdown for the shared critics (their report in ``critic_dir``) and, when
    benchmarks/critic_ablation.py has written ``out/critic_ablation.json``, the
    ablation of its recipe."""
    import shutil

    report = json.loads((critic_dir / "critic_report.json").read_text())
    config = report.get("config", {})
    lines = ["", "## CodeRL's critic", ""]
    if config:
        lines += [recipe_sentence(config), ""]
    for name, label in (("outcome", "φ (outcome)"), ("test", "φ_test (example tests)")):
        part = report[name]
        held = part["held_out"]
        classes = held["classes"]
        figures = (
            f"**{label}**: {part['train_examples']} training programs "
            f"({', '.join(f'{k} {v}' for k, v in part['train_label_counts'].items())}); "
            f"{part['parameters']:,} parameters. Accuracy: "
            f"{100 * part['train_accuracy']:.1f}% on its training programs, "
            f"{100 * part['validation']['accuracy']:.1f}% on "
            f"{part['validation']['n']} programs of tasks it never read "
            "(a fifth of its tasks, which chose the kept weights), and "
            f"**{100 * held['accuracy']:.1f}%** on {held['n']} programs sampled for C"
        )
        if "balanced_accuracy" in held:
            recall = recall_text(held["recall"].items())
            figures += (
                f", where always answering its training set's commonest class scores "
                f"{100 * part['held_out_constant']:.1f}% (C's own commonest, "
                f"{100 * held['majority_accuracy']:.1f}%). Balanced accuracy on C: "
                f"**{100 * held['balanced_accuracy']:.1f}%** (recall: {recall}); expected "
                f"calibration error {held['ece']:.3f} at temperature {part['temperature']:.2f}."
            )
            own = part.get("held_out_compiling")
            if own:
                figures += (
                    " The critic takes the parser's verdict as given, so the fair constant "
                    "is told it too (the class of a program that does not compile when "
                    "one does not, else the commonest other training class): "
                    f"{100 * part['held_out_constant_given_syntax']:.1f}%. On the "
                    f"{own['n']} programs that compile, the network alone scores "
                    f"{100 * own['accuracy']:.1f}% (that constant: "
                    f"{100 * own['constant']:.1f}%), balanced accuracy "
                    f"{100 * own['balanced_accuracy']:.1f}%."
                )
            distinct = part.get("held_out_distinct")
            if distinct:
                counts = ", ".join(f"{k} {v}" for k, v in distinct["label_counts"].items())
                figures += (
                    f" C's samples repeat: they hold {distinct['n']} distinct programs "
                    f"({counts}), on which the critic scores "
                    f"{100 * distinct['accuracy']:.1f}% (the constant: "
                    f"{100 * distinct['constant']:.1f}%), balanced accuracy "
                    f"{100 * distinct['balanced_accuracy']:.1f}%."
                )
        else:
            figures += (
                "; always answering the commonest class would score "
                f"{100 * part['majority_share']:.1f}% on its training programs."
            )
        lines += [
            figures + " Confusion on C (rows: true class, columns: predicted):",
            "",
            markdown_table(
                ["true \\ predicted", *classes],
                [[c, *row] for c, row in zip(classes, held["confusion"], strict=True)],
            ),
            "",
        ]
        png = critic_dir / f"confusion_{name}.png"
        if png.is_file():
            shutil.copy(png, out / f"critic_{name}.png")
            lines += [f"![confusion matrix of {label}](critic_{name}.png)", ""]
    png = critic_dir / "reliability.png"
    if png.is_file():  # the shared critics' own (the ablation's plots two other recipes)
        shutil.copy(png, out / "critic_default_reliability.png")
        lines += [
            "![reliability of φ and φ_test on C's programs](critic_default_reliability.png)",
            "",
        ]
    ablation = out / "critic_ablation.json"
    if ablation.is_file():
        lines += ablation_section(json.loads(ablation.read_text()), out)
    for name in ("test", "outcome"):
        folds = out / f"critic_folds_{name}.json"
        if folds.is_file():
            lines += folds_section(json.loads(folds.read_text()))
    return lines


def folds_section(folds: dict[str, Any]) -> list[str]:
    """Markdown for benchmarks/critic_folds.py's results: the default recipe's critic
    trained once per task fold, on C."""
    label = "φ_test" if folds["critic"] == "test" else "φ"
    oof = folds["out_of_fold"]
    recall = recall_text(zip(folds["classes"], oof["recall"], strict=True))
    held = folds["held_out"]
    return [
        f"### {label} across task folds",
        "",
        f"`{folds['command']}` ({folds['seconds'] / 60:.0f} min): the training programs of "
        f"the default recipe ({folds['training_programs']}) cut into {folds['folds']} task "
        "folds; for each, a critic trained on the others and validated on it, as the recipe "
        "does with its one split. Offsets searched on all of them at once, each program "
        f"scored by the critic that did not train on it: {oof['offsets']}, accuracy "
        f"{100 * oof['accuracy']:.1f}% against the constant's {100 * oof['constant']:.1f}% "
        f"(recall: {recall}). On C's {held['n']} programs "
        f"({', '.join(f'{k} {v}' for k, v in held['label_counts'].items())}; the constant "
        f"scores {100 * held['constant']:.1f}%):",
        "",
        markdown_table(folds["table"]["header"], folds["table"]["rows"]),
        "",
    ]


def ablation_section(ablation: dict[str, Any], out: Path) -> list[str]:
    """Markdown for benchmarks/critic_ablation.py's results (its table as it
    printed it)."""
    labels = ablation["held_out"]["labels"]
    lines = [
        "### The critic's recipe, one choice at a time",
        "",
        f"`{ablation['command']}` ({ablation['seconds'] / 60:.0f} min): each row adds one "
        "choice to the row above; the rows named *default, …* take one out of the chain's "
        "last recipe. Every critic "
        f"is measured on the same {ablation['held_out']['n']['outcome']} programs the "
        f"warm-start sampled for C's {ablation['tasks']['C']} tasks (φ: "
        f"{', '.join(f'{k} {v}' for k, v in labels['outcome'].items())}; φ_test: "
        f"{', '.join(f'{k} {v}' for k, v in labels['test'].items())}). Percentages; "
        "*constant*: always answering the training set's commonest class; recall in the "
        "order compile error, runtime error, failed test, passed; ECE: expected "
        "calibration error.",
        "",
        markdown_table(ablation["table"]["header"], ablation["table"]["rows"]),
        "",
    ]
    if ablation.get("note"):  # what a reader must know of when and how it was measured
        lines += [f"*Note:* {ablation['note']}", ""]
    png = out / "critic_reliability.png"
    if png.is_file():
        lines += ["![reliability of the critics on C](critic_reliability.png)", ""]
    return lines


def repair_section(results: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: greedy pass@1 on B and C after 1 and after ``REPAIR_ATTEMPTS``
    CodeRepair attempts, for every row whose runs were evaluated that way."""
    rows = []
    for name, per_seed in results.items():
        runs = [r for r in per_seed.values() if "repair_greedy" in r["b"]]
        if not runs:
            continue
        cells = [
            fmt([r[split]["repair_greedy"][attempt] for r in runs])
            for split in ("b", "c")
            for attempt in (0, REPAIR_ATTEMPTS - 1)
        ]
        rows.append([ROWS[name][0] if name in ROWS else name, str(len(runs)), *cells])
    if not rows:
        return []
    last = REPAIR_ATTEMPTS
    return [
        "",
        "## Single-turn against multi-turn: CodeRepair episodes",
        "",
        f"Greedy pass@1 after 1 attempt and after {last} `CodeRepair-v0` attempts (each "
        "attempt a greedy decode after the earlier ones and their feedback from the example "
        "tests), on B and on C, for each row's trained model; the actor-critic on CodeRepair "
        "episodes trained on them, the others on single programs.",
        "",
        markdown_table(
            ["row", "seeds", "B after 1", f"B after {last}", "C after 1", f"C after {last}"],
            rows,
        ),
    ]


def datagen_section(numbers: dict[str, Any], info: dict[str, Any] | None) -> list[str]:
    """Markdown for the actor-critic+datagen row against the actor-critic row (B alone),
    from the measured numbers; nothing unless both rows are in the results."""
    if "actor-critic+datagen" not in numbers or "actor-critic" not in numbers:
        return []
    mixed, alone = numbers["actor-critic+datagen"], numbers["actor-critic"]

    def pct(pair) -> str:
        return f"{100 * pair[0]:.1f} ± {100 * pair[1]:.1f}%"

    def verdict(key: str) -> str:
        diff = 100 * (mixed[key][0] - alone[key][0])
        if min(mixed["seeds"], alone["seeds"]) < 2:
            return f"{diff:+.1f} points; one seed, so no spread to judge it by"
        spread = 100 * max(mixed[key][1], alone[key][1])
        within = "within" if abs(diff) <= spread else "beyond"
        return f"{diff:+.1f} points, {within} the larger std over seeds, {spread:.1f}"

    lines = ["", "## Do generated tasks help learning?", ""]
    if info:
        lines += [
            f"The actor-critic+datagen row's pool: B ({info['b']} tasks) plus "
            f"{info['count']} generated tasks, drawn by the seed from the {info['fit']} of "
            f"{info['generated']} in `{info['tasks_file']}` (sha256 "
            f"{info['sha256']}; {info['source']}) that fit the model as B's do (prompt plus "
            f"{MAX_NEW_TOKENS} new tokens within its positions, reference within "
            f"{MAX_NEW_TOKENS} tokens); solutions hidden, A's in the replay buffer. Same "
            "updates and tasks per update as the actor-critic row, so B gets about "
            f"{100 * info['b'] / (info['b'] + info['count']):.0f}% of its draws.",
            "",
        ]
    lines.append(
        f"Greedy pass@1 with generated tasks vs on B alone: on B {pct(mixed['b_greedy'])} "
        f"vs {pct(alone['b_greedy'])} ({verdict('b_greedy')}); on C {pct(mixed['c_greedy'])} "
        f"vs {pct(alone['c_greedy'])} ({verdict('c_greedy')}); seeds: {mixed['seeds']} and "
        f"{alone['seeds']}."
    )
    return lines


def write_markdown(
    path: Path,
    command: str,
    header,
    rows,
    numbers,
    meta: dict[str, Any],
    png: Path,
    extra: list[str] = (),
) -> None:
    warm = numbers.get("warm-start", {}).get("b_greedy", (float("nan"),))[0]
    lines = [
        "# Results",
        "",
        "Produced by:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Machine: {meta['machine']}; {meta['cpus']} CPUs; total {meta['minutes']:.0f} min. "
        f"Tasks: A = {meta['a']} (solutions used), B = {meta['b']} (rewards only), "
        f"C = {meta['c']} (held out). {meta['updates']} updates per trained row, seeds "
        f"{meta['seeds']}, n = {meta['n']} samples per task for pass@k "
        f"(temperature {TEMPERATURE}, top-p {TOP_P}), greedy decoding for greedy pass@1. "
        "Figures are percentages, mean ± std over seeds.",
        "",
        markdown_table(header, rows),
        "",
        f"![greedy pass@1 on B against updates]({png.name})",
        "",
        "## Against the bar",
        "",
    ]
    for name, number in numbers.items():
        if name in ("warm-start", "cross-entropy"):
            continue
        gain = 100 * (number["b_greedy"][0] - warm)
        verdict = "meets" if gain >= BAR_POINTS else "misses"
        ce = numbers.get("cross-entropy", {}).get("b_greedy", (float("nan"),))[0]
        c_warm = numbers.get("warm-start", {}).get("c_greedy", (float("nan"),))[0]
        top, (top_row, _) = number["b_top_k"]
        top_warm = numbers.get("warm-start", {}).get("b_top_k", (top, (float("nan"), 0)))[1][0]
        shares_warm = numbers.get("warm-start", {}).get("b_shares", [float("nan")] * 4)
        lines.append(
            f"- **{ROWS.get(name, (name,))[0]}**: greedy pass@1 on B {100 * number['b_greedy'][0]:.1f}% "
            f"vs the warm-start's {100 * warm:.1f}% ({gain:+.1f} points): {verdict} the bar of "
            f"+{BAR_POINTS:.0f}. Against cross-entropy continued on A: "
            f"{100 * (number['b_greedy'][0] - ce):+.1f} points on B. On C (held out): "
            f"{100 * number['c_greedy'][0]:.1f}% vs the warm-start's {100 * c_warm:.1f}%. "
            f"pass@{top} on B: {100 * top_row:.1f}% vs the warm-start's {100 * top_warm:.1f}%; "
            f"compile errors among sampled B programs: {100 * number['b_shares'][0]:.0f}% vs "
            f"{100 * shares_warm[0]:.0f}%, failed tests {100 * number['b_shares'][2]:.0f}% vs "
            f"{100 * shares_warm[2]:.0f}%."
        )
    lines += list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def saved_results(
    results: dict[str, Any],
    cs_runs: dict[str, Any],
    saved: dict[str, Any],
    meta: dict[str, Any],
    numbers: dict[str, Any],
) -> dict[str, Any]:
    """What learning.json holds at the end of a run: the rows, the Critic Sampling runs
    with the name of the φ_test they used (so that ``--resume`` keeps them while that
    critic stays the same), how the run was made, and the summary numbers."""
    return {
        "results": results,
        "critic_sampling": cs_runs,
        "critic_sampling_critic": saved.get("critic_sampling_critic"),
        "meta": meta,
        "numbers": numbers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        default=",".join(ROWS),
        help=f"rows to run, comma-separated (default: {','.join(ROWS)})",
    )
    parser.add_argument("--seeds", default="0,1,2", help="seeds (default: 0,1,2)")
    parser.add_argument("--updates", type=int, default=80, help="updates per trained row")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=20,
        help="greedy pass@1 on B every this many updates (default: 20)",
    )
    parser.add_argument("--eval-samples", type=int, default=16, help="n for pass@k (default: 16)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs",
        help="where results.md, learning.png and learning.json go (default: docs)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the (row, seed) results already in learning.json",
    )
    parser.add_argument(
        "--rerun",
        default="",
        help="rows to run again even where --resume keeps the others (comma-separated), "
        "e.g. after an evaluation was added",
    )
    parser.add_argument(
        "--cs-budget",
        type=int,
        default=16,
        help="programs per task for the Critic Sampling comparison (0: skip it; default: 16)",
    )
    parser.add_argument(
        "--cs-seeds",
        default="0",
        help="seeds of the Critic Sampling comparison (default: 0)",
    )
    parser.add_argument(
        "--datagen-tasks",
        type=Path,
        default=None,
        help="generated tasks (a tasks.jsonl) for the actor-critic+datagen row (default: "
        "datagen run once on the standard library and the installed pure-Python packages, "
        "seed 0, and cached)",
    )
    parser.add_argument(
        "--datagen-count",
        type=int,
        default=None,
        help="generated tasks joining B in the actor-critic+datagen row, drawn by the seed "
        "from those that fit the model (default: as many as B has)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    rerun = [r.strip() for r in args.rerun.split(",") if r.strip()]
    unknown = [r for r in rows + rerun if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; valid: {', '.join(ROWS)}")
    if not set(rerun) <= set(rows):
        parser.error(f"--rerun {sorted(set(rerun) - set(rows))}: not among --rows")
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.datagen_count is not None and args.datagen_count < 1:
        parser.error(f"--datagen-count must be at least 1, got {args.datagen_count}")
    if args.datagen_tasks is not None and not args.datagen_tasks.is_file():
        parser.error(f"--datagen-tasks: no file {args.datagen_tasks}")
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "learning.json"
    saved = json.loads(json_path.read_text()) if args.resume and json_path.is_file() else {}
    results: dict[str, dict[str, Any]] = saved.get("results", {})
    for per_seed in results.values():  # files written before per-task records were dropped
        for run in per_seed.values():
            without_per_task(run["b"])
            without_per_task(run["c"])
    started = time.perf_counter()

    a_tasks, b_tasks = split_ab(load_tasks("builtin", split="train"))
    c_tasks = load_tasks("builtin", split="test")
    print(f"A {len(a_tasks)} tasks, B {len(b_tasks)}, C {len(c_tasks)}", flush=True)
    ws_start = time.perf_counter()
    warm_path = str(warm_start(solution_pairs(a_tasks), progress=not args.quiet, **WARM_START))
    print(
        f"warm-start ready ({time.perf_counter() - ws_start:.0f} s, cached afterwards): "
        f"{warm_path}",
        flush=True,
    )
    with Sandbox() as sandbox:
        setting = Setting(
            a_tasks,
            b_tasks,
            c_tasks,
            warm_path,
            sandbox,
            args.updates,
            args.eval_every,
            args.eval_samples,
            not args.quiet,
            datagen_tasks=str(args.datagen_tasks) if args.datagen_tasks else None,
            datagen_count=args.datagen_count,
        )
        for name in rows:
            for seed in seeds:
                if str(seed) in results.get(name, {}) and name not in rerun:
                    continue  # the old result stays until the new one replaces it
                t = time.perf_counter()
                run = ROWS[name][1](setting, seed)
                results.setdefault(name, {})[str(seed)] = run.__dict__
                top = max(k for k in KS if k <= args.eval_samples)
                print(
                    f"{name} seed {seed}: B greedy {100 * run.b['greedy_pass_at_1']:.1f}% "
                    f"pass@{top} {100 * pass_k(run.b, top):.1f}% | C greedy "
                    f"{100 * run.c['greedy_pass_at_1']:.1f}% [{time.perf_counter() - t:.0f} s]",
                    flush=True,
                )
                # the saved sections stay until this run rewrites them: a crash keeps them
                json_path.write_text(json.dumps({**saved, "results": results}, indent=1))

        cs_runs: dict[str, Any] = saved.get("critic_sampling", {})
        if "coderl-D" in rerun:  # a new actor: its comparison is run again
            cs_runs.pop("coderl-D", None)
        if args.cs_budget and "coderl-D" in results:
            critic_key = Path(shared_critic(setting)).name
            if saved.get("critic_sampling_critic") != critic_key:  # another φ_test
                cs_runs = {}
            saved["critic_sampling_critic"] = critic_key
            cs_seeds = [s.strip() for s in args.cs_seeds.split(",") if s.strip()]
            models = {
                "warm-start": {seed: warm_path for seed in cs_seeds},
                "coderl-D": {
                    seed: str(kept_model(run["model_path"]))
                    for seed, run in results["coderl-D"].items()
                    if seed in cs_seeds
                    and run.get("model_path")
                    and kept_model(run["model_path"]).is_dir()
                },
            }
            cs_runs = critic_sampling_runs(setting, models, args.cs_budget, cs_runs)
            json_path.write_text(
                json.dumps({**saved, "results": results, "critic_sampling": cs_runs}, indent=1)
            )
        if any(name.startswith("coderl") for name in results):
            shared_critic(setting)  # cached: its report goes into results.md

    order = [r for r in ROWS if r in results]
    results = {r: results[r] for r in order}
    header, table_rows, numbers = summarise(results)
    png = args.out / "learning.png"
    plot(results, png, args.updates)
    import torch

    command = "python benchmarks/learning.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    previous = saved.get("meta", {})
    last = previous.get("command", "").splitlines()[-1:] or [""]
    if previous.get("command") and last[0] == command.strip():
        command = previous["command"]  # the same command again (a re-render): no new line
    elif previous.get("command"):
        command = f"{previous['command']}\n# then, resumed with:\n{command}"
    meta = {
        "command": command.strip(),
        "machine": (
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"torch {torch.__version__}"
        ),
        "cpus": os.cpu_count(),
        "minutes": previous.get("minutes", 0.0) + (time.perf_counter() - started) / 60,
        "a": len(a_tasks),
        "b": len(b_tasks),
        "c": len(c_tasks),
        "updates": args.updates,
        "seeds": ", ".join(map(str, seeds)),
        "n": args.eval_samples,
    }
    if "actor-critic+datagen" in results:  # what it used: this run's, else the saved one
        meta["datagen"] = setting.datagen_info or previous.get("datagen")
    extra = extra_sections(numbers, setting.critic_path, cs_runs, args.cs_budget, args.out)
    extra += datagen_section(numbers, meta.get("datagen"))
    extra += repair_section(results)
    write_markdown(
        args.out / "results.md", command.strip(), header, table_rows, numbers, meta, png, extra
    )
    json_path.write_text(
        json.dumps(saved_results(results, cs_runs, saved, meta, numbers), indent=1)
    )
    from agents.common.reporting import format_table

    print()
    print(format_table(header, table_rows))
    print(f"\nwrote {args.out / 'results.md'}, {png}, {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
