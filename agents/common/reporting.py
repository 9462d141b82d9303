"""Tables and plots for runs: what the command line and the benchmarks print and draw."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The same table in Markdown."""
    out = [
        "| " + " | ".join(str(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def percent(value: float | None) -> str:
    """``12.3%``, or ``-`` for None."""
    return "-" if value is None else f"{100 * value:.1f}%"


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_learning_curve(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    keys: Sequence[str] = ("rollout/pass_rate", "rollout/reward_mean"),
    title: str = "",
    window: int = 5,
) -> Path:
    """One panel per metric against updates (raw and a moving average); PNG."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core extra here
        raise ImportError("plots need matplotlib: pip install 'code-synthesis-rl[bench]'") from exc
    figure = Figure(figsize=(5.0 * len(keys), 3.6))
    FigureCanvasAgg(figure)
    updates = [int(h["update"]) for h in history]
    for i, key in enumerate(keys):
        ax = figure.add_subplot(1, len(keys), i + 1)
        values = [float(h.get(key, float("nan"))) for h in history]
        ax.plot(updates, values, color="0.75", linewidth=1, label="per update")
        ax.plot(updates, smooth(values, window), linewidth=2, label=f"mean of {window}")
        ax.set_xlabel("update")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
