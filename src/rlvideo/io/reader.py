"""Read a video back: its codec, size, frame rate and frames. Reading only; writing is elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from rlvideo.errors import EncoderError

__all__ = ["VideoInfo", "probe", "read_frames"]


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes:
        path: The file.
        codec: The codec's short name, e.g. ``"h264"``.
        width: Width in pixels.
        height: Height in pixels.
        fps: Average frames per second.
        frames: Frames counted by decoding the whole stream.
        duration: Seconds, from the container.
        pixel_format: The stream's pixel format, e.g. ``"yuv420p"``.
        size_bytes: File size.
    """

    path: str
    codec: str
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    pixel_format: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe a video, counting its frames by decoding them (exact, not the header's guess).

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("probe.mp4", fps=24) as w:
        ...     w.write_batch(np.zeros((12, 32, 48, 3), np.uint8))
        >>> info = probe("probe.mp4")
        >>> info.codec, info.width, info.height, info.fps, info.frames, info.duration
        ('h264', 48, 32, 24.0, 12, 0.5)
    """
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise EncoderError(f"{path} holds no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            frames = sum(1 for _ in container.decode(stream))
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            duration = container.duration / av.time_base if container.duration else 0.0
            return VideoInfo(
                path=str(path),
                codec=stream.codec_context.name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=round(float(rate), 3),
                frames=frames,
                duration=round(duration, 3),
                pixel_format=str(stream.codec_context.pix_fmt),
                size_bytes=Path(path).stat().st_size,
            )
    except av.error.InvalidDataError as exc:  # FFmpeg found no container it knows
        raise EncoderError(
            f"{path} is not a video file: FFmpeg found no video data in it (it may be empty, "
            "truncated or another kind of file)"
        ) from exc
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot read {path} as video: {exc.strerror or exc}") from exc


def read_frames(path: str | os.PathLike[str]) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield the frames of a video as ``(H, W, 3)`` uint8 RGB arrays.

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("gray.mp4") as w:
        ...     w.write_batch([np.full((16, 16, 3), 128, np.uint8)] * 3)
        >>> [int(f.mean().round()) for f in read_frames("gray.mp4")]
        [128, 128, 128]
    """
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")
