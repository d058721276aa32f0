"""rlvideo._core.units: one way to write sizes (decimal units) and numbers for people."""

from __future__ import annotations

import pytest

from rlvideo._core.units import format_number, format_size


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (18_000, "18.0 kB"),
        (999_949, "999.9 kB"),
        (1_234_567, "1.2 MB"),
        (5 * 10**9, "5.0 GB"),
        (3 * 10**12, "3.0 TB"),
    ],
)
def test_sizes_are_decimal(size: int, text: str) -> None:
    assert format_size(size) == text


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (500.0, None, "500"),
        (0.125, None, "0.125"),
        (29.97, None, "29.97"),
        (float("inf"), None, "inf"),
        (40.0, 2, "40"),
        (23.456, 2, "23.46"),
        (-0.001, 2, "0"),
        (2.5, 0, "2"),
        (float("nan"), 2, "nan"),
    ],
)
def test_numbers_have_no_trailing_zeros(value: float, decimals: int | None, text: str) -> None:
    assert format_number(value, decimals=decimals) == text
