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
policy and graded by the sandbox, plus reference solutions labelled passed, plus graded
mutants of those references (:func:`collect_mutant_data`). :class:`CriticConfig` is the
recipe :func:`fit_critics` follows: which programs (how many, at which temperatures,
for which tasks, deduplicated), the backbone's initialisation (the actor's own language
model, as CodeRL starts its critic from a pretrained model of the actor's family, or a
small GPT-2 from scratch), whether it reads where brackets fail to match
(:meth:`OutcomeCritic.read_brackets`) and takes the parser's verdict on whether a program
compiles as given (:attr:`OutcomeCritic.knows_syntax`, :mod:`agents.coderl.syntax`),
class weighting, which validation metric keeps
the weights (early stopping on held-out tasks), and the per-class logit offsets and
temperature fitted on those tasks afterwards (:func:`fit_offsets`,
:func:`fit_temperature`). :func:`evaluate_critic` reports accuracy, balanced accuracy,
per-class recall, the majority class's share and a reliability table
(:func:`plot_reliability` draws it).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.coderl.syntax import program_compiles
from agents.common.config import SamplingConfig, _non_negative, _positive
from agents.common.optim import optimizer_step
from agents.common.policy import Policy, left_pad
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
    """``"sampled"``, ``"reference"`` or ``"mutant"`` (a reference with one edit,
    :mod:`agents.coderl.mutants`)."""
    temperature: float | None = None
    """The sampling temperature of a sampled program (None: a reference)."""
    sampler: str = ""
    """Which model sampled it (a label, e.g. ``"warm-start"``; empty: a reference)."""
    compiles: bool | None = None
    """Whether the program compiles (:func:`~agents.coderl.syntax.program_compiles`,
    read from the program, not from running it; None: not known)."""

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        """What makes two examples the same program: the task and the program's tokens."""
        return self.task_id, tuple(self.completion_ids)


def deduplicate(examples: Sequence[CriticExample]) -> list[CriticExample]:
    """``examples`` with each program kept once per task (the first seen: the same
    program sampled twice is one piece of evidence, not two)."""
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out = []
    for example in examples:
        if example.key not in seen:
            seen.add(example.key)
            out.append(example)
    return out


#: Opening and closing brackets, matched by position: code ``1 + i`` opens bracket ``i``,
#: ``1 + len(OPENERS) + i`` closes it (:func:`bracket_codes`).
OPENERS, CLOSERS = "([{", ")]}"
#: At most this many brackets of one token are read (longer runs are rare).
BRACKETS_PER_TOKEN = 8
#: What :func:`bracket_flags` says of a program token.
BRACKET_OK, BRACKET_MISMATCH, BRACKET_UNCLOSED = 0, 1, 2


def bracket_codes(tokenizer) -> torch.Tensor:
    """``(vocabulary, BRACKETS_PER_TOKEN)`` int8: each token's brackets in the order its
    text holds them, coded as :data:`OPENERS` and :data:`CLOSERS` say (0: none)."""
    codes = torch.zeros((len(tokenizer), BRACKETS_PER_TOKEN), dtype=torch.int8)
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        found = [
            1 + OPENERS.index(c) if c in OPENERS else 1 + len(OPENERS) + CLOSERS.index(c)
            for c in text
            if c in OPENERS or c in CLOSERS
        ][:BRACKETS_PER_TOKEN]
        codes[token_id, : len(found)] = torch.tensor(found, dtype=torch.int8)
    return codes


def bracket_flags(
    codes: torch.Tensor | Sequence[Sequence[int]], prompt: Sequence[int], completion: Sequence[int]
) -> list[int]:
    """Per completion token: :data:`BRACKET_MISMATCH` where a closing bracket does not
    close the innermost open one (or none is open), :data:`BRACKET_UNCLOSED` on the last
    token when brackets are left open, else :data:`BRACKET_OK`. The brackets of the
    prompt count too; brackets inside strings and comments are not told apart."""
    table = codes.tolist() if isinstance(codes, torch.Tensor) else codes
    n_open = len(OPENERS)
    stack: list[int] = []
    flags: list[int] = []
    for position, token in enumerate([*prompt, *completion]):
        flag = BRACKET_OK
        for code in table[token] if 0 <= token < len(table) else ():
            if code == 0:
                break
            if code <= n_open:
                stack.append(code)
            elif stack and stack[-1] == code - n_open:
                stack.pop()
            else:
                flag = BRACKET_MISMATCH
        if position >= len(prompt):
            flags.append(flag)
    if flags and stack and flags[-1] == BRACKET_OK:
        flags[-1] = BRACKET_UNCLOSED
    return flags


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
        self.brackets: nn.Embedding | None = None
        """With :meth:`read_brackets`: an embedding of each token's :func:`bracket_flags`,
        added to its hidden state before the head."""
        self.offsets: list[float] = [0.0] * len(self.classes)
        """Added to each class's logit before every softmax (post-hoc logit adjustment,
        :func:`fit_offsets`): they move the decision between classes; zeros: none."""
        self.temperature = 1.0
        """Divides the (offset) logits before every softmax (temperature scaling,
        :func:`fit_temperature`); 1.0: none. Predictions (the argmax) do not change."""
        self.knows_syntax = False
        """Take the parser's verdict as given wherever the caller passes it
        (``compiles``; :mod:`agents.coderl.syntax`): a program that does not compile is
        a compile error (φ) or fails its tests (φ_test) for certain, one that compiles
        is no compile error; the network decides the rest."""

    @classmethod
    def from_policy(
        cls, policy: Any, classes: Sequence[str] = OUTCOME_CLASSES, *, seed: int = 0
    ) -> OutcomeCritic:
        """A new critic whose backbone is a copy of ``policy``'s own language model
        without its output layer (CodeRL starts its critic from a pretrained model of
        the actor's family); the head is new. Decoder-only models only."""
        model = policy.model
        if hasattr(model, "get_base_model"):  # LoRA: the model with its adapters in place
            model = model.get_base_model()
        if getattr(model.config, "is_encoder_decoder", False):
            raise ValueError(
                f"a critic initialised from the actor needs a decoder-only model; "
                f"{type(model).__name__} is an encoder-decoder: use CriticConfig(init='scratch')"
            )
        torch.manual_seed(seed)
        backbone = copy.deepcopy(model.base_model)
        return cls(backbone, classes, int(policy.tokenizer.pad_token_id))

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

    def read_brackets(self, tokenizer: Any = None, codes: torch.Tensor | None = None) -> None:
        """Let the critic read where brackets fail to match (:func:`bracket_flags`,
        from ``tokenizer``'s token texts or ready ``codes``): a small model does not learn
        to match brackets from a few thousand programs, and mismatched brackets are most
        of a small model's compile errors. The flags' embedding starts at zero, so the
        critic's outputs do not change until it is trained."""
        if codes is None:
            codes = bracket_codes(tokenizer)
        self.register_buffer("bracket_table", codes.to(torch.int8), persistent=True)
        self._bracket_rows = codes.tolist()  # read per token: a list is faster than a tensor
        self.brackets = nn.Embedding(3, self.head.in_features).to(self.device)
        nn.init.zeros_(self.brackets.weight)

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
        hidden = hidden.float()
        if self.brackets is not None:
            flags = torch.zeros((len(rows), longest), dtype=torch.long)
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
                if c:
                    flags[i, longest - len(c) :] = torch.tensor(
                        bracket_flags(self._bracket_rows, p, c)
                    )
            hidden = hidden + self.brackets(flags.to(self.device))
        logits = self.head(hidden)
        mask = torch.zeros((len(rows), longest), dtype=torch.float32, device=self.device)
        for i, c in enumerate(completions):
            if c:
                mask[i, longest - len(c) :] = 1.0
        return logits, mask

    def adjusted(self, logits: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """``logits`` (classes last) with :attr:`offsets` added and divided by
        :attr:`temperature`: what every probability the critic gives is a softmax of.
        Classes ``allowed`` (a boolean mask shaped like ``logits``, from
        :meth:`syntax_mask`) marks False get no probability."""
        offsets = torch.tensor(self.offsets, dtype=logits.dtype, device=logits.device)
        adjusted = (logits + offsets) / self.temperature
        if allowed is not None:
            adjusted = adjusted.masked_fill(~allowed.to(adjusted.device), float("-inf"))
        return adjusted

    @property
    def syntax_classes(self) -> tuple[int, int | None]:
        """``(certain, impossible)``: the class a program that does not compile has for
        certain (compile error for φ, failed for φ_test), and the class a program that
        compiles cannot have (compile error; None for φ_test)."""
        if "compile_error" in self.classes:
            index = self.classes.index("compile_error")
            return index, index
        return self.classes.index("failed"), None

    def syntax_mask(self, compiles: Sequence[bool | None] | None) -> torch.Tensor | None:
        """``(programs, classes)``: the classes each program can have given whether it
        compiles (:attr:`syntax_classes`); every class where that is None, or for
        every program when the critic does not :attr:`knows_syntax` or ``compiles`` is
        None (then None)."""
        if compiles is None or not self.knows_syntax:
            return None
        certain, impossible = self.syntax_classes
        allowed = torch.ones((len(compiles), len(self.classes)), dtype=torch.bool)
        for row, verdict in enumerate(compiles):
            if verdict is False:
                allowed[row] = False
                allowed[row, certain] = True
            elif verdict is True and impossible is not None:
                allowed[row, impossible] = False
        return allowed

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
        compiles: Sequence[bool | None] | None = None,
    ) -> list[np.ndarray]:
        """Per program, the token-level class probabilities, ``(len(program), classes)``
        (softmax of the head at each program token, over :attr:`temperature`). No
        gradients. With ``compiles`` (one verdict per program) and :attr:`knows_syntax`,
        the last token, which sees the whole program, takes the verdict as given; so do
        the tokens of a program that does not compile from its first closing bracket that
        matches nothing on (:func:`bracket_flags`; from there no continuation compiles,
        unless the bracket is in a string or comment), as the earlier tokens cannot know
        what follows."""
        out: list[np.ndarray] = []
        was_training = self.training
        self.eval()
        for start in range(0, len(prompts), batch_size):
            p = prompts[start : start + batch_size]
            c = completions[start : start + batch_size]
            logits, _ = self.token_logits(p, c)
            longest = logits.shape[1]
            verdicts = None if compiles is None else compiles[start : start + batch_size]
            sequence_allowed = self.syntax_mask(verdicts)
            allowed = None
            if sequence_allowed is not None:
                allowed = torch.ones(logits.shape, dtype=torch.bool)
                for i, (prompt, comp) in enumerate(zip(p, c, strict=True)):
                    if not comp:
                        continue
                    allowed[i, -1] = sequence_allowed[i]
                    if verdicts[i] is False and self.brackets is not None:
                        flags = bracket_flags(self._bracket_rows, prompt, comp)
                        if BRACKET_MISMATCH in flags:
                            first = longest - len(comp) + flags.index(BRACKET_MISMATCH)
                            allowed[i, first:] = sequence_allowed[i]
            probs = torch.softmax(self.adjusted(logits, allowed), dim=-1).cpu().numpy()
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
        compiles: Sequence[bool | None] | None = None,
    ) -> np.ndarray:
        """Sequence-level class probabilities, ``(batch, classes)`` (over
        :attr:`temperature`); with ``compiles`` (one verdict per program) and
        :attr:`knows_syntax`, given the parser's verdict (:meth:`syntax_mask`)."""
        was_training = self.training
        self.eval()
        chunks = []
        allowed = self.syntax_mask(compiles)
        for start in range(0, len(prompts), batch_size):
            logits = self(
                prompts[start : start + batch_size], completions[start : start + batch_size]
            )
            rows = None if allowed is None else allowed[start : start + batch_size]
            chunks.append(torch.softmax(self.adjusted(logits, rows), dim=-1).cpu().numpy())
        self.train(was_training)
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes)))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """The backbone (``save_pretrained``), the head, the class names, the offsets
        and the temperature, in ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(str(path / "backbone"), safe_serialization=True)
        torch.save(self.head.state_dict(), path / "head.pt")
        if self.brackets is not None:
            torch.save(
                {"codes": self.bracket_table.cpu(), "embedding": self.brackets.state_dict()},
                path / "brackets.pt",
            )
        (path / "critic.json").write_text(
            json.dumps(
                {
                    "classes": list(self.classes),
                    "pad_id": self.pad_id,
                    "offsets": self.offsets,
                    "temperature": self.temperature,
                    "knows_syntax": self.knows_syntax,
                },
                indent=2,
            )
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
        if (path / "brackets.pt").is_file():
            saved = torch.load(path / "brackets.pt", weights_only=True)
            critic.read_brackets(codes=saved["codes"])
            critic.brackets.load_state_dict(saved["embedding"])
        critic.offsets = [float(x) for x in meta.get("offsets", critic.offsets)]
        critic.temperature = float(meta.get("temperature", 1.0))
        critic.knows_syntax = bool(meta.get("knows_syntax", False))
        return critic.to(device).eval()


def critic_state(critic: OutcomeCritic) -> dict[str, Any]:
    """Everything needed to rebuild ``critic`` without files (its backbone's config,
    classes, padding id, offsets, temperature, whether it knows syntax, and weights): saved in agents' checkpoints and sent
    between processes."""
    return {
        "backbone_config": critic.backbone.config.to_dict(),
        "classes": list(critic.classes),
        "pad_id": critic.pad_id,
        "offsets": list(critic.offsets),
        "temperature": critic.temperature,
        "reads_brackets": critic.brackets is not None,
        "knows_syntax": critic.knows_syntax,
        "state_dict": {k: v.detach().cpu() for k, v in critic.state_dict().items()},
    }


def critic_from_state(state: dict[str, Any]) -> OutcomeCritic:
    """The critic :func:`critic_state` described."""
    from transformers import AutoConfig, AutoModel

    settings = dict(state["backbone_config"])
    config = AutoConfig.for_model(settings.pop("model_type"), **settings)
    critic = OutcomeCritic(AutoModel.from_config(config), state["classes"], state["pad_id"])
    if state.get("reads_brackets"):
        critic.read_brackets(codes=state["state_dict"]["bracket_table"])
    critic.load_state_dict(state["state_dict"])
    critic.offsets = [float(x) for x in state.get("offsets", critic.offsets)]
    critic.temperature = float(state.get("temperature", 1.0))
    critic.knows_syntax = bool(state.get("knows_syntax", False))
    return critic


def grade_examples(
    sandbox: Sandbox, programs: Sequence[tuple[Task, str, CriticExample]]
) -> dict[str, list[CriticExample]]:
    """Run each ``(task, program text, example)`` on the task's hidden tests and, where
    the task has them, on its example tests; returns ``{"outcome": [...], "test":
    [...]}``: copies of the examples labelled for φ and for φ_test, each with whether
    it compiles."""
    built = [(t, t.program(text), e) for t, text, e in programs]  # each program built once
    programs = [
        (t, source, replace(e, compiles=program_compiles(source))) for t, source, e in built
    ]
    hidden = sandbox.run_many([(source, t) for t, source, _ in programs])
    with_examples = [p for p in programs if p[0].example_tests]
    example_results = sandbox.run_many(
        [(source, t, t.example_tests) for t, source, _ in with_examples]
    )
    return {
        "outcome": [
            replace(e, label=outcome_label(r))
            for (_, _, e), r in zip(programs, hidden, strict=True)
        ],
        "test": [
            replace(e, label=test_label(r))
            for (_, _, e), r in zip(with_examples, example_results, strict=True)
        ],
    }


def collect_critic_data(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    *,
    samples_per_task: int = 8,
    sampling: SamplingConfig | None = None,
    reference_tasks: Sequence[Task] = (),
    temperatures: Sequence[float] | None = None,
    sampler: str = "",
) -> dict[str, list[CriticExample]]:
    """Sample programs from ``policy`` (frozen: no update) for ``tasks``, grade each on
    the hidden tests and on the example tests, and label them; add the reference
    solutions of ``reference_tasks`` as passed. Returns ``{"outcome": [...], "test":
    [...]}``, the training sets of φ and φ_test. Tasks without example tests give no
    φ_test examples. ``sampling`` says how the programs are sampled (length,
    temperature, top-p, batch, prompt cut; default :class:`SamplingConfig`'s);
    ``temperatures``, when given, replaces its temperature: ``samples_per_task``
    programs are sampled at each; ``sampler`` labels the examples."""
    sampling = SamplingConfig() if sampling is None else sampling
    temperatures = [sampling.temperature] if temperatures is None else list(temperatures)
    prompts = [t.prompt for t in tasks]
    encoded = policy.encode_prompts(prompts, sampling.max_prompt_tokens)
    jobs: list[tuple[Task, str, CriticExample]] = []
    for temperature in temperatures:
        groups = policy.sample(
            prompts, sampling.replace(temperature=temperature), n=samples_per_task
        )
        for task, ids, samples in zip(tasks, encoded, groups, strict=True):
            for s in samples:
                example = CriticExample(
                    task.task_id, ids, s.token_ids, -1, "sampled", temperature, sampler
                )
                jobs.append((task, s.text, example))
    graded = grade_examples(sandbox, jobs)
    outcome, test = graded["outcome"], graded["test"]
    for task in reference_tasks:
        if not task.solutions:
            continue
        ids = policy.encode_prompts([task.prompt], sampling.max_prompt_tokens)[0]
        comp = policy.completion_ids(task.solutions[0])
        compiles = program_compiles(task.program(task.solutions[0]))
        outcome.append(
            CriticExample(
                task.task_id, ids, comp, len(OUTCOME_CLASSES) - 1, "reference", compiles=compiles
            )
        )
        if task.example_tests:
            test.append(CriticExample(task.task_id, ids, comp, 1, "reference", compiles=compiles))
    return {"outcome": outcome, "test": test}


def collect_mutant_data(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    *,
    per_reference: int,
    sampling: SamplingConfig | None = None,
    seed: int = 0,
) -> dict[str, list[CriticExample]]:
    """Up to ``per_reference`` mutants of each task's first solution
    (:func:`agents.coderl.mutants.mutants`: one small edit in the reference's own
    layout), graded on the hidden and the example tests like sampled programs and
    labelled, with source ``"mutant"``: near misses for the same problems as the
    references. Returns ``{"outcome": [...], "test": [...]}``."""
    from agents.coderl.mutants import mutants

    sampling = SamplingConfig() if sampling is None else sampling
    solved = [t for t in tasks if t.solutions]
    encoded = policy.encode_prompts([t.prompt for t in solved], sampling.max_prompt_tokens)
    jobs = [
        (task, text, CriticExample(task.task_id, ids, policy.completion_ids(text), -1, "mutant"))
        for task, ids in zip(solved, encoded, strict=True)
        for text in mutants(task.solutions[0], per_reference, seed=f"{seed}:{task.task_id}")
    ]
    return grade_examples(sandbox, jobs)


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
    """How well a critic predicts the labels of programs it is shown."""

    classes: tuple[str, ...]
    accuracy: float
    confusion: list[list[int]]
    """``confusion[true][predicted]`` counts."""
    n: int
    reliability: list[dict[str, float]] = field(default_factory=list)
    """Per bin of the predicted class's probability (``RELIABILITY_BINS`` equal bins over
    [0, 1], empty ones left out): ``low``, ``high``, ``count``, mean ``confidence`` and
    ``accuracy``: a calibrated critic is right about as often as it is confident."""
    nll: float = 0.0
    """Mean negative log-likelihood of the true class."""

    @property
    def recall(self) -> dict[str, float | None]:
        """Per class, the share of its programs predicted as it (None: none in the set)."""
        out: dict[str, float | None] = {}
        for name, row in zip(self.classes, self.confusion, strict=True):
            total = sum(row)
            out[name] = row[self.classes.index(name)] / total if total else None
        return out

    @property
    def balanced_accuracy(self) -> float:
        """The mean recall over the classes present: a constant answer scores
        1 / (number of classes present), however unbalanced the set."""
        present = [r for r in self.recall.values() if r is not None]
        return sum(present) / len(present) if present else 0.0

    @property
    def majority_accuracy(self) -> float:
        """The accuracy of always answering this set's commonest class."""
        return max((sum(row) for row in self.confusion), default=0) / max(1, self.n)

    @property
    def ece(self) -> float:
        """Expected calibration error: the count-weighted mean gap between confidence
        and accuracy over :attr:`reliability`'s bins."""
        return sum(
            b["count"] * abs(b["confidence"] - b["accuracy"]) for b in self.reliability
        ) / max(1, self.n)

    def constant_accuracy(self, label: int) -> float:
        """The accuracy of always answering class ``label`` (e.g. the training set's
        commonest) on this set."""
        return sum(self.confusion[label]) / max(1, self.n)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with the derived figures."""
        return {
            "classes": list(self.classes),
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "recall": self.recall,
            "majority_accuracy": self.majority_accuracy,
            "confusion": self.confusion,
            "n": self.n,
            "nll": self.nll,
            "ece": self.ece,
            "reliability": self.reliability,
        }

    def format(self) -> str:
        """The confusion matrix as aligned text, rows = true class."""
        width = max(len(c) for c in self.classes) + 2
        lines = [
            f"accuracy {self.accuracy:.1%} (majority class {self.majority_accuracy:.1%}), "
            f"balanced accuracy {self.balanced_accuracy:.1%} on {self.n} programs "
            "(rows: true, cols: predicted)"
        ]
        lines.append(" " * width + "".join(c.rjust(width) for c in self.classes))
        for name, row in zip(self.classes, self.confusion, strict=True):
            lines.append(name.ljust(width) + "".join(str(v).rjust(width) for v in row))
        return "\n".join(lines)


#: Bins of :attr:`CriticReport.reliability`.
RELIABILITY_BINS = 10


def evaluate_critic(critic: OutcomeCritic, examples: Sequence[CriticExample]) -> CriticReport:
    """Accuracy, confusion matrix, log-likelihood and reliability of the sequence
    prediction on ``examples`` (given whether each compiles, where the critic
    :attr:`~OutcomeCritic.knows_syntax`)."""
    n_classes = len(critic.classes)
    confusion = [[0] * n_classes for _ in range(n_classes)]
    if not examples:
        return CriticReport(critic.classes, 0.0, confusion, 0)
    probs = critic.predict_proba(
        [e.prompt_ids for e in examples],
        [e.completion_ids for e in examples],
        compiles=[e.compiles for e in examples],
    )
    labels = np.array([e.label for e in examples])
    predicted = probs.argmax(-1)
    for label, guess in zip(labels, predicted, strict=True):
        confusion[int(label)][int(guess)] += 1
    correct = sum(confusion[i][i] for i in range(n_classes))
    confidence = probs.max(-1)
    right = predicted == labels
    bins = []
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    for b in range(RELIABILITY_BINS):
        inside = index == b
        if inside.any():
            bins.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "count": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(right[inside].mean()),
                }
            )
    true_probs = probs[np.arange(len(labels)), labels]
    nll = float(-np.log(np.clip(true_probs, 1e-12, 1.0)).mean())
    return CriticReport(
        critic.classes, correct / len(examples), confusion, len(examples), bins, nll
    )


def raw_logits(critic: OutcomeCritic, examples: Sequence[CriticExample]) -> torch.Tensor:
    """The sequence logits of ``examples``, ``(n, classes)`` on the CPU, before the
    critic's offsets and temperature (what :func:`fit_offsets` and
    :func:`fit_temperature` fit them on). No gradients."""
    with torch.no_grad():
        was_training = critic.training
        critic.eval()
        chunks = [
            critic(
                [e.prompt_ids for e in examples[i : i + 64]],
                [e.completion_ids for e in examples[i : i + 64]],
            )
            .float()
            .cpu()
            for i in range(0, len(examples), 64)
        ]
        critic.train(was_training)
    return torch.cat(chunks) if chunks else torch.zeros((0, len(critic.classes)))


def constant_answers(
    critic: OutcomeCritic, examples: Sequence[CriticExample], counts: Sequence[int]
) -> np.ndarray:
    """What the constant to beat answers for each of ``examples``: the commonest class of
    the training ``counts``; for a critic that :attr:`~OutcomeCritic.knows_syntax`, the
    commonest the parser's verdict allows (a compile error when a program does not
    compile, the commonest other class when it does): a constant that knows what the
    critic is told."""
    prior = np.log(np.maximum(np.asarray(counts, dtype=np.float64), 1e-9))
    allowed = critic.syntax_mask([e.compiles for e in examples])
    if allowed is None:
        return np.full(len(examples), int(np.argmax(prior)))
    return np.where(allowed.numpy(), prior, -np.inf).argmax(-1)


def constant_accuracy(
    critic: OutcomeCritic, examples: Sequence[CriticExample], counts: Sequence[int]
) -> float:
    """The accuracy on ``examples`` of :func:`constant_answers`."""
    if not examples:
        return 0.0
    labels = np.array([e.label for e in examples])
    return float((constant_answers(critic, examples, counts) == labels).mean())


def syntax_figures(
    critic: OutcomeCritic, examples: Sequence[CriticExample], counts: Sequence[int]
) -> dict[str, Any]:
    """For a critic that :attr:`~OutcomeCritic.knows_syntax`, the figures a plain
    constant hides: ``constant_given_syntax`` (:func:`constant_accuracy` on
    ``examples``) and ``compiling``, the network's own report on the programs that
    compile, with that constant's accuracy there."""
    compiling = [e for e in examples if e.compiles]
    return {
        "constant_given_syntax": constant_accuracy(critic, examples, counts),
        "compiling": {
            **evaluate_critic(critic, compiling).to_dict(),
            "constant": constant_accuracy(critic, compiling, counts),
        },
    }


def fit_temperature(critic: OutcomeCritic, examples: Sequence[CriticExample]) -> float:
    """Temperature scaling (Guo et al. 2017): the temperature in [0.05, 20] that gives
    the lowest negative log-likelihood of ``examples``' labels (a search over a
    log-spaced grid, then around the best point), set on ``critic`` and returned. The
    argmax does not change; the probabilities become as sure as the critic is right on
    programs of tasks it was not trained on. The critic's offsets are kept (fit them
    first). Without examples: 1.0."""
    critic.temperature = 1.0
    if not examples:
        return 1.0
    logits = raw_logits(critic, examples) + torch.tensor(critic.offsets)
    labels = torch.tensor([e.label for e in examples])
    allowed = critic.syntax_mask([e.compiles for e in examples])

    def nll(t: float) -> float:
        scaled = logits / t
        if allowed is not None:
            scaled = scaled.masked_fill(~allowed, float("-inf"))
        log_probs = torch.log_softmax(scaled, dim=-1).gather(1, labels[:, None])
        return float(-log_probs.clamp(min=math.log(1e-12)).mean())

    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 61))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.1, 0.1, 21))
    critic.temperature = float(min(fine, key=nll))
    return critic.temperature


#: The values each class's offset can take in :func:`fit_offsets`.
OFFSET_GRID = np.round(np.arange(-4.0, 4.0001, 0.25), 2)


def fit_offsets(
    critic: OutcomeCritic,
    examples: Sequence[CriticExample],
    constant_label: int,
    rounds: int = 3,
    *,
    counts: Sequence[int] | None = None,
) -> list[float]:
    """Post-hoc logit adjustment (Menon et al. 2021, tuned rather than set from the
    priors): per-class offsets added to the logits, chosen on ``examples`` (programs of
    tasks the critic was not trained on) to give the best balanced accuracy among the
    offsets whose accuracy is at least that of always answering ``constant_label`` (the
    training set's commonest class), given the parser's verdict where the critic
    :attr:`~OutcomeCritic.knows_syntax`; with the training class ``counts``, the constant
    is :func:`constant_answers` (which knows the verdict too); if none reaches it, the
    most accurate. Among
    offsets that score the same, the smallest (the least change to the trained critic's
    decisions: a few hundred validation programs leave wide ties). A search of
    :data:`OFFSET_GRID` one class at a time, ``rounds`` times over (the first class stays
    at 0: only differences matter). Set on ``critic`` (the temperature is reset to 1:
    fit it afterwards) and returned. Without examples: zeros."""
    n_classes = len(critic.classes)
    critic.offsets = [0.0] * n_classes
    critic.temperature = 1.0
    if not examples:
        return critic.offsets
    logits = raw_logits(critic, examples).numpy()
    allowed = critic.syntax_mask([e.compiles for e in examples])
    if allowed is not None:  # the parser's verdict decides where it can
        logits = np.where(allowed.numpy(), logits, -np.inf)
    labels = np.array([e.label for e in examples])
    constant = (
        float((labels == constant_label).mean())
        if counts is None
        else constant_accuracy(critic, examples, counts)
    )
    critic.offsets = [float(x) for x in search_offsets(logits, labels, constant, rounds)]
    return critic.offsets


def search_offsets(
    logits: np.ndarray, labels: np.ndarray, constant: float, rounds: int = 3
) -> np.ndarray:
    """The search behind :func:`fit_offsets`, on given sequence ``logits`` (``-inf``
    where the parser's verdict rules a class out) and ``labels``: the per-class offsets
    of :data:`OFFSET_GRID` with the best balanced accuracy among those whose accuracy is
    at least ``constant`` (else the most accurate), the smallest among ties; the first
    class stays at 0. Apart from :func:`fit_offsets` so that logits pooled from several
    critics (benchmarks/critic_folds.py) can be searched the same way."""
    n_classes = logits.shape[1]
    present = [c for c in range(n_classes) if (labels == c).any()]

    def score(offsets: np.ndarray) -> tuple[bool, float, float, float]:
        predicted = (logits + offsets).argmax(-1)
        accuracy = float((predicted == labels).mean())
        balanced = float(np.mean([(predicted[labels == c] == c).mean() for c in present]))
        meets = accuracy >= constant
        return meets, balanced if meets else accuracy, accuracy, -float(np.abs(offsets).sum())

    best = np.zeros(n_classes)
    best_score = score(best)
    for _ in range(rounds):
        for c in range(1, n_classes):
            for value in OFFSET_GRID:
                trial = best.copy()
                trial[c] = value
                trial_score = score(trial)
                if trial_score > best_score:
                    best, best_score = trial, trial_score
    return best


def plot_reliability(
    reports: dict[str, CriticReport], path: str | os.PathLike[str], title: str = ""
) -> Path:
    """A reliability diagram as a PNG: for each named report, accuracy against
    confidence per bin (points sized by count), beside the diagonal of a calibrated
    critic; the legend gives each one's expected calibration error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for name, report in reports.items():
        if not report.reliability:
            continue
        conf = [b["confidence"] for b in report.reliability]
        acc = [b["accuracy"] for b in report.reliability]
        sizes = [12 + 200 * b["count"] / max(1, report.n) for b in report.reliability]
        (line,) = ax.plot(
            conf, acc, marker="", linewidth=1.2, label=f"{name} (ECE {report.ece:.3f})"
        )
        ax.scatter(conf, acc, s=sizes, color=line.get_color(), alpha=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (probability of the predicted class)")
    ax.set_ylabel("accuracy")
    ax.set_title(title or "reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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


#: What :func:`train_with_validation` can keep the best weights by.
SELECT_BY = ("accuracy", "balanced_accuracy", "nll")


def train_with_validation(
    critic: OutcomeCritic,
    train: Sequence[CriticExample],
    validation: Sequence[CriticExample],
    *,
    steps: int,
    eval_every: int = 50,
    select_by: str = "accuracy",
    **kwargs: Any,
) -> tuple[list[float], int]:
    """:func:`train_critic` in rounds of ``eval_every`` steps, keeping the weights with
    the best validation score (the last, without validation data): ``select_by`` is
    ``"accuracy"``, ``"balanced_accuracy"`` or ``"nll"`` (the lowest is best). Returns
    the losses and the step of the kept weights."""
    if select_by not in SELECT_BY:
        raise ValueError(f"select_by must be one of {', '.join(SELECT_BY)}, got {select_by!r}")
    losses: list[float] = []
    best_step, best_accuracy, best_state = 0, -math.inf, None
    done = 0
    while done < steps:
        chunk = min(eval_every, steps - done)
        losses += train_critic(
            critic, train, steps=chunk, **{**kwargs, "seed": kwargs.get("seed", 0) + done}
        )
        done += chunk
        if validation:
            report = evaluate_critic(critic, validation)
            accuracy = -report.nll if select_by == "nll" else getattr(report, select_by)
            if accuracy > best_accuracy:
                best_step, best_accuracy = done, accuracy
                best_state = copy.deepcopy(critic.state_dict())
    if best_state is not None:
        critic.load_state_dict(best_state)
    else:
        best_step = done
    return losses, best_step


#: The ways a critic's backbone can start (:attr:`CriticConfig.init`).
CRITIC_INITS = ("actor", "scratch")


@dataclass(frozen=True)
class CriticConfig:
    """The recipe for CodeRL's critics φ and φ_test (:func:`fit_critics`): the data, the
    backbone's start, what it reads, the loss, which weights are kept, and the decision
    and calibration fitted afterwards. The defaults are every choice on;
    :meth:`original` is the recipe this project started with
    (benchmarks/critic_ablation.py measures each choice; docs/agents.md says how far the
    defaults get on programs of unseen tasks)."""

    samples_per_task: int = 8
    """Programs sampled per task, at each of :attr:`temperatures`, from each sampler."""
    temperatures: tuple[float, ...] = (0.6, 1.0, 1.3)
    """Sampling temperatures of the training programs (more kinds of mistakes)."""
    sample_reference_tasks: bool = True
    """Also sample programs for the reference tasks (those with solutions the actor
    learns from, A), not only for the tasks the critic will judge."""
    references: bool = True
    """The reference tasks' solutions join as passed programs (a task learned from
    rewards only never gives its own)."""
    reference_mutants: int = 16
    """Mutants per reference solution, graded (:func:`collect_mutant_data`): near misses
    for the problems the references pass, so that the program, not the problem,
    decides the label. 0: none."""
    dedup: bool = True
    """A program sampled twice for a task counts once."""
    actor_rl_updates: int = 40
    """Actor-critic updates of a copy of the actor on the judged tasks (rewards only;
    the reference tasks' solutions in its replay buffer) before it samples training
    programs too (:func:`train_rl_sampler`): the programs RL makes of the actor, which
    the warm-start alone rarely writes. 0: the actor's own samples only."""
    init: str = "actor"
    """``"actor"``: the backbone is a copy of the actor's language model
    (:meth:`OutcomeCritic.from_policy`; an encoder-decoder actor falls back to
    ``"scratch"``, as the report says); ``"scratch"``: a small new GPT-2
    (:data:`CRITIC_DEFAULTS`)."""
    read_brackets: bool = True
    """The critic reads where brackets fail to match (:meth:`OutcomeCritic.read_brackets`)."""
    knows_syntax: bool = True
    """The critics take the parser's verdict as given (:attr:`OutcomeCritic.knows_syntax`):
    whether a program compiles is known exactly, so the network predicts the rest."""
    balance: bool = True
    """Weight each class in the loss by the inverse of its frequency."""
    select_by: str = "balanced_accuracy"
    """The validation score that keeps the weights (early stopping): one of
    :data:`SELECT_BY`."""
    adjust_logits: bool = True
    """Fit per-class logit offsets on the validation programs (:func:`fit_offsets`): the
    best balanced accuracy that keeps accuracy at least the commonest class's."""
    calibrate: bool = True
    """Fit a temperature on the validation programs (:func:`fit_temperature`), after
    any offsets."""
    steps: int = 600
    """Optimiser steps (the best weights on validation are kept)."""
    eval_every: int = 50
    """Steps between validation checks."""
    lr: float = 3e-4
    """AdamW learning rate."""
    batch_size: int = 32
    """Programs per optimiser step."""
    validation_fraction: float = 0.2
    """Share of the tasks (not programs) held out for validation."""
    held_out_samples_per_task: int = 16
    """Programs sampled per held-out task to measure the critics (at the sampling
    settings' own temperature). 16, as the learning benchmark's pass@k: with 4 per task
    the built-in C gave 4 passed programs, and balanced accuracy swung by a quarter with
    each one."""

    def __post_init__(self) -> None:
        _positive(self, "samples_per_task", "steps", "eval_every", "batch_size", "lr")
        _non_negative(self, "held_out_samples_per_task", "reference_mutants", "actor_rl_updates")
        if not self.temperatures or any(
            isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0
            for t in self.temperatures
        ):
            raise ValueError(
                f"CriticConfig.temperatures must be positive numbers, got {self.temperatures!r}"
            )
        if self.init not in CRITIC_INITS:
            raise ValueError(
                f"CriticConfig.init must be one of {', '.join(CRITIC_INITS)}, got {self.init!r}"
            )
        if self.select_by not in SELECT_BY:
            raise ValueError(
                f"CriticConfig.select_by must be one of {', '.join(SELECT_BY)}, "
                f"got {self.select_by!r}"
            )
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                "CriticConfig.validation_fraction must be in [0, 1), "
                f"got {self.validation_fraction!r}"
            )

    @classmethod
    def original(cls, **changes: Any) -> CriticConfig:
        """The recipe this project started with: 8 programs per task at temperature 1
        for the judged tasks only, no references or mutants, a small GPT-2 from scratch
        reading tokens only and guessing syntax too, no RL actor's programs, no class
        weights, the weights kept by accuracy, no offsets, no calibration, 300 steps at
        1e-3."""
        base = cls(
            temperatures=(1.0,),
            sample_reference_tasks=False,
            references=False,
            reference_mutants=0,
            dedup=False,
            actor_rl_updates=0,
            init="scratch",
            read_brackets=False,
            knows_syntax=False,
            balance=False,
            select_by="accuracy",
            adjust_logits=False,
            calibrate=False,
            steps=300,
            lr=1e-3,
        )
        return replace(base, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for reports)."""
        return asdict(self)


def collect_training_programs(
    samplers: dict[str, Any],
    tasks: Sequence[Task],
    sandbox: Sandbox,
    config: CriticConfig,
    *,
    reference_tasks: Sequence[Task] = (),
    sampling: SamplingConfig | None = None,
) -> dict[str, list[CriticExample]]:
    """The critics' training programs as ``config`` asks: each sampler (``{label:
    policy}``) samples ``config.samples_per_task`` programs per task at each
    temperature, for ``tasks`` and, with ``config.sample_reference_tasks``, for
    ``reference_tasks`` too; ``reference_tasks``' solutions (and any ``tasks`` carry)
    join as passed programs with ``config.references``, and their mutants with
    ``config.reference_mutants``; with ``config.dedup`` each program counts once per
    task."""
    pool = list(tasks)
    if config.sample_reference_tasks:
        known = {t.task_id for t in pool}
        pool += [t for t in reference_tasks if t.task_id not in known]
    own = [t for t in tasks if t.solutions]
    known = {t.task_id for t in own}
    solved = own + [t for t in reference_tasks if t.solutions and t.task_id not in known]
    with_solutions = solved if config.references else own
    data: dict[str, list[CriticExample]] = {"outcome": [], "test": []}
    for i, (label, policy) in enumerate(samplers.items()):
        part = collect_critic_data(
            policy,
            pool,
            sandbox,
            samples_per_task=config.samples_per_task,
            sampling=sampling,
            reference_tasks=with_solutions if i == 0 else (),
            temperatures=config.temperatures,
            sampler=label,
        )
        data["outcome"] += part["outcome"]
        data["test"] += part["test"]
    if config.reference_mutants and solved:
        part = collect_mutant_data(
            next(iter(samplers.values())),
            solved,
            sandbox,
            per_reference=config.reference_mutants,
            sampling=sampling,
        )
        data["outcome"] += part["outcome"]
        data["test"] += part["test"]
    if config.dedup:
        data = {name: deduplicate(examples) for name, examples in data.items()}
    return data


def train_one_critic(
    examples: Sequence[CriticExample],
    classes: Sequence[str],
    policy: Any,
    config: CriticConfig,
    *,
    seed: int = 0,
    progress: bool = False,
    desc: str = "critic",
    split: tuple[Sequence[CriticExample], Sequence[CriticExample]] | None = None,
) -> tuple[OutcomeCritic, dict[str, Any]]:
    """One critic over ``classes`` trained on ``examples`` as ``config`` says: split by
    task into training and validation (or ``split``, a given ``(train, validation)``,
    in place of ``examples``), built from the actor (``policy``) or from scratch,
    trained keeping the best weights on validation, then calibrated on validation.
    Returns it and what happened (examples, label counts, kept step, offsets,
    temperature, training and validation reports)."""
    train, validation = (
        split_by_task(examples, config.validation_fraction, seed) if split is None else split
    )
    init = config.init
    if init == "actor" and getattr(policy.model.config, "is_encoder_decoder", False):
        init = "scratch (the actor is an encoder-decoder)"  # the critic reads one sequence
    if init == "actor":
        critic = OutcomeCritic.from_policy(policy, classes, seed=seed)
    else:
        critic = OutcomeCritic.build(policy.tokenizer, classes, seed=seed)
    critic.to(policy.device)
    if config.read_brackets:
        critic.read_brackets(policy.tokenizer)
    critic.knows_syntax = config.knows_syntax  # validation judges the decision as used
    losses, kept = train_with_validation(
        critic,
        train,
        validation,
        steps=config.steps,
        eval_every=config.eval_every,
        select_by=config.select_by,
        lr=config.lr,
        batch_size=config.batch_size,
        balance=config.balance,
        seed=seed,
        progress=progress,
        desc=desc,
    )
    counts = np.bincount([e.label for e in train], minlength=len(classes)).tolist()
    if config.adjust_logits:
        fit_offsets(critic, validation, int(np.argmax(counts)), counts=counts)
    if config.calibrate:
        fit_temperature(critic, validation)
    info = {
        "init": init,
        "train_examples": len(train),
        "train_label_counts": dict(zip(classes, counts, strict=True)),
        "train_majority": int(np.argmax(counts)),
        "majority_share": max(counts) / max(1, sum(counts)),
        "train_accuracy": evaluate_critic(critic, train).accuracy,
        "validation": evaluate_critic(critic, validation).to_dict(),
        "kept_step": kept,
        "offsets": list(critic.offsets),
        "temperature": critic.temperature,
        "final_loss": float(np.mean(losses[-20:])) if losses else None,
        "parameters": sum(p.numel() for p in critic.parameters()),
    }
    return critic, info


def held_out_programs(
    policy: Any,
    held_out: Sequence[Task],
    sandbox: Sandbox,
    config: CriticConfig,
    *,
    sampling: SamplingConfig | None = None,
    seed: int = 0,
) -> dict[str, list[CriticExample]]:
    """Programs ``policy`` samples for the ``held_out`` tasks, graded: what the critics
    are measured on. Sampled under their own seed, so that every recipe is measured on
    the same programs."""
    if not held_out or not config.held_out_samples_per_task:
        return {"outcome": [], "test": []}
    state = torch.random.get_rng_state()
    torch.manual_seed(10_007 + seed)
    try:
        return collect_critic_data(
            policy,
            held_out,
            sandbox,
            samples_per_task=config.held_out_samples_per_task,
            sampling=sampling,
        )
    finally:
        torch.random.set_rng_state(state)


def fit_critics(
    policy,
    tasks: Sequence[Task],
    sandbox: Sandbox,
    out: str | os.PathLike[str],
    *,
    reference_tasks: Sequence[Task] = (),
    held_out: Sequence[Task] = (),
    config: CriticConfig | None = None,
    sampling: SamplingConfig | None = None,
    samplers: dict[str, Any] | None = None,
    seed: int = 0,
    progress: bool = True,
    log: Callable[..., Any] = print,
) -> dict[str, Any]:
    """Train φ (outcome) and φ_test (example tests) as ``config`` says (default
    :class:`CriticConfig`) on programs sampled for ``tasks`` (and ``reference_tasks``)
    by ``samplers`` (``{label: policy}``; default ``{"actor": policy}``), the critics
    starting from ``policy``; measure both on programs ``policy`` samples for the
    ``held_out`` tasks (every sample, and each distinct program once:
    ``held_out_distinct``); save them to ``out/outcome`` and ``out/test`` with
    ``out/critic_report.json``, confusion matrices and a reliability diagram. Returns
    the report. ``sampling`` says how the programs are sampled (default
    :class:`SamplingConfig`'s; its temperature is the held-out programs')."""
    import time

    config = CriticConfig() if config is None else config
    samplers = {"actor": policy} if samplers is None else samplers
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    held = held_out_programs(policy, held_out, sandbox, config, sampling=sampling, seed=seed)
    log(
        f"critic data: {config.samples_per_task} programs per task and temperature "
        f"{list(config.temperatures)} from {', '.join(samplers)}"
    )
    torch.manual_seed(seed)
    data = collect_training_programs(
        samplers, tasks, sandbox, config, reference_tasks=reference_tasks, sampling=sampling
    )
    report: dict[str, Any] = {
        "config": config.to_dict(),
        "samplers": list(samplers),
        "seconds_sampling": round(time.perf_counter() - start, 1),
    }
    held_reports: dict[str, CriticReport] = {}
    for name, classes in (("outcome", OUTCOME_CLASSES), ("test", TEST_CLASSES)):
        critic, info = train_one_critic(
            data[name],
            classes,
            policy,
            config,
            seed=seed,
            progress=progress,
            desc=f"critic ({name})",
        )
        critic.save(out / name)
        held_report = evaluate_critic(critic, held[name])
        held_reports[name] = held_report
        report[name] = {
            **info,
            "held_out": held_report.to_dict(),
            "held_out_constant": held_report.constant_accuracy(info["train_majority"]),
        }
        # the held-out tasks' samples repeat (a confident model samples its favourite
        # program again): the figures per distinct program say how many decisions
        # the measurement rests on
        distinct = deduplicate(held[name])
        if distinct:
            distinct_report = evaluate_critic(critic, distinct)
            report[name]["held_out_distinct"] = {
                **distinct_report.to_dict(),
                # the confusion matrix's rows are the true classes
                "label_counts": {
                    c: sum(row) for c, row in zip(classes, distinct_report.confusion, strict=True)
                },
                "constant": distinct_report.constant_accuracy(info["train_majority"]),
            }
        if critic.knows_syntax:
            # the fair constant knows the verdict too; and the network's own part
            figures = syntax_figures(critic, held[name], list(info["train_label_counts"].values()))
            report[name]["held_out_constant_given_syntax"] = figures["constant_given_syntax"]
            report[name]["held_out_compiling"] = figures["compiling"]
        label = "φ_test" if name == "test" else "φ"
        if held_report.n:
            plot_confusion(
                held_report,
                out / f"confusion_{name}.png",
                title=f"critic {label}: held-out accuracy {held_report.accuracy:.1%} "
                f"(n = {held_report.n})",
            )
            log(f"critic {label} on held-out programs: {held_report.format()}")
    if any(r.n for r in held_reports.values()):
        plot_reliability(
            {("φ_test" if k == "test" else "φ"): r for k, r in held_reports.items()},
            out / "reliability.png",
            title="critics on held-out programs",
        )
    report["seconds"] = round(time.perf_counter() - start, 1)
    (out / "critic_report.json").write_text(json.dumps(report, indent=2))
    return report


def train_rl_sampler(
    model: str,
    tasks: Sequence[Task],
    sandbox: Any,
    out: str | os.PathLike[str],
    *,
    updates: int,
    reference_tasks: Sequence[Task] = (),
    sampling: SamplingConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    log: Callable[..., Any] = print,
) -> Policy:
    """A copy of the actor ``model`` after ``updates`` actor-critic updates on ``tasks``
    (pass them without solutions: rewards only), ``reference_tasks``' solutions in its
    replay buffer, sampling as ``sampling`` says: a sampler of the programs RL makes of
    the actor (:attr:`CriticConfig.actor_rl_updates`). Saved in ``out``; a folder that
    already holds the same actor (model, tasks, updates, seed, sampling) is loaded
    instead of trained again. Returns it as a :class:`~agents.common.policy.Policy`."""
    import time

    from agents.actor_critic import ActorCriticAgent, ActorCriticConfig

    sampling = SamplingConfig() if sampling is None else sampling
    out = Path(out)
    recipe = {
        "model": str(model),
        "updates": updates,
        "seed": seed,
        "tasks": [t.task_id for t in tasks],
        "reference_tasks": [t.task_id for t in reference_tasks],
        "sampling": asdict(sampling),
    }
    marker = out / "rl_sampler.json"
    if marker.is_file() and json.loads(marker.read_text()) == recipe:
        log(f"RL actor for the critics' programs: {out} (trained before)")
        return Policy(str(out), reference=False)
    config = ActorCriticConfig(
        model=str(model),
        seed=seed,
        max_new_tokens=sampling.max_new_tokens,
        max_prompt_tokens=sampling.max_prompt_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
    )
    start = time.perf_counter()
    agent = ActorCriticAgent(list(tasks), config, sandbox=sandbox)
    agent.add_references(reference_tasks)
    agent.learn(updates, progress=progress)
    agent.policy.save(out)
    marker.write_text(json.dumps(recipe, indent=2))  # written last: only a finished actor
    log(
        f"RL actor for the critics' programs: {updates} actor-critic updates in "
        f"{time.perf_counter() - start:.0f} s, saved in {out}"
    )
    return Policy(str(out), reference=False)


def train_critics_for(
    model: str,
    tasks: Sequence[Task],
    out: str | os.PathLike[str],
    *,
    reference_tasks: Sequence[Task] = (),
    held_out: Sequence[Task] = (),
    config: CriticConfig | None = None,
    sampling: SamplingConfig | None = None,
    extra_samplers: Sequence[str] = (),
    seed: int = 0,
    progress: bool = True,
    log=print,
    sandbox: Any = None,
) -> dict[str, Any]:
    """:func:`fit_critics` for a model by name or path: φ and φ_test trained on programs
    ``model``, a copy of it after :attr:`CriticConfig.actor_rl_updates` actor-critic
    updates on ``tasks`` (:func:`train_rl_sampler`, saved in ``out/rl-actor``) and each
    model of ``extra_samplers`` sample for ``tasks`` and ``reference_tasks``, plus the
    references they carry as passed programs (strip them from tasks learned from
    rewards only), as ``config`` says; measured on programs ``model`` samples for
    ``held_out``. Saved in ``out``; returns the report. Programs are graded in
    ``sandbox`` (a local or Ray one; default: a local
    :class:`~code_env.sandbox.Sandbox` made and closed here)."""
    import contextlib

    config = CriticConfig() if config is None else config
    policy = Policy(model, reference=False)
    samplers = {"actor": policy}
    with contextlib.ExitStack() as stack:
        if sandbox is None:
            sandbox = stack.enter_context(Sandbox())
        if config.actor_rl_updates:
            samplers["rl-actor"] = train_rl_sampler(
                model,
                tasks,
                sandbox,
                Path(out) / "rl-actor",
                updates=config.actor_rl_updates,
                reference_tasks=reference_tasks,
                sampling=sampling,
                seed=seed,
                progress=progress,
                log=log,
            )
        for extra in extra_samplers:
            samplers[Path(str(extra)).name or str(extra)] = Policy(str(extra), reference=False)
        return fit_critics(
            policy,
            tasks,
            sandbox,
            out,
            reference_tasks=reference_tasks,
            held_out=held_out,
            config=config,
            sampling=sampling,
            samplers=samplers,
            seed=seed,
            progress=progress,
            log=log,
        )
