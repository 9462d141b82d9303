"""The tokenizer: the one shipped with code_env, or any Hugging Face tokenizer.

The shipped tokenizer is a byte-level BPE with 8,192 tokens trained on the Python
standard library by ``scripts/train_tokenizer.py``: token 0 is ``<|endoftext|>`` (it
ends an episode) and token 1 is ``<|pad|>``. Byte-level BPE encodes any text and
decodes back to exactly the same text.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

#: Name that selects the shipped tokenizer.
SHIPPED = "code_env"
EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"


def load_tokenizer(tokenizer: Any = None):
    """A ``PreTrainedTokenizerFast`` (or any HF tokenizer) ready for the env.

    Args:
        tokenizer: None or ``"code_env"`` for the shipped tokenizer; a tokenizer
            object; or a name or path for ``transformers.AutoTokenizer``.

    Raises:
        FileNotFoundError: ``tokenizer`` is a path (not a hub name) with nothing there.
        OSError: a hub name that is not cached, while the hub cannot be reached.
        ValueError: the tokenizer has no end-of-text token (the env needs one to end
            an episode).
    """
    if tokenizer is None or tokenizer == SHIPPED:
        from transformers import PreTrainedTokenizerFast

        ref = resources.files("code_env") / "data" / "tokenizer.json"
        with resources.as_file(ref) as path:
            tok = PreTrainedTokenizerFast(
                tokenizer_file=str(path), eos_token=EOS_TOKEN, pad_token=PAD_TOKEN
            )
        tok.name_or_path = SHIPPED
    elif isinstance(tokenizer, str) or hasattr(tokenizer, "__fspath__"):
        tok = _from_name_or_path(str(tokenizer))
    else:
        tok = tokenizer
    if getattr(tok, "eos_token_id", None) is None:
        name = getattr(tok, "name_or_path", type(tok).__name__)
        raise ValueError(
            f"tokenizer {name!r} has no end-of-text token (eos_token); the env ends an "
            "episode at that token, so set one, e.g. tokenizer.eos_token = '</s>'"
        )
    if getattr(tok, "pad_token_id", None) is None:
        tok.pad_token = tok.eos_token  # observations mark padding with attention_mask
    return tok


def _from_name_or_path(name: str):
    """``AutoTokenizer.from_pretrained`` for a local folder or a hub name, with errors
    that say which it was and why it failed, at once (no retries while offline)."""
    from transformers import AutoTokenizer

    from code_env.tasks.hub import hub_reachable, looks_like_repo_id

    path = Path(name).expanduser()
    if path.exists():
        return AutoTokenizer.from_pretrained(str(path))
    if not looks_like_repo_id(name):
        raise FileNotFoundError(f"tokenizer: no tokenizer at {name!r} (no such file or folder)")
    try:  # a hub name already in the local cache loads without the network
        return AutoTokenizer.from_pretrained(name, local_files_only=True)
    except OSError:
        if not hub_reachable():
            raise OSError(
                f"tokenizer {name!r}: not a local folder, not in the Hugging Face cache, "
                "and the hub cannot be reached (offline?); pass a local folder instead"
            ) from None
    return AutoTokenizer.from_pretrained(name)
