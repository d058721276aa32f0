"""GIF's 256 colours: frames in any RGB(A)/gray layout to ``pal8`` frames for FFmpeg's gif encoder.

One home for FFmpeg's ``palettegen``/``paletteuse`` in rlvideo, with two palettes:

- a fresh palette per frame (:class:`Quantizer` with no ``palette``): each frame's own colours
  (within palettegen's rounding of a level or two), nothing buffered, error-diffusion
  dithering: what ``format="gif"`` files get (:class:`~rlvideo.VideoWriter`);
- one palette for every frame (``palette=`` :func:`shared_palette` of the first frames), light
  ordered dithering: each frame then stores only what changed, which makes GIF previews
  (:func:`rlvideo.io._preview.gif_preview`) ~20x faster to encode and ~2x smaller.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import av
import av.filter
import numpy as np
import numpy.typing as npt
from av.video.format import VideoFormat

__all__ = ["Quantizer", "shared_palette"]

_PALETTE_SIDE = 16  # palettegen's output: a 16x16 rgb32 frame, one pixel per colour
_PER_FRAME = "new=1:dither=sierra2_4a"  # error diffusion: the best a single frame can look
_SHARED = "dither=bayer:bayer_scale=5:diff_mode=rectangle"  # ordered: still areas stay still


class Quantizer:
    """A filter graph from frames of ``pixel_format`` to ``pal8`` frames, 256 colours each.

    Args:
        width: The frames' width in pixels.
        height: Their height.
        pixel_format: Their layout, e.g. ``"rgb24"``, ``"rgba"``, ``"gray"`` (alpha is dropped).
        time_base: The time base of the frames' ``pts``.
        palette: One palette for every frame (from :func:`shared_palette`); None for a fresh
            palette made from each frame.

    Example:
        >>> import numpy as np
        >>> ramp = np.repeat(np.arange(64, dtype=np.uint8)[None, :, None] * 4, 3, axis=2)
        >>> frame = av.VideoFrame.from_ndarray(np.repeat(ramp, 8, axis=0), format="rgb24")
        >>> frame.pts = 0
        >>> tick = Fraction(1, 100)
        >>> quantizer = Quantizer(width=64, height=8, pixel_format="rgb24", time_base=tick)
        >>> [out.format.name for out in [*quantizer.push(frame), *quantizer.push(None)]]
        ['pal8']
    """

    def __init__(
        self,
        *,
        width: int,
        height: int,
        pixel_format: str,
        time_base: Fraction,
        palette: av.VideoFrame | None = None,
    ) -> None:
        self._palette = palette
        self._graph = graph = av.filter.Graph()
        self._source = graph.add_buffer(
            width=width, height=height, format=VideoFormat(pixel_format), time_base=time_base
        )
        to_rgb = graph.add("format", "pix_fmts=rgb24")  # drops alpha, expands gray
        self._source.link_to(to_rgb)
        self._sink = graph.add("buffersink")
        if palette is None:
            split = graph.add("split")
            make = graph.add("palettegen", "stats_mode=single:reserve_transparent=0")
            apply = graph.add("paletteuse", _PER_FRAME)
            to_rgb.link_to(split)
            split.link_to(apply, 0, 0)
            split.link_to(make, 1, 0)
            make.link_to(apply, 0, 1)
            self._palette_source = None
        else:
            self._palette_source = graph.add_buffer(
                width=_PALETTE_SIDE,
                height=_PALETTE_SIDE,
                format=VideoFormat("rgb32"),
                time_base=time_base,
            )
            apply = graph.add("paletteuse", _SHARED)
            to_rgb.link_to(apply, 0, 0)
            self._palette_source.link_to(apply, 0, 1)
        apply.link_to(self._sink)
        graph.configure()

    def push(self, frame: av.VideoFrame | None) -> Iterator[av.VideoFrame]:
        """Hand ``frame`` over (None: no more) and yield the ``pal8`` frames that are ready."""
        if self._palette_source is None or self._palette is None:
            self._source.push(frame)
        elif frame is not None:  # paletteuse takes one palette per frame, at its time
            self._palette.pts, self._palette.time_base = frame.pts, frame.time_base
            self._palette_source.push(self._palette)
            self._source.push(frame)
        else:
            self._source.push(None)
            self._palette_source.push(None)
        while True:
            try:
                quantized = self._sink.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            assert isinstance(quantized, av.VideoFrame)  # a video graph gives video frames
            yield quantized


def shared_palette(frames: Sequence[npt.NDArray[np.uint8]]) -> av.VideoFrame:
    """One 256-colour palette (a 16x16 ``rgb32`` frame) for all of ``frames`` (RGB, one size).

    Example:
        >>> import numpy as np
        >>> black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
        >>> palette = shared_palette([black, white])
        >>> palette.width, palette.height, palette.format.name
        (16, 16, 'bgra')
    """
    graph = av.filter.Graph()
    height, width = frames[0].shape[:2]
    time_base = Fraction(1, 100)
    source = graph.add_buffer(
        width=width, height=height * len(frames), format=VideoFormat("rgb24"), time_base=time_base
    )
    make = graph.add("palettegen", "stats_mode=full:reserve_transparent=0")
    sink = graph.add("buffersink")
    source.link_to(make)
    make.link_to(sink)
    graph.configure()
    stacked = av.VideoFrame.from_ndarray(np.concatenate(frames), format="rgb24")
    stacked.pts, stacked.time_base = 0, time_base
    source.push(stacked)
    source.push(None)
    palette = sink.pull()
    assert isinstance(palette, av.VideoFrame)  # a video graph gives video frames
    return palette
