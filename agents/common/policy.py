"""The policy: a causal or encoder-decoder language model and its tokenizer, for
sampling and training.

:class:`Policy` wraps an ``AutoModelForCausalLM`` or an ``AutoModelForSeq2SeqLM`` (a
name, a path, an object, or ``"tiny"`` for the small models built here) with what RL on
code needs:

* batched sampling (temperature, top-p) and greedy decoding with a KV cache. A causal
  model reads the prompt left-padded, so every row continues where its prompt ends; an
  encoder-decoder model (CodeT5, as in CodeRL) reads the prompt with its encoder and
  writes the program with its decoder;
* per-token log-probabilities (and final hidden states) of given completions, with
  gradients, in one teacher-forced pass; both kinds return the same shapes and
  alignment, so the agents need not know which kind they train;
* a frozen reference policy for KL penalties: a copy of the initial weights, or, with
  LoRA (``peft``), the same weights with the adapters switched off, so no second copy
  is held in memory.

Devices: CUDA in bfloat16 when present, else the CPU in float32.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.config import SamplingConfig
from code_env.tokenizer import load_tokenizer


def pick_device(device: str = "auto") -> tuple[torch.device, torch.dtype]:
    """``("cuda", bfloat16)`` when a GPU is there (or asked for), else ``("cpu", float32)``."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return dev, dtype
    return dev, torch.float32


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@dataclass
class Sample:
    """One generated completion."""

    prompt_index: int
    """Which prompt of the batch it continues."""
    token_ids: list[int]
    """The generated tokens, up to and including the end-of-text token if one came."""
    text: str
    """The decoded completion, without the end-of-text token."""


class Policy:
    """A causal or encoder-decoder LM plus tokenizer, with sampling, log-probs and a
    reference policy.

    Args:
        model: ``"tiny"`` (see :mod:`agents.common.tiny`), a Hugging Face name or local path,
            or a ``PreTrainedModel``. Names and paths load as ``AutoModelForSeq2SeqLM``
            when their config says ``is_encoder_decoder``, else as
            ``AutoModelForCausalLM``.
        tokenizer: A tokenizer, name or path; default: the model's own, or the
            shipped one for ``"tiny"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        lora: If given, a ``peft.LoraConfig`` (or a dict of its arguments): train
            adapters only, and use the base weights as the reference.
        reference: Keep a frozen reference policy (for KL penalties).
        reference_model: The reference's weights (a model, name or path); default: a
            copy of the initial weights. A resumed run passes the original ones.
        tiny_config: Settings for ``"tiny"`` (see :func:`agents.common.tiny.build_tiny_model`).
    """

    def __init__(
        self,
        model: Any = "tiny",
        tokenizer: Any = None,
        *,
        device: str = "auto",
        lora: Any = None,
        reference: bool = True,
        reference_model: Any = None,
        tiny_config: dict[str, Any] | None = None,
    ) -> None:
        self.device, self.dtype = pick_device(device)
        self.tokenizer = self._load_tokenizer(model, tokenizer)
        self.model = self._load_model(model, tiny_config)
        self.model.to(self.device)
        if self.device.type == "cuda":
            self.model.to(self.dtype)
        self.model.eval()  # dropout off: samples and their log-probs come from one policy
        self.is_seq2seq: bool = bool(getattr(self.model.config, "is_encoder_decoder", False))
        """Whether the model is an encoder-decoder (prompt to the encoder, program from
        the decoder) rather than a causal LM."""
        self.lora = lora is not None
        if self.lora:
            task_type = "SEQ_2_SEQ_LM" if self.is_seq2seq else "CAUSAL_LM"
            self.model = _apply_lora(self.model, lora, task_type)
        self.reference_model: torch.nn.Module | None = None
        if reference and not self.lora:
            if reference_model is None:
                self.reference_model = copy.deepcopy(self.model)
            elif isinstance(reference_model, torch.nn.Module):
                self.reference_model = reference_model
            else:
                self.reference_model = _from_pretrained(str(reference_model))
            self.reference_model.to(self.device)
            if self.device.type == "cuda":
                self.reference_model.to(self.dtype)
            self.reference_model.eval()
            for p in self.reference_model.parameters():
                p.requires_grad_(False)
        self.synced_generation = False
        """Generate in step with the other processes of the run: each runs as many
        forward passes as the longest (needed when the weights are sharded, FSDP)."""
        self.eos_id = int(self.tokenizer.eos_token_id)
        self.pad_id = int(self.tokenizer.pad_token_id)
        self.decoder_start_id: int | None = (
            _decoder_start_id(self.model, self.pad_id) if self.is_seq2seq else None
        )
        """The token an encoder-decoder's decoder starts from (``None`` for a causal LM)."""

    # --- loading --------------------------------------------------------------------

    @staticmethod
    def _load_tokenizer(model: Any, tokenizer: Any) -> Any:
        """The tokenizer asked for, or the model's own (the shipped one for ``"tiny"``)."""
        if tokenizer is not None:
            return load_tokenizer(tokenizer)
        if isinstance(model, str) and model == "tiny":
            return load_tokenizer(None)
        if isinstance(model, (str, os.PathLike)):
            return load_tokenizer(str(model))
        name = getattr(getattr(model, "config", None), "name_or_path", None)
        if name:
            return load_tokenizer(name)
        raise ValueError("pass tokenizer= for a model object that does not name its tokenizer")

    def _load_model(self, model: Any, tiny_config: dict[str, Any] | None) -> torch.nn.Module:
        """The model: built (``"tiny"``), loaded (a name or path), or the one given."""
        if isinstance(model, str) and model == "tiny":
            from agents.common.tiny import build_tiny_model

            return build_tiny_model(self.tokenizer, **(tiny_config or {}))
        if isinstance(model, (str, os.PathLike)):
            return _from_pretrained(str(model))
        if isinstance(model, torch.nn.Module):
            return model
        raise TypeError(
            f"model must be 'tiny', a name, a path or a model, got {type(model).__name__}"
        )

    # --- generation -----------------------------------------------------------------

    @property
    def position_limit(self) -> int | None:
        """How many positions a decoder-only model attends over (prompt and completion
        together: ``n_positions`` or ``max_position_embeddings``), None when unbounded
        or unknown (encoder-decoder models, relative positions)."""
        if self.is_seq2seq:
            return None
        config = self.model.config
        for name in ("n_positions", "max_position_embeddings"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def encode_prompts(
        self, prompts: Sequence[str], max_prompt_tokens: int | None = None, reserve: int = 0
    ) -> list[list[int]]:
        """The token ids of each prompt, cut from the left to ``max_prompt_tokens`` (the
        end of a prompt, where the signature is, is kept), and so that ``reserve`` more
        tokens (the completion) still fit in the model's :attr:`position_limit`: a
        multi-attempt repair context grows past it."""
        ids = [self.tokenizer.encode(p, add_special_tokens=False) for p in prompts]
        cut = max_prompt_tokens
        if self.position_limit is not None:
            room = max(1, self.position_limit - reserve)
            cut = room if cut is None else min(cut, room)
        if cut is not None:
            ids = [x[-cut:] for x in ids]
        return ids

    def _left_pad(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return left_pad(rows, self.pad_id, self.device)

    def _right_pad(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows padded on the right (at least one column): for an encoder, which sees the
        whole row at once, and for teacher-forced decoder inputs, whose causal attention
        never reaches the padding after a row."""
        width = max(1, max(len(r) for r in rows))
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            if row:
                input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
                mask[i, : len(row)] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def sample(
        self,
        prompts: Sequence[str],
        sampling: SamplingConfig,
        *,
        n: int = 1,
        greedy: bool = False,
        prefixes: Sequence[Sequence[int]] | None = None,
    ) -> list[list[Sample]]:
        """:meth:`generate` with the settings of a :class:`SamplingConfig` (a greedy
        decode uses its length, batch and prompt cut only)."""
        return self.generate(
            prompts,
            n=n,
            greedy=greedy,
            max_new_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            batch_size=sampling.batch_size,
            max_prompt_tokens=sampling.max_prompt_tokens,
            prefixes=prefixes,
        )

    @torch.no_grad()
    def generate(
        self,
        prompts: Sequence[str],
        *,
        n: int = 1,
        max_new_tokens: int = 128,
        temperature: float = 1.0,
        top_p: float = 1.0,
        greedy: bool = False,
        batch_size: int = 64,
        max_prompt_tokens: int | None = None,
        prefixes: Sequence[Sequence[int]] | None = None,
    ) -> list[list[Sample]]:
        """``n`` completions per prompt (``greedy``: one, by argmax), batched with a KV
        cache. Returns one list of samples per prompt.

        ``prefixes`` (one list of completion token ids per prompt) makes every sample
        continue that prefix, as Critic Sampling's refine step does; the returned
        samples then start with their prefix, and ``max_new_tokens`` counts the new
        tokens only."""
        if prefixes is not None and len(prefixes) != len(prompts):
            raise ValueError(
                f"prefixes: one per prompt, got {len(prefixes)} for {len(prompts)} prompts"
            )
        heads = [list(p) for p in prefixes] if prefixes is not None else [[] for _ in prompts]
        longest_head = max((len(h) for h in heads), default=0)
        encoded = self.encode_prompts(prompts, max_prompt_tokens, max_new_tokens + longest_head)
        copies = 1 if greedy else n
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.pad_id,
            "eos_token_id": self.eos_id,
            "do_sample": not greedy,
        }
        if not greedy:
            kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
        if self.synced_generation:
            kwargs["synced_gpus"] = True
        run = self._generate_seq2seq if self.is_seq2seq else self._generate_causal
        out: list[list[Sample]] = [[] for _ in prompts]
        for index, row in run(encoded, heads, copies, batch_size, kwargs):
            ids = heads[index] + _cut_after_eos(row, self.eos_id, self.pad_id)
            out[index].append(Sample(index, ids, self.decode(ids)))
        return out

    def _generate_causal(
        self,
        encoded: Sequence[list[int]],
        heads: Sequence[list[int]],
        copies: int,
        batch_size: int,
        kwargs: dict[str, Any],
    ) -> list[tuple[int, list[int]]]:
        """``(prompt index, new tokens)`` for ``copies`` rows per prompt: prompt and
        prefix as one left-padded row, so every row continues at the right edge."""
        jobs = [(i, ids + heads[i]) for i, ids in enumerate(encoded) for _ in range(copies)]
        rows: list[tuple[int, list[int]]] = []
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            input_ids, mask = self._left_pad([ids for _, ids in chunk])
            generated = self.model.generate(input_ids=input_ids, attention_mask=mask, **kwargs)
            new_tokens = generated[:, input_ids.shape[1] :].tolist()
            rows += [(index, row) for (index, _), row in zip(chunk, new_tokens, strict=True)]
        return rows

    def _generate_seq2seq(
        self,
        encoded: Sequence[list[int]],
        heads: Sequence[list[int]],
        copies: int,
        batch_size: int,
        kwargs: dict[str, Any],
    ) -> list[tuple[int, list[int]]]:
        """``(prompt index, new tokens)`` for ``copies`` rows per prompt: the prompt goes
        to the encoder, the decoder starts from its start token and the prefix.

        A batch holds rows of one prefix length only: generation passes no decoder
        position ids, so left-padding the decoder would shift a model with absolute
        positions (BART-like) off its training. Without prefixes that is one group."""
        jobs = [i for i in range(len(encoded)) for _ in range(copies)]
        jobs.sort(key=lambda i: len(heads[i]))  # stable: a prompt's samples keep their order
        rows: list[tuple[int, list[int]]] = []
        for _, group in itertools.groupby(jobs, key=lambda i: len(heads[i])):
            members = list(group)
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                input_ids, mask = self._right_pad([encoded[i] for i in chunk])
                decoder_ids = torch.tensor(
                    [[self.decoder_start_id, *heads[i]] for i in chunk],
                    dtype=torch.long,
                    device=self.device,
                )
                generated = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    decoder_input_ids=decoder_ids,
                    **kwargs,
                )
                new_tokens = generated[:, decoder_ids.shape[1] :].tolist()
                rows += list(zip(chunk, new_tokens, strict=True))
        return rows

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text of completion tokens, without the end-of-text token."""
        ids = [t for t in token_ids if t != self.eos_id]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def completion_ids(self, text: str) -> list[int]:
        """Tokens of a reference completion, ended by end-of-text (for teacher forcing)."""
        return [*self.tokenizer.encode(text, add_special_tokens=False), self.eos_id]

    # --- scoring ------------------------------------------------------------------------

    def _forward(
        self,
        model: torch.nn.Module,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        hidden: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int]:
        """Causal teacher-forced pass; logits only where completion tokens are predicted.

        Rows are left-padded, so every completion ends at the right edge: the logits of
        the last ``longest completion + 1`` positions are all that is needed, and
        skipping the prompt's saves most of the vocabulary projection.
        """
        rows = [list(p) + list(c) for p, c in zip(prompts, completions, strict=True)]
        input_ids, mask = self._left_pad(rows)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        keep = max(len(c) for c in completions) + 1
        try:
            outputs = model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                output_hidden_states=hidden,
                logits_to_keep=keep,
            )
        except TypeError:  # a model without logits_to_keep: all positions, then cut
            outputs = model(
                input_ids=input_ids,
                attention_mask=mask,
                position_ids=positions,
                output_hidden_states=hidden,
            )
        logits = outputs.logits[:, -keep:][:, :-1].float()
        targets = input_ids[:, -(keep - 1) :]
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        comp_mask = torch.zeros_like(targets, dtype=torch.float32)
        for i, c in enumerate(completions):
            if c:
                comp_mask[i, keep - 1 - len(c) :] = 1.0
        width = input_ids.shape[1]
        return logprobs, comp_mask, (outputs.hidden_states[-1] if hidden else None), width

    def _forward_seq2seq(
        self,
        model: torch.nn.Module,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        hidden: bool,
        token_hidden: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Encoder-decoder teacher-forced pass, aligned as the causal one.

        The encoder reads the prompts; the decoder reads ``[start] + completion[:-1]``,
        left-aligned (right-padded) because its positions count from the start token.
        The scores are then shifted right so each row's completion ends at the right
        edge, as :meth:`token_logprobs` promises. The hidden state is the decoder's at
        its first position: it has read the start token only, so it sums up the problem.
        """
        width = max((len(c) for c in completions), default=0)
        input_ids, mask = self._right_pad(prompts)
        decoder_ids, decoder_mask = self._right_pad(
            [[self.decoder_start_id, *list(c)[:-1]] for c in completions]
        )
        outputs = model(
            input_ids=input_ids,
            attention_mask=mask,
            decoder_input_ids=decoder_ids,
            decoder_attention_mask=decoder_mask,
            output_hidden_states=hidden or token_hidden,
        )
        lengths = torch.tensor([len(c) for c in completions], device=self.device)
        targets = torch.full((len(completions), width), self.pad_id, dtype=torch.long)
        for i, c in enumerate(completions):
            if c:
                targets[i, : len(c)] = torch.tensor(list(c), dtype=torch.long)
        logits = outputs.logits[:, :width].float()
        left = (
            torch.log_softmax(logits, dim=-1)
            .gather(-1, targets.to(self.device).unsqueeze(-1))
            .squeeze(-1)
        )
        # column j of a right-aligned row reads column j - (width - length) of its left one
        shift = (width - lengths).unsqueeze(1)
        source = torch.arange(width, device=self.device).unsqueeze(0) - shift
        inside = source >= 0
        logprobs = torch.where(inside, left.gather(1, source.clamp(min=0)), 0.0)
        if token_hidden:  # the decoder state that predicts each token, right-aligned too
            states = outputs.decoder_hidden_states[-1][:, :width].float()
            index = source.clamp(min=0).unsqueeze(-1).expand(-1, -1, states.shape[-1])
            states = states.gather(1, index) * inside.unsqueeze(-1)
            return logprobs, inside.float(), states
        prompt_hidden = outputs.decoder_hidden_states[-1][:, 0].float() if hidden else None
        return logprobs, inside.float(), prompt_hidden

    def token_logprobs(
        self,
        prompts: Sequence[Sequence[int]],
        completions: Sequence[Sequence[int]],
        *,
        reference: bool = False,
        with_hidden: bool = False,
        token_hidden: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Per-token log-probabilities of ``completions`` given ``prompts`` (token ids).

        Returns ``(logprobs, mask, prompt_hidden)``: ``logprobs`` and ``mask`` are
        ``(batch, longest completion)``, right-aligned, the mask marking each row's
        completion tokens;
        ``prompt_hidden`` (``with_hidden``) is the final layer's hidden state at each
        prompt's last token (an encoder-decoder: the decoder's at its start token, which
        has read the whole prompt), ``(batch, hidden)``. With ``token_hidden`` the third
        item is instead the final hidden state that predicts each completion token,
        ``(batch, longest completion, hidden)``, aligned with ``logprobs`` (for value
        heads). Gradients flow unless ``reference``.
        """
        if self.is_seq2seq:
            if reference:
                with torch.no_grad(), self.reference_context() as model:
                    return self._forward_seq2seq(
                        model, prompts, completions, with_hidden, token_hidden
                    )
            return self._forward_seq2seq(
                self.model, prompts, completions, with_hidden, token_hidden
            )
        wants_hidden = with_hidden or token_hidden
        if reference:
            with torch.no_grad(), self.reference_context() as model:
                logprobs, mask, hidden, width = self._forward(
                    model, prompts, completions, wants_hidden
                )
        else:
            logprobs, mask, hidden, width = self._forward(
                self.model, prompts, completions, wants_hidden
            )
        if token_hidden:
            assert hidden is not None
            longest = logprobs.shape[1]  # positions width-longest-1 .. width-2 predict them
            return logprobs, mask, hidden[:, -(longest + 1) : -1].float()
        prompt_hidden = None
        if hidden is not None:
            index = torch.tensor([width - 1 - len(c) for c in completions], device=hidden.device)
            prompt_hidden = hidden[
                torch.arange(hidden.shape[0], device=hidden.device), index
            ].float()
        return logprobs, mask, prompt_hidden

    @contextlib.contextmanager
    def reference_context(self) -> Iterator[torch.nn.Module]:
        """The frozen reference policy: the initial weights, or the LoRA base."""
        if self.lora:
            with self.model.disable_adapter():
                yield self.model
        elif self.reference_model is not None:
            yield self.reference_model
        else:
            raise RuntimeError("this policy keeps no reference (reference=False)")

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters an optimiser should update (the adapters, with LoRA)."""
        return [p for p in self.model.parameters() if p.requires_grad]

    @property
    def hidden_size(self) -> int:
        """Width of the final hidden state."""
        config = self.model.config
        return int(getattr(config, "hidden_size", None) or config.n_embd)

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        with_reference: bool = False,
        state_dict: dict[str, torch.Tensor] | None = None,
        reference_state_dict: dict[str, torch.Tensor] | None = None,
    ) -> None:
        """Save the model and the tokenizer to ``path`` (loadable with
        ``from_pretrained``). With LoRA the adapters go to ``path/adapter`` and a merged
        copy to ``path``; ``with_reference`` also writes the reference to
        ``path/reference`` (not needed with LoRA: it is the base). ``state_dict`` and
        ``reference_state_dict``: the weights to write instead of the models' own (a
        sharded model's, gathered)."""
        path = Path(path)
        model = self.model
        if self.lora:
            self.model.save_pretrained(str(path / "adapter"))
            model = copy.deepcopy(self.model).merge_and_unload()
        model.save_pretrained(str(path), state_dict=state_dict, safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))
        if with_reference and self.reference_model is not None:
            self.reference_model.save_pretrained(
                str(path / "reference"), state_dict=reference_state_dict, safe_serialization=True
            )

    def load_adapter(self, path: str | os.PathLike[str]) -> None:
        """Load LoRA adapter weights saved by :meth:`save` into this (LoRA) policy."""
        if not self.lora:
            raise ValueError("load_adapter needs a LoRA policy")
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        folder = Path(path)
        weights = folder / "adapter_model.safetensors"
        state = (
            load_file(str(weights))
            if weights.is_file()
            else torch.load(folder / "adapter_model.bin", weights_only=True)
        )
        set_peft_model_state_dict(self.model, state)


def left_pad(
    rows: Sequence[Sequence[int]], pad_id: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` of token rows padded on the left with ``pad_id``,
    so that every row ends at the right edge (where a causal model continues it)."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            input_ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return input_ids.to(device), mask.to(device)


def _cut_after_eos(row: Sequence[int], eos_id: int, pad_id: int) -> list[int]:
    ids = []
    for token in row:
        ids.append(int(token))
        if token == eos_id:
            break
    # generate pads finished rows; a pad id equal to eos was handled above
    while ids and ids[-1] == pad_id and pad_id != eos_id:
        ids.pop()
    return ids


def _from_pretrained(name: str) -> torch.nn.Module:
    """A model by name or path: ``AutoModelForSeq2SeqLM`` when its config is an
    encoder-decoder, else ``AutoModelForCausalLM``."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    config = AutoConfig.from_pretrained(name)
    if getattr(config, "is_encoder_decoder", False):
        return AutoModelForSeq2SeqLM.from_pretrained(name)
    return AutoModelForCausalLM.from_pretrained(name)


def _decoder_start_id(model: torch.nn.Module, pad_id: int) -> int:
    """The decoder's start token: as ``generate`` picks it (generation config, then model
    config), else the pad token, as T5 uses."""
    for config in (getattr(model, "generation_config", None), model.config):
        start = getattr(config, "decoder_start_token_id", None)
        if start is not None:
            return int(start)
    return pad_id


def _apply_lora(model: torch.nn.Module, lora: Any, task_type: str = "CAUSAL_LM") -> Any:
    """``model`` with LoRA adapters (``lora``: a ``peft.LoraConfig`` or its arguments;
    ``task_type`` fills in for the arguments)."""
    try:
        import peft
    except ImportError as exc:
        raise ImportError("LoRA needs peft: pip install peft") from exc
    config = (
        lora
        if isinstance(lora, peft.LoraConfig)
        else peft.LoraConfig(task_type=task_type, **dict(lora))
    )
    return peft.get_peft_model(model, config)
