"""QR codes for voucher credentials, as PNG, SVG or terminal text.

Error correction is fixed at level M (about 15 % of the symbol may be damaged) and never
boosted: segno would otherwise raise the level whenever it fits without growing the symbol,
and a fixed level keeps one voucher's code the same size and the same pixels every time.
"""

from __future__ import annotations

import io
from typing import Any

import segno

from skillvoucher.domain.errors import InvalidInput

MAX_SCALE = 64


def qr_png(text: str, scale: int = 4) -> bytes:
    """A PNG image of the QR code for ``text``, ``scale`` pixels per module."""
    out = io.BytesIO()
    _make(text).save(out, kind="png", scale=_checked_scale(scale))
    return out.getvalue()


def qr_svg(text: str, scale: int = 4) -> str:
    """A standalone SVG document (with XML declaration) of the QR code for ``text``."""
    out = io.BytesIO()
    _make(text).save(out, kind="svg", scale=_checked_scale(scale), encoding="utf-8")
    return out.getvalue().decode("utf-8")


def qr_terminal(text: str) -> str:
    """The QR code drawn with Unicode half blocks, two modules per character cell.

    Half blocks halve the height and need no ANSI escapes, so the text can be printed,
    logged or pasted anywhere. Like segno, it assumes light text on a dark terminal.
    """
    out = io.StringIO()
    _make(text).terminal(out=out, compact=True)
    return out.getvalue()


def _make(text: str) -> Any:  # segno ships no type hints
    if not isinstance(text, str):
        raise InvalidInput("QR content must be text")
    try:
        return segno.make(text, error="m", boost_error=False, micro=False)
    except segno.DataOverflowError:
        raise InvalidInput(f"{len(text)} characters do not fit in a QR code") from None


def _checked_scale(scale: int) -> int:
    if type(scale) is not int or not 1 <= scale <= MAX_SCALE:
        raise InvalidInput(f"QR scale must be an integer from 1 to {MAX_SCALE}, got {scale!r}")
    return scale
