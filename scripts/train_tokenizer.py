"""Train the tokenizer shipped with code_env: a byte-level BPE on Python source.

The corpus is the Python standard library of the interpreter running this script
(present on every machine, so anyone can retrain it), plus the built-in task suite's
prompts and reference solutions, so that the tokens the env sees most are whole words.
The result is written to ``code_env/data/tokenizer.json`` and loads as a
``transformers.PreTrainedTokenizerFast`` through ``code_env.tokenizer.load_tokenizer``.

    python scripts/train_tokenizer.py            # writes code_env/data/tokenizer.json
    python scripts/train_tokenizer.py --check    # compares a fresh training with the file

Byte-level BPE never fails to encode (every byte is in the base alphabet) and decodes
back to exactly the text that was encoded, which the env relies on: the program it
grades is the decoded text of the tokens the agent chose.
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "code_env" / "data" / "tokenizer.json"
VOCAB_SIZE = 8192
#: Special tokens, in id order: end of text (ends an episode), padding.
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>"]


def stdlib_sources(limit_bytes: int = 400_000) -> Iterator[str]:
    """The text of every .py file of the standard library (tests excluded), in a fixed
    order, each cut at ``limit_bytes`` so no single file dominates."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).parts
        if any(part in ("test", "tests", "idle_test", "site-packages") for part in rel):
            continue
        try:
            yield path.read_text(encoding="utf-8")[:limit_bytes]
        except (UnicodeDecodeError, OSError):
            continue


def suite_texts() -> Iterator[str]:
    """Prompts and references of the built-in suite (three times: they are small)."""
    suite = REPO_ROOT / "code_env" / "data" / "builtin.jsonl"
    for _ in range(3):
        for line in suite.read_text(encoding="utf-8").splitlines():
            task = json.loads(line)
            yield task["prompt"] + "".join(task["solutions"])


def train(vocab_size: int = VOCAB_SIZE) -> str:
    """Train and return the tokenizer as JSON text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=sys.stderr.isatty(),
    )

    def corpus() -> Iterator[str]:
        yield from stdlib_sources()
        yield from suite_texts()

    tokenizer.train_from_iterator(corpus(), trainer=trainer)
    return tokenizer.to_str(pretty=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--vocab-size", type=int, default=VOCAB_SIZE, help=f"vocabulary size (default {VOCAB_SIZE})"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write it")
    parser.add_argument(
        "--check", action="store_true", help="train, and exit 1 if the result differs from --output"
    )
    args = parser.parse_args(argv)
    text = train(args.vocab_size)
    if args.check:
        same = args.output.is_file() and args.output.read_text(encoding="utf-8") == text
        print("tokenizer is up to date" if same else f"{args.output} differs from a fresh training")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    vocab = json.loads(text)["model"]["vocab"]
    print(f"wrote {args.output} ({len(vocab)} tokens, {len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
