"""The tiny model, built here: ``build_tiny_model`` makes a small GPT-2 (or Llama, or a T5 encoder-decoder like the
CodeT5 that CodeRL trains) with the shipped tokenizer's vocabulary (about 5 M parameters
by default): nothing to download, trainable on two CPU cores. The warm-start that fine-tunes it on reference solutions is
:mod:`agents.run.warm_start`.
"""

from __future__ import annotations

from typing import Any

import torch

#: The default tiny architecture (GPT-2 style).
TINY_DEFAULTS: dict[str, Any] = {
    "arch": "gpt2",
    "n_layer": 4,
    "n_embd": 128,
    "n_head": 4,
    "n_positions": 512,
}


def build_tiny_model(tokenizer: Any, **overrides: Any) -> torch.nn.Module:
    """A small causal LM (or encoder-decoder) over ``tokenizer``'s vocabulary, with
    dropout off.

    Args:
        tokenizer: Sets the vocabulary size and the special token ids.
        overrides: ``arch`` (``"gpt2"``, ``"llama"`` or ``"t5"``), ``n_layer``,
            ``n_embd``, ``n_head``, ``n_positions``, ``seed``. For ``"t5"``, ``n_layer``
            counts the encoder's layers and the decoder's each, and ``n_positions`` is
            unused (T5's positions are relative).
    """
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )

    settings = {**TINY_DEFAULTS, **overrides}
    unknown = set(settings) - set(TINY_DEFAULTS) - {"seed"}
    if unknown:
        raise ValueError(
            f"unknown tiny-model settings {sorted(unknown)}; valid: "
            f"{', '.join(sorted(TINY_DEFAULTS))}, seed"
        )
    if "seed" in settings:
        torch.manual_seed(int(settings["seed"]))
    vocab = len(tokenizer)
    eos, pad = int(tokenizer.eos_token_id), int(tokenizer.pad_token_id)
    if settings["arch"] == "gpt2":
        config = GPT2Config(
            vocab_size=vocab,
            n_positions=settings["n_positions"],
            n_embd=settings["n_embd"],
            n_layer=settings["n_layer"],
            n_head=settings["n_head"],
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
        )
        model = GPT2LMHeadModel(config)
    elif settings["arch"] == "llama":
        width = settings["n_embd"]
        config = LlamaConfig(
            vocab_size=vocab,
            hidden_size=width,
            intermediate_size=width * 2,
            num_hidden_layers=settings["n_layer"],
            num_attention_heads=settings["n_head"],
            num_key_value_heads=max(1, settings["n_head"] // 2),
            max_position_embeddings=settings["n_positions"],
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=pad,
            tie_word_embeddings=True,
        )
        model = LlamaForCausalLM(config)
    elif settings["arch"] == "t5":
        width, heads = settings["n_embd"], settings["n_head"]
        config = T5Config(
            vocab_size=vocab,
            d_model=width,
            d_kv=width // heads,
            d_ff=width * 2,
            num_layers=settings["n_layer"],
            num_decoder_layers=settings["n_layer"],
            num_heads=heads,
            dropout_rate=0.0,
            eos_token_id=eos,
            pad_token_id=pad,
            decoder_start_token_id=pad,  # T5's convention: the decoder starts from pad
            tie_word_embeddings=True,  # one embedding for encoder, decoder and output
        )
        model = T5ForConditionalGeneration(config)
    else:
        raise ValueError(f"unknown tiny arch {settings['arch']!r}; valid: gpt2, llama, t5")
    return model.eval()
