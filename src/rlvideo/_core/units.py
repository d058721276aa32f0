"""Sizes and numbers for people: one way to write them in every listing, page and message.

File sizes are in **decimal units** (1 kB = 1000 bytes, 1 MB = 1000 kB), as file managers, the
``rlvideo info`` listing, the notebook's messages and the README show them.
"""

from __future__ import annotations

import math

__all__ = ["format_number", "format_size"]

_UNITS = ("B", "kB", "MB", "GB", "TB")


def format_size(size: int) -> str:
    """A file size in decimal units, one decimal above a kilobyte.

    Example:
        >>> format_size(999), format_size(23_456), format_size(1_234_567), format_size(5 * 10**9)
        ('999 B', '23.5 kB', '1.2 MB', '5.0 GB')
        >>> format_size(7 * 10**15)
        '7000.0 TB'
    """
    value = float(size)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_number(value: float, *, decimals: int | None = None) -> str:
    """A number without trailing zeros: ``decimals`` places at most, else 6 significant digits.

    Example:
        >>> format_number(500.0), format_number(0.125), format_number(1234567.0)
        ('500', '0.125', '1.23457e+06')
        >>> format_number(23.456, decimals=2), format_number(40.0, decimals=2)
        ('23.46', '40')
        >>> format_number(-0.001, decimals=2), format_number(float("nan"))
        ('0', 'nan')
    """
    if not math.isfinite(value):
        return str(value)
    if decimals is None:
        return f"{value:g}"
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
    return "0" if text == "-0" else text
