"""Read a video back: its codec, size, frame rate, packets and frames. Reading only.

Every PyAV read of a video in rlvideo goes through this module: :func:`open_video` opens a file
and hands over its first video stream (or says the file holds none), :func:`decoded` yields its
frames (every ``n``-th, up to a count) and :func:`video_packets` its compressed packets (for
copying and counting without decoding, stopping quietly at a damaged tail where asked).
:func:`probe` and :func:`read_frames` are the public faces; :func:`probe_with_frame` gives in
one decoding pass what the gallery needs of a video: its facts and the frame for its poster.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import av.container
import av.video.stream
import numpy as np
import numpy.typing as npt

from rlvideo.errors import EncoderError

__all__ = [
    "VideoInfo",
    "decoded",
    "open_video",
    "probe",
    "probe_with_frame",
    "read_frames",
    "rgb",
    "video_packets",
]

logger = logging.getLogger(__name__)

_POSTER_WINDOW = 2
"""Frames kept either side of where the header says the poster frame is (see probe_with_frame)."""


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


@contextlib.contextmanager
def open_video(
    path: str | os.PathLike[str], *, threaded: bool = False, no_video: str | None = None
) -> Iterator[av.video.stream.VideoStream]:
    """Open ``path`` with PyAV and yield its first video stream; the file closes on exit.

    The container is ``stream.container``. PyAV's errors pass through unchanged: each caller
    says what it was doing.

    Args:
        path: A video file.
        threaded: Decode on FFmpeg's threads (``thread_type="AUTO"``): faster for whole videos.
        no_video: The error's message when the file holds no video stream (by default
            ``"<path> holds no video stream"``).

    Raises:
        EncoderError: If the file holds no video stream.

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("opened.mp4", fps=10) as w:
        ...     w.write_batch(np.zeros((3, 16, 16, 3), np.uint8))
        >>> with open_video("opened.mp4") as stream:
        ...     stream.codec_context.name, stream.width, stream.frames
        ('h264', 16, 3)
    """
    with av.open(os.fspath(path)) as container:
        if not container.streams.video:
            raise EncoderError(no_video or f"{path} holds no video stream")
        stream = container.streams.video[0]
        if threaded:
            stream.thread_type = "AUTO"
        yield stream


def decoded(
    stream: av.video.stream.VideoStream, *, every: int = 1, limit: int | None = None
) -> Iterator[av.VideoFrame]:
    """Decode ``stream``'s frames in presentation order: every ``every``-th, at most ``limit``.

    Each frame carries its time stamp (``frame.pts * frame.time_base``, ``frame.time``) and
    ``frame.duration``; frames skipped are decoded all the same (later ones refer to them).

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("ten.mp4", fps=10) as w:
        ...     w.write_batch(np.zeros((10, 16, 16, 3), np.uint8))
        >>> with open_video("ten.mp4") as stream:
        ...     [round(frame.time, 1) for frame in decoded(stream, every=3, limit=3)]
        [0.0, 0.3, 0.6]
    """
    kept = 0
    for index, frame in enumerate(_container(stream).decode(stream)):
        if index % every:
            continue
        if kept == limit:
            return
        kept += 1
        yield frame


def video_packets(
    stream: av.video.stream.VideoStream, *, tolerant: bool = False
) -> Iterator[av.Packet[av.video.stream.VideoStream]]:
    """Yield ``stream``'s packets in decode order, without decoding them.

    The demuxer's end-of-stream marker (a packet with no ``dts``) is left out.

    Args:
        stream: A stream from :func:`open_video`.
        tolerant: Stop quietly at the first damaged packet (a file cut short by a kill)
            rather than raise ``av.error.InvalidDataError``.

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("packets.mp4", fps=10) as w:
        ...     w.write_batch(np.zeros((4, 16, 16, 3), np.uint8))
        >>> with open_video("packets.mp4") as stream:
        ...     sum(1 for packet in video_packets(stream))
        4
    """
    demuxed = _container(stream).demux(stream)
    with contextlib.suppress(*((av.error.InvalidDataError,) if tolerant else ())):
        for packet in demuxed:
            if packet.dts is not None:
                yield packet


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe a video, counting its frames by decoding them (exact, not the header's guess).

    Raises:
        EncoderError: If ``path`` is not a video FFmpeg can read.

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("probe.mp4", fps=24) as w:
        ...     w.write_batch(np.zeros((12, 32, 48, 3), np.uint8))
        >>> info = probe("probe.mp4")
        >>> info.codec, info.width, info.height, info.fps, info.frames, info.duration
        ('h264', 48, 32, 24.0, 12, 0.5)
    """
    return probe_with_frame(path, at=None)[0]


def probe_with_frame(
    path: str | os.PathLike[str], *, at: Fraction | None = Fraction(1, 3)
) -> tuple[VideoInfo, av.VideoFrame | None]:
    """:func:`probe`, and the frame ``at`` the way in (frame ``int(frames * at)``), in one pass.

    The frame's index depends on the frame count, known only once every frame is decoded, so
    the frames around where the header's count (MP4, GIF) or duration (WebM) puts it are kept
    as they pass (a few frames: memory stays flat). When the header was wrong, or silent, the
    video is decoded again up to that frame.

    Args:
        path: A video file.
        at: Where the frame is, as a fraction of the frame count; None for no frame.

    Returns:
        The video's facts, and the frame (None when ``at`` is None or it holds no frame).

    Raises:
        EncoderError: If ``path`` is not a video FFmpeg can read.

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("ramp.webm", fps=10) as w:
        ...     w.write_batch([np.full((16, 16, 3), 20 * i, np.uint8) for i in range(9)])
        >>> info, frame = probe_with_frame("ramp.webm")
        >>> info.frames, round(float(frame.to_ndarray(format="rgb24").mean()) / 20)
        (9, 3)
    """
    try:
        with open_video(path, threaded=True) as stream:
            guess = None if at is None else int(_header_frames(stream) * at)
            kept: dict[int, av.VideoFrame] = {}
            frames = 0
            for frame in decoded(stream):
                if guess is not None and abs(frames - guess) <= _POSTER_WINDOW:
                    kept[frames] = frame
                frames += 1
            info = _info(path, stream, frames)
        if at is None or not frames:
            return info, None
        index = int(frames * at)
        if index not in kept:
            logger.debug("%s: its header misses the frame count; decoding to frame %d", path, index)
            with open_video(path) as stream:
                again = (frame for number, frame in enumerate(decoded(stream)) if number == index)
                return info, next(again, None)
        return info, kept[index]
    except av.error.InvalidDataError as exc:  # FFmpeg found no container it knows
        raise EncoderError(
            f"{path} is not a video file: FFmpeg found no video data in it (it may be empty, "
            "truncated or another kind of file)"
        ) from exc
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot read {path} as video: {exc.strerror or exc}") from exc


def _header_frames(stream: av.video.stream.VideoStream) -> int:
    """The frame count the container's header says, or its duration implies; 0 if neither."""
    if stream.frames:
        return stream.frames
    container = _container(stream)
    rate = stream.average_rate or stream.guessed_rate
    if not container.duration or not rate:
        return 0
    return round(Fraction(container.duration, av.time_base) * rate)


def _info(
    path: str | os.PathLike[str], stream: av.video.stream.VideoStream, frames: int
) -> VideoInfo:
    container = _container(stream)
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
    with open_video(path) as stream:
        for frame in decoded(stream):
            yield rgb(frame)


def rgb(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    """``frame`` as an ``(H, W, 3)`` uint8 RGB array."""
    return cast("npt.NDArray[np.uint8]", frame.to_ndarray(format="rgb24"))


def _container(stream: av.video.stream.VideoStream) -> av.container.InputContainer:
    """The container :func:`open_video` opened ``stream`` from."""
    return cast("av.container.InputContainer", stream.container)
