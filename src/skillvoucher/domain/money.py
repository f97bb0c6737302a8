"""Money is an integer number of fen (1 yuan = 100 fen). Never a float."""

from __future__ import annotations

from collections.abc import Sequence

FEN_PER_YUAN = 100


def format_yuan(fen: int) -> str:
    """Render fen as a yuan amount with two decimals, e.g. 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan:,}.{cents:02d}"


def yuan_string(fen: int) -> str:
    """Machine-readable yuan amount for payment files, e.g. 123456 -> '1234.56'."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{cents:02d}"


def split_by_percent(total_fen: int, percents: Sequence[int]) -> list[int]:
    """Split ``total_fen`` into parts proportional to ``percents`` (which sum to 100).

    Largest-remainder rounding: the parts always add up to ``total_fen`` exactly, so a split
    never loses or invents a fen, and each part is within one fen of its exact share.
    """
    if total_fen < 0:
        raise ValueError("cannot split a negative amount")
    if sum(percents) != 100 or any(p < 0 for p in percents):
        raise ValueError("percents must be non-negative and add up to 100")
    exact = [total_fen * p for p in percents]
    parts = [e // 100 for e in exact]
    shortfall = total_fen - sum(parts)
    # Give the leftover fen to the largest remainders; ties go to the earlier stage.
    order = sorted(range(len(percents)), key=lambda i: (-(exact[i] % 100), i))
    for i in order[:shortfall]:
        parts[i] += 1
    return parts
