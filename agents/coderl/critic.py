"""CodeRL's critic (Le et al. 2022, Sec. 3.3.2, Eq. 9): a model that reads a problem and
a program and predicts how the program will fare against the unit tests.

:class:`OutcomeCritic` is a transformer backbone (any ``AutoModel``; by default a small
GPT-2 built here, smaller than the tiny actor) with a linear head on every token's
hidden state. The head's output at program token ``t`` is the critic's token-level
estimate of the outcome given the program so far; max-pooling those logits over the
program's tokens gives the sequence prediction that the cross-entropy loss trains.

Two critics are used: φ with the four outcome classes of :data:`OUTCOME_CLASSES` (the
actor's token weights during RL, Eq. 14), and φ_test with the two classes of
:data:`TEST_CLASSES` for whether a program passes the problem's *example* tests
(Critic Sampling, Sec. 3.3.4).

Training data comes from :func:`collect_critic_data`: programs sampled from a frozen
policy and graded by the sandbox, plus reference solutions labelled passed.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.common.config import SamplingConfig
from agents.common.optim import optimizer_step
from agents.common.policy import left_pad
from code_env.sandbox import ExecutionResult, Outcome, Sandbox
from code_env.tasks import Task

#: φ's classes, in CodeRL's order (the index is the label).
OUTCOME_CLASSES: tuple[str, ...] = tuple(o.value for o in Outcome)
#: φ_test's classes: does the program pass the example tests.
TEST_CLASSES: tuple[str, ...] = ("failed", "passed")

#: The default critic backbone: a GPT-2 half the tiny actor's width.
CRITIC_DEFAULTS: dict[str, Any] = {"n_layer": 2, "n_embd": 64, "n_head": 2, "n_positions": 512}


def outcome_label(result: ExecutionResult) -> int:
    """The index in :data:`OUTCOME_CLASSES` of a sandbox verdict."""
    return OUTCOME_CLASSES.index(result.outcome.value)


def test_label(result: ExecutionResult) -> int:
    """The index in :data:`TEST_CLASSES`: 1 if every (example) test passed."""
    return int(result.outcome is Outcome.PASSED)


@dataclass
class CriticExample:
    """One program and its label."""

    task_id: str
    prompt_ids: list[int]
    completion_ids: list[int]
    label: int
    source: str = "sampled"
    """``"sampled"`` or ``"reference"``."""


class OutcomeCritic(nn.Module):
    """Backbone plus a per-token linear head over ``classes``.

    Args:
        backbone: A transformer returning ``last_hidden_state`` (``AutoModel``).
        classes: The class names; the head has one output per class.
        pad_id: The padding token id of the tokenizer the critic reads.
    """

    def __init__(self, backbone: nn.Module, classes: Sequence[str], pad_id: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.classes = tuple(classes)
        self.pad_id = int(pad_id)
        config = backbone.config
        hidden = int(getattr(config, "hidden_size", None) or config.n_embd)
        self.head = nn.Linear(hidden, len(self.classes))

    @classmethod
    def build(
        cls,
        tokenizer,
        classes: Sequence[str] = OUTCOME_CLASSES,
        *,
        backbone: str | os.PathLike[str] | None = None,
        seed: int = 0,
        **overrides: Any,
    ) -> OutcomeCritic:
        """A new critic: the backbone loaded from a name or path (``AutoModel``), or by
        default a small GPT-2 over ``tokenizer``'s vocabulary (:data:`CRITIC_DEFAULTS`,
        overridable)."""
        torch.manual_seed(seed)
        if backbone is not None:
            from transformers import AutoModel

            model = AutoModel.from_pretrained(str(backbone))
        else:
            from transformers import GPT2Config, GPT2Model

            settings = {**CRITIC_DEFAULTS, **overrides}
            unknown = set(settings) - set(CRITIC_DEFAULTS)
            if unknown:
                raise ValueError(
                    f"unknown critic settings {sorted(unknown)}; valid: {', '.join(CRITIC_DEFAULTS)}"
                )
            model = GPT2Model(
                GPT2Config(
                    vocab_size=len(tokenizer),
                    bos_token_id=int(tokenizer.eos_token_id),
                    eos_token_id=int(tokenizer.eos_token_id),
                    pad_token_id=int(tokenizer.pad_token_id),
                    resid_pdrop=0.0,
                    embd_pdrop=0.0,
                    attn_pdrop=0.0,
                    **settings,
                )
            )
        return cls(model, classes, int(tokenizer.pad_token_id))

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def token_logits(
        self, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, mask)``: per program token, the head's class logits, shaped
        ``(batch, longest completion, classes)`` and right-aligned like
        :meth:`agents.common.policy.Policy.token_logprobs` (so the two multiply elementwise);
        ``mask`` marks each row's program tokens."""
        rows = [list(p) + list(c) for p, c in zip(prompts, completions, strict=True)]
        input_ids, attention = left_pad(rows, self.pad_id, self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        longest = max(1, max(len(c) for c in completions))
        hidden = self.backbone(
            input_ids=input_ids, attention_mask=attention, position_ids=positions
        ).last_hidden_state[:, -longest:]
        logits = self.head(hidden.float())
        mask = torch.zeros((len(rows), longest), dtype=torch.float32, device=self.device)
        for i, c in enumerate(completions):
            if c:
                mask[i, longest - len(c) :] = 1.0
        return logits, mask

    def sequence_logits(self, token_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Max-pool the token logits over each program's tokens: ``(batch, classes)``."""
        masked = token_logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))
        pooled = masked.max(dim=1).values
        return torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))

    def forward(
        self, prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
    ) -> torch.Tensor:
        """Sequence-level class logits, ``(batch, classes)``."""
        logits, mask = self.token_logits(prompts, completions)
        return self.sequence_logits(logits, mask)

    @torch.no_grad()
    def token_probs(
        self,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        batch_size: int = 64,
    ) -> list[np.ndarray]:
        """Per program, the token-level class probabilities, ``(len(program), classes)``
        (softmax of the head at each program token). No gradients."""
        out: list[np.ndarray] = []
        was_training = self.training
        self.eval()
        for start in range(0, len(prompts), batch_size):
            p = prompts[start : start + batch_size]
            c = completions[start : start + batch_size]
            logits, _ = self.token_logits(p, c)
            probs = torch.softmax(logits, dim=-1).cpu().numpy()
            longest = probs.shape[1]
            for row, comp in zip(probs, c, strict=True):
                out.append(row[longest - len(comp) :] if comp else row[:0])
        self.train(was_training)
        return out

    @torch.no_grad()
    def predict_proba(
        self,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        batch_size: int = 64,
    ) -> np.ndarray:
        """Sequence-level class probabilities, ``(batch, classes)``."""
        was_training = self.training
        self.eval()
        chunks = []
        for start in range(0, len(prompts), batch_size):
            logits = self(
                prompts[start : start + batch_size], completions[start : start + batch_size]
            )
            chunks.append(torch.softmax(logits, dim=-1).cpu().numpy())
        self.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes)))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """The backbone (``save_pretrained``), the head and the class names, in ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(str(path / "backbone"), safe_serialization=True)
        torch.save(self.head.state_dict(), path / "head.pt")
        (path / "critic.json").write_text(
            json.dumps({"classes": list(self.classes), "pad_id": self.pad_id}, indent=2)
        )
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu"
    ) -> OutcomeCritic:
        """A critic saved by :meth:`save`."""
        from transformers import AutoModel

        path = Path(path)
        meta_file = path / "critic.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"{path} holds no critic (no critic.json)")
        meta = json.loads(meta_file.read_text())
        critic = cls(
            AutoModel.from_pretrained(str(path / "backbone")), meta["classes"], meta["pad_id"]
        )
        critic.head.load_state_dict(torch.load(path / "head.pt", weights_only=True))
        return critic.to(device).eval()


def collect_critic_data(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    *,
    samples_per_task: int = 8,
    sampling: SamplingConfig | None = None,
    reference_tasks: Sequence[Task] = (),
) -> dict[str, list[CriticExample]]:
    """Sample programs from ``policy`` (frozen: no update) for ``tasks``, grade each on
    the hidden tests and on the example tests, and label them; add the reference
    solutions of ``reference_tasks`` as passed. Returns ``{"outcome": [...], "test":
    [...]}``, the training sets of φ and φ_test. Tasks without example tests give no
    φ_test examples. ``sampling`` says how the programs are sampled (length,
    temperature, top-p, batch, prompt cut; default :class:`SamplingConfig`'s)."""
    sampling = SamplingConfig() if sampling is None else sampling
    prompts = [t.prompt for t in tasks]
    groups = policy.sample(prompts, sampling, n=samples_per_task)
    encoded = policy.encode_prompts(prompts, sampling.max_prompt_tokens)
    jobs: list[tuple[Task, list[int], list[int], str]] = []
    for task, ids, samples in zip(tasks, encoded, groups, strict=True):
        for s in samples:
            jobs.append((task, ids, s.token_ids, s.text))
    hidden = sandbox.run_many([(t.program(text), t) for t, _, _, text in jobs])
    with_examples = [j for j in jobs if j[0].example_tests]
    example_results = sandbox.run_many(
        [(t.program(text), t, t.example_tests) for t, _, _, text in with_examples]
    )
    outcome = [
        CriticExample(t.task_id, ids, comp, outcome_label(res))
        for (t, ids, comp, _), res in zip(jobs, hidden, strict=True)
    ]
    test = [
        CriticExample(t.task_id, ids, comp, test_label(res))
        for (t, ids, comp, _), res in zip(with_examples, example_results, strict=True)
    ]
    for task in reference_tasks:
        if not task.solutions:
            continue
        ids = policy.encode_prompts([task.prompt], sampling.max_prompt_tokens)[0]
        comp = policy.completion_ids(task.solutions[0])
        outcome.append(
            CriticExample(task.task_id, ids, comp, len(OUTCOME_CLASSES) - 1, "reference")
        )
        if task.example_tests:
            test.append(CriticExample(task.task_id, ids, comp, 1, "reference"))
    return {"outcome": outcome, "test": test}


def train_critic(
    critic: OutcomeCritic,
    examples: Sequence[CriticExample],
    *,
    steps: int = 600,
    lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
    balance: bool = False,
    progress: bool = False,
    desc: str = "critic",
) -> list[float]:
    """Cross-entropy on the max-pooled sequence logits (Eq. 9) for ``steps`` AdamW steps.
    ``balance`` weights each class by the inverse of its frequency (off by default: on
    the tiny model's samples it lowered held-out accuracy). Returns the losses."""
    if not examples:
        raise ValueError("no examples to train the critic on")
    n_classes = len(critic.classes)
    counts = np.bincount([e.label for e in examples], minlength=n_classes).astype(np.float64)
    weights = None
    if balance:
        inverse = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0)
        weights = torch.tensor(inverse, dtype=torch.float32, device=critic.device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW(critic.parameters(), lr=lr, weight_decay=0.01)
    rng = random.Random(seed)
    order: list[int] = []
    losses: list[float] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, unit="step")
    critic.train()
    for _ in range(steps):
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        batch = [examples[i] for i in order[:batch_size]]
        del order[:batch_size]
        logits = critic([e.prompt_ids for e in batch], [e.completion_ids for e in batch])
        labels = torch.tensor([e.label for e in batch], device=critic.device)
        loss = loss_fn(logits, labels)
        optimizer_step(optimizer, loss, list(critic.parameters()), 1.0)
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    critic.eval()
    return losses


@dataclass
class CriticReport:
    """How well a critic predicts the labels of held-out programs."""

    classes: tuple[str, ...]
    accuracy: float
    confusion: list[list[int]]
    """``confusion[true][predicted]`` counts."""
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "accuracy": self.accuracy,
            "confusion": self.confusion,
            "n": self.n,
        }

    def format(self) -> str:
        """The confusion matrix as aligned text, rows = true class."""
        width = max(len(c) for c in self.classes) + 2
        lines = [f"accuracy {self.accuracy:.1%} on {self.n} programs (rows: true, cols: predicted)"]
        lines.append(" " * width + "".join(c.rjust(width) for c in self.classes))
        for name, row in zip(self.classes, self.confusion, strict=True):
            lines.append(name.ljust(width) + "".join(str(v).rjust(width) for v in row))
        return "\n".join(lines)


def evaluate_critic(critic: OutcomeCritic, examples: Sequence[CriticExample]) -> CriticReport:
    """Accuracy and confusion matrix of the sequence prediction on ``examples``."""
    n_classes = len(critic.classes)
    confusion = [[0] * n_classes for _ in range(n_classes)]
    if not examples:
        return CriticReport(critic.classes, 0.0, confusion, 0)
    probs = critic.predict_proba(
        [e.prompt_ids for e in examples], [e.completion_ids for e in examples]
    )
    predicted = probs.argmax(-1)
    for example, guess in zip(examples, predicted, strict=True):
        confusion[example.label][int(guess)] += 1
    correct = sum(confusion[i][i] for i in range(n_classes))
    return CriticReport(critic.classes, correct / len(examples), confusion, len(examples))


def plot_confusion(report: CriticReport, path: str | os.PathLike[str], title: str = "") -> Path:
    """A confusion-matrix heat map (row-normalised shares, counts printed) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(report.confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(
        figsize=(1.2 * len(report.classes) + 2.5, 1.0 * len(report.classes) + 1.8)
    )
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(report.classes)), report.classes, rotation=30, ha="right")
    ax.set_yticks(range(len(report.classes)), report.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(report.classes)):
        for j in range(len(report.classes)):
            ax.text(
                j,
                i,
                f"{int(counts[i, j])}",
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.5 else "black",
            )
    ax.set_title(title or f"critic accuracy {report.accuracy:.1%} (n = {report.n})")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def split_by_task(
    examples: Sequence[CriticExample], fraction: float, seed: int = 0
) -> tuple[list[CriticExample], list[CriticExample]]:
    """``(train, validation)``: a ``fraction`` of the tasks (not of the programs) goes to
    validation, so validation measures the critic on problems it has not read."""
    ids = sorted({e.task_id for e in examples})
    random.Random(seed).shuffle(ids)
    held = set(ids[: round(len(ids) * fraction)]) if fraction > 0 else set()
    return [e for e in examples if e.task_id not in held], [
        e for e in examples if e.task_id in held
    ]


def train_with_validation(
    critic: OutcomeCritic,
    train: Sequence[CriticExample],
    validation: Sequence[CriticExample],
    *,
    steps: int,
    eval_every: int = 50,
    **kwargs: Any,
) -> tuple[list[float], int]:
    """:func:`train_critic` in rounds of ``eval_every`` steps, keeping the weights with
    the best validation accuracy (the last, without validation data). Returns the
    losses and the step of the kept weights."""
    import copy

    losses: list[float] = []
    best_step, best_accuracy, best_state = 0, -1.0, None
    done = 0
    while done < steps:
        chunk = min(eval_every, steps - done)
        losses += train_critic(
            critic, train, steps=chunk, **{**kwargs, "seed": kwargs.get("seed", 0) + done}
        )
        done += chunk
        if validation:
            accuracy = evaluate_critic(critic, validation).accuracy
            if accuracy > best_accuracy:
                best_step, best_accuracy = done, accuracy
                best_state = copy.deepcopy(critic.state_dict())
    if best_state is not None:
        critic.load_state_dict(best_state)
    else:
        best_step = done
    return losses, best_step


def fit_critics(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    out: str | os.PathLike[str],
    *,
    reference_tasks: Sequence[Task] = (),
    held_out: Sequence[Task] = (),
    samples_per_task: int = 8,
    held_out_samples_per_task: int = 4,
    validation_fraction: float = 0.2,
    steps: int = 300,
    eval_every: int = 50,
    lr: float = 1e-3,
    batch_size: int = 32,
    balance: bool = False,
    sampling: SamplingConfig | None = None,
    backbone: str | None = None,
    seed: int = 0,
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Train φ (outcome) and φ_test (example tests) on programs ``policy`` samples for
    ``tasks`` plus the references of ``reference_tasks``, keeping the weights that do
    best on a validation split of the tasks; measure both on programs sampled for the
    ``held_out`` tasks; save them to ``out/outcome`` and ``out/test`` with
    ``out/critic_report.json`` and confusion-matrix PNGs. Returns the report.
    ``sampling`` says how the programs are sampled (default :class:`SamplingConfig`'s);
    ``batch_size`` is the critics' training batch."""
    import time

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    log(f"critic data: sampling {samples_per_task} programs for each of {len(tasks)} tasks")
    data = collect_critic_data(
        policy,
        tasks,
        sandbox,
        samples_per_task=samples_per_task,
        sampling=sampling,
        reference_tasks=reference_tasks,
    )
    held = (
        collect_critic_data(
            policy,
            held_out,
            sandbox,
            samples_per_task=held_out_samples_per_task,
            sampling=sampling,
        )
        if held_out
        else {"outcome": [], "test": []}
    )
    report: dict[str, Any] = {"seconds_sampling": round(time.perf_counter() - start, 1)}
    for name, classes in (("outcome", OUTCOME_CLASSES), ("test", TEST_CLASSES)):
        train, validation = split_by_task(data[name], validation_fraction, seed)
        critic = OutcomeCritic.build(policy.tokenizer, classes, backbone=backbone, seed=seed)
        critic.to(policy.device)
        losses, kept = train_with_validation(
            critic,
            train,
            validation,
            steps=steps,
            eval_every=eval_every,
            lr=lr,
            batch_size=batch_size,
            balance=balance,
            seed=seed,
            progress=progress,
            desc=f"critic ({name})",
        )
        critic.save(out / name)
        held_report = evaluate_critic(critic, held[name])
        counts = np.bincount([e.label for e in train], minlength=len(classes)).tolist()
        majority = max(counts) / max(1, sum(counts))
        report[name] = {
            "train_examples": len(train),
            "train_label_counts": dict(zip(classes, counts, strict=True)),
            "majority_share": majority,
            "train_accuracy": evaluate_critic(critic, train).accuracy,
            "validation": evaluate_critic(critic, validation).to_dict(),
            "held_out": held_report.to_dict(),
            "kept_step": kept,
            "final_loss": float(np.mean(losses[-20:])),
            "parameters": sum(p.numel() for p in critic.parameters()),
        }
        label = "φ_test" if name == "test" else "φ"
        if held_report.n:
            plot_confusion(
                held_report,
                out / f"confusion_{name}.png",
                title=f"critic {label}: held-out accuracy {held_report.accuracy:.1%} "
                f"(n = {held_report.n})",
            )
            log(f"critic {label} on held-out programs: {held_report.format()}")
    report["seconds"] = round(time.perf_counter() - start, 1)
    (out / "critic_report.json").write_text(json.dumps(report, indent=2))
    return report


def train_critics_for(
    model: str,
    tasks: Sequence[Task],
    out: str | os.PathLike[str],
    *,
    held_out: Sequence[Task] = (),
    samples_per_task: int = 8,
    steps: int = 300,
    sampling: SamplingConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    log=print,
    sandbox: Any = None,
) -> dict[str, Any]:
    """:func:`fit_critics` for a model by name or path: φ and φ_test trained on programs
    ``model`` samples for ``tasks``, plus the references those tasks carry as passed
    programs (strip them from tasks learned from rewards only); measured on programs
    sampled for ``held_out``. Saved in ``out``; returns the report. Programs are graded
    in ``sandbox`` (a local or Ray one; default: a local
    :class:`~code_env.sandbox.Sandbox` made and closed here)."""
    import contextlib

    from agents.common.policy import Policy

    policy = Policy(model, reference=False)
    with contextlib.ExitStack() as stack:
        if sandbox is None:
            sandbox = stack.enter_context(Sandbox())
        return fit_critics(
            policy,
            tasks,
            sandbox,
            out,
            reference_tasks=[t for t in tasks if t.solutions],
            held_out=held_out,
            samples_per_task=samples_per_task,
            steps=steps,
            sampling=sampling,
            seed=seed,
            progress=progress,
            log=log,
        )
