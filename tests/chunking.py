"""Cutting a byte stream into chunks, as the network does, for the decoders' tests."""

from __future__ import annotations


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (clamped, deduplicated), so the chunks join back to it."""
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
