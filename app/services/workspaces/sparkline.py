"""Sparkline geometry: a series as SVG polyline points, drawn server-side (no chart library)."""

from __future__ import annotations

from collections.abc import Sequence

WIDTH, HEIGHT, PAD = 120, 32, 2


def points(values: Sequence[float | int | None], width: int = WIDTH, height: int = HEIGHT) -> str:
    """``x,y`` pairs for an SVG polyline; gaps (None) read as zero; empty for fewer than two values."""
    ys = [float(v or 0) for v in values]
    if len(ys) < 2:
        return ""
    low, high = min(ys), max(ys)
    span = (high - low) or 1.0
    step = (width - 2 * PAD) / (len(ys) - 1)
    inner = height - 2 * PAD
    return " ".join(
        f"{PAD + i * step:.1f},{PAD + inner - (y - low) / span * inner if high != low else height / 2:.1f}"
        for i, y in enumerate(ys)
    )
