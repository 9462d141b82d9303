"""Agent configurations: dataclasses whose fields each say what they do, checked on
construction (``__post_init__``) with errors that name the field and the value.

:class:`SamplingConfig` is the one definition of how programs are sampled (length,
temperature, nucleus, batch, prompt cut) that the agents, evaluation, CodeRL's critic
data and Critic Sampling share; :class:`AgentConfig` carries the same five settings as
flat fields (``--set temperature=0.8`` on the command line) and hands them out as one
:attr:`AgentConfig.sampling`. :class:`KLPenaltyConfig` adds the adaptive KL penalty
that the actor-critic and PPO agents share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{type(config).__name__}.{name} must be positive, got {value!r}")


def _non_negative(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{type(config).__name__}.{name} must be >= 0, got {value!r}")


def _check_sampling(config: Any, batch_field: str) -> None:
    """The rules of the sampling settings, on a config that holds them (its batch size
    under ``batch_field``)."""
    _positive(config, "max_new_tokens", "temperature", "top_p", batch_field)
    if config.top_p > 1:
        raise ValueError(f"{type(config).__name__}.top_p must be in (0, 1], got {config.top_p!r}")
    if config.max_prompt_tokens is not None:
        _positive(config, "max_prompt_tokens")


@dataclass(frozen=True)
class SamplingConfig:
    """How programs are sampled: what :meth:`agents.common.policy.Policy.sample` takes."""

    max_new_tokens: int = 128
    """The longest program sampled, in tokens."""
    temperature: float = 1.0
    """Sampling temperature."""
    top_p: float = 0.95
    """Nucleus sampling: the smallest set of tokens with this much probability."""
    batch_size: int = 128
    """Sequences generated per batch."""
    max_prompt_tokens: int | None = None
    """Prompts are cut to this many tokens, keeping their end; None: no cut."""

    def __post_init__(self) -> None:
        _check_sampling(self, "batch_size")

    def replace(self, **changes: Any) -> SamplingConfig:
        """A copy with ``changes`` (e.g. ``temperature=1.5``)."""
        import dataclasses

        return dataclasses.replace(self, **changes)


_SAMPLING = SamplingConfig()


#: The episodes an agent can train on (``AgentConfig.env``).
ENVS = ("synthesis", "repair")


@dataclass
class AgentConfig:
    """What every agent shares: the model, sampling, the reward, bookkeeping."""

    model: str = "tiny"
    """``"tiny"`` (built locally), a Hugging Face model name, or a local path."""
    tokenizer: str | None = None
    """A tokenizer name or path; default: the model's (the shipped one for ``"tiny"``)."""
    tiny: dict[str, Any] = field(default_factory=dict)
    """Overrides for the tiny architecture (``n_layer``, ``n_embd``, ``arch``...)."""
    device: str = "auto"
    """``"auto"`` (CUDA with bf16 when present, else CPU float32), ``"cpu"``, ``"cuda"``."""
    lora: dict[str, Any] | None = None
    """``peft.LoraConfig`` arguments to train adapters only (the reference is then the
    same weights with adapters off); None trains every weight."""
    seed: int = 0
    """Seed for Python, NumPy and torch."""
    reward: str = "coderl_partial"
    """The reward, by name (:mod:`code_env.rewards`)."""
    max_new_tokens: int = _SAMPLING.max_new_tokens
    """The longest program sampled, in tokens (:class:`SamplingConfig`)."""
    max_prompt_tokens: int | None = _SAMPLING.max_prompt_tokens
    """Prompts are cut to this many tokens, keeping their end; None: no cut."""
    temperature: float = _SAMPLING.temperature
    """Sampling temperature."""
    top_p: float = _SAMPLING.top_p
    """Nucleus sampling: the smallest set of tokens with this much probability."""
    tasks_per_update: int = 16
    """Tasks drawn for each update."""
    samples_per_task: int = 4
    """Programs sampled per task per update."""
    lr: float = 3e-4
    """Learning rate of the policy (AdamW)."""
    weight_decay: float = 0.0
    """AdamW weight decay of the policy."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this norm."""
    generation_batch_size: int = _SAMPLING.batch_size
    """Sequences generated per batch (:attr:`SamplingConfig.batch_size`)."""
    checkpoint_every: int = 1
    """Save a checkpoint every this many updates (1: a killed run loses at most one)."""
    fsdp: bool = False
    """In a run of several processes, shard the policy (and value heads, critics) over
    them with FSDP2 instead of holding a copy on each; also on when accelerate's config
    says FSDP (:mod:`agents.common.fsdp`)."""
    env: str = "synthesis"
    """The episodes rollouts hold: ``"synthesis"`` (``CodeSynthesis-v0``: one program
    per sample) or ``"repair"`` (``CodeRepair-v0``: up to ``max_attempts`` attempts per
    sample, each written after the previous attempts and their feedback, each credited
    with its own graded reward)."""
    max_attempts: int = 3
    """Attempts per episode when ``env="repair"``."""
    feedback_tokens: int = 96
    """The feedback's budget, in the policy's tokens, when ``env="repair"``."""

    def __post_init__(self) -> None:
        _positive(self, "tasks_per_update", "samples_per_task", "lr", "max_grad_norm")
        _positive(self, "checkpoint_every", "max_attempts", "feedback_tokens")
        if self.env not in ENVS:
            raise ValueError(f"{type(self).__name__}.env must be one of {ENVS}, got {self.env!r}")
        if self.env == "repair" and self.fsdp:
            # FSDP generates in step on every process; episodes end at different attempts
            raise ValueError(f"{type(self).__name__}: env='repair' does not run with fsdp=True")
        _non_negative(self, "weight_decay", "seed")
        _check_sampling(self, "generation_batch_size")
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(
                f"{type(self).__name__}.model must be a name or path, got {self.model!r}"
            )
        from code_env import rewards

        rewards.get(self.reward)  # an unknown name raises, listing the known ones

    @property
    def sampling(self) -> SamplingConfig:
        """The five sampling settings as one :class:`SamplingConfig`."""
        return SamplingConfig(
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            batch_size=self.generation_batch_size,
            max_prompt_tokens=self.max_prompt_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``config.json`` in checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild from :meth:`to_dict`'s output; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)


@dataclass
class KLPenaltyConfig(AgentConfig):
    """An agent that penalises KL(π ‖ π_ref) with Ziegler et al.'s adaptive coefficient
    (:class:`agents.common.kl.AdaptiveKL`): the actor-critic and PPO agents."""

    kl_coef: float = 0.01
    """The initial weight of the KL penalty."""
    kl_target: float = 6.0
    """The KL (nats per program) the adaptive coefficient aims at."""
    kl_horizon: float = 10.0
    """How fast the coefficient adapts: it moves by at most 2/horizon of itself per update."""
    adaptive_kl: bool = True
    """Adapt the coefficient towards ``kl_target``; False keeps it fixed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self, "kl_target", "kl_horizon")
        _non_negative(self, "kl_coef")
