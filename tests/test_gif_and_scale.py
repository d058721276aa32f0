"""io._gif (the one palettegen/paletteuse pipeline) and io._scale (the one downscaler)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from rlvideo.io._gif import Quantizer, shared_palette
from rlvideo.io._scale import Downscaler

TICK = Fraction(1, 100)


def _frame(array: np.ndarray, pts: int, fmt: str = "rgb24") -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(array, format=fmt)
    frame.pts, frame.time_base = pts, TICK
    return frame


def _quantize(quantizer: Quantizer, arrays: list[np.ndarray], fmt: str) -> list[np.ndarray]:
    out = []
    for pts, array in enumerate(arrays):
        out += quantizer.push(_frame(array, pts, fmt))
    out += quantizer.push(None)
    return [frame.to_ndarray(format="rgb24") for frame in out]


def _few_colours(seed: int) -> np.ndarray:
    """A 24x32 frame of 8 colours in blocks: 256 colours hold it exactly."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (8, 3), dtype=np.uint8)
    return colours[np.repeat(np.arange(8), 96).reshape(24, 32)]


def test_a_fresh_palette_per_frame_keeps_every_colour() -> None:
    arrays = [_few_colours(seed) for seed in range(4)]
    quantizer = Quantizer(width=32, height=24, pixel_format="rgb24", time_base=TICK)
    decoded = _quantize(quantizer, arrays, "rgb24")
    assert len(decoded) == 4
    for got, want in zip(decoded, arrays, strict=True):
        assert np.abs(got.astype(int) - want).max() <= 2  # palettegen rounds a little
        assert len(np.unique(got.reshape(-1, 3), axis=0)) == 8  # no dithering: 8 colours


def test_alpha_is_dropped_and_gray_expanded() -> None:
    rgba = np.dstack([_few_colours(0), np.full((24, 32), 7, np.uint8)])
    quantizer = Quantizer(width=32, height=24, pixel_format="rgba", time_base=TICK)
    rgb = _quantize(quantizer, [rgba], "rgba")[0]
    assert rgb.shape == (24, 32, 3)
    assert np.abs(rgb.astype(int) - rgba[..., :3]).max() <= 2
    gray = np.repeat(np.arange(32, dtype=np.uint8)[None, :] * 8, 24, axis=0)
    quantizer = Quantizer(width=32, height=24, pixel_format="gray", time_base=TICK)
    expanded = _quantize(quantizer, [gray], "gray")[0]
    assert np.abs(expanded.astype(int) - np.dstack([gray] * 3)).max() <= 2


def test_one_shared_palette_serves_every_frame() -> None:
    arrays = [_few_colours(0), _few_colours(0)[::-1].copy()]  # the same 8 colours, moved
    palette = shared_palette(arrays[:1])
    quantizer = Quantizer(
        width=32, height=24, pixel_format="rgb24", time_base=TICK, palette=palette
    )
    decoded = _quantize(quantizer, arrays, "rgb24")
    assert len(decoded) == 2
    for got, want in zip(decoded, arrays, strict=True):
        assert np.abs(got.astype(int) - want).max() <= 8  # ordered dithering, exact palette


@pytest.mark.parametrize(
    ("bounds", "size", "expected"),
    [
        ({"max_side": 256}, (600, 400), (256, 171)),
        ({"max_side": 256}, (400, 600), (171, 256)),
        ({"max_side": 256}, (100, 50), (100, 50)),  # never scaled up
        ({"max_width": 480}, (960, 721), (480, 360)),
        ({"max_width": 480}, (300, 2000), (300, 2000)),
        ({"max_width": 100, "max_side": 50}, (200, 100), (50, 25)),
        ({"max_side": 1}, (300, 2), (1, 1)),  # at least a pixel
    ],
)
def test_downscaler_sizes(
    bounds: dict[str, int], size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert Downscaler(**bounds).size(*size) == expected


def test_downscaler_averages_areas() -> None:
    checker = (np.indices((40, 60)).sum(axis=0) % 2 * 200).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(np.dstack([checker] * 3), format="rgb24")
    small = Downscaler(max_side=30)(frame, format="rgb24").to_ndarray()
    assert small.shape == (20, 30, 3)
    assert np.abs(small.astype(int) - 100).max() <= 2  # 2x2 blocks of 0 and 200: grey 100
