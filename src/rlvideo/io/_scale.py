"""Scale frames down to fit a bound, averaging the pixels each new pixel covers (FFmpeg's area).

Never scales up; keeps the aspect ratio. Used where a smaller picture is all that is shown: GIF
previews for trackers (:mod:`rlvideo.io._preview`) and GIFs embedded in notebooks
(:mod:`rlvideo.notebook`).
"""

from __future__ import annotations

import av
import av.video.reformatter

from rlvideo.errors import InvalidArgumentError

__all__ = ["Downscaler"]


class Downscaler:
    """Frames scaled down (area averaging) to fit ``max_width`` and/or ``max_side``.

    One scaler serves every frame of a size, as FFmpeg's scaler context is reused.

    Args:
        max_width: The width at most, in pixels.
        max_side: The longer side at most, in pixels.

    Example:
        >>> import numpy as np
        >>> shrink = Downscaler(max_side=64)
        >>> shrink.size(160, 120), shrink.size(32, 24)
        ((64, 48), (32, 24))
        >>> frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 9, np.uint8), format="rgb24")
        >>> small = shrink(frame, format="rgb24").to_ndarray()
        >>> small.shape, int(small.max())
        ((48, 64, 3), 9)
    """

    def __init__(self, *, max_width: float | None = None, max_side: float | None = None) -> None:
        if max_width is None and max_side is None:
            raise InvalidArgumentError("Downscaler needs max_width or max_side")
        self.max_width = max_width
        self.max_side = max_side
        self._reformatter = av.video.reformatter.VideoReformatter()

    def size(self, width: int, height: int) -> tuple[int, int]:
        """The size a ``width`` x ``height`` frame is scaled to (itself when it fits)."""
        scale = 1.0
        if self.max_width is not None:
            scale = min(scale, self.max_width / width)
        if self.max_side is not None:
            scale = min(scale, self.max_side / max(width, height))
        if scale >= 1.0:
            return width, height
        return max(1, round(width * scale)), max(1, round(height * scale))

    def __call__(self, frame: av.VideoFrame, *, format: str) -> av.VideoFrame:
        """``frame`` in pixel ``format``, scaled down to fit."""
        width, height = self.size(frame.width, frame.height)
        return self._reformatter.reformat(
            frame, width=width, height=height, format=format, interpolation="AREA"
        )
