"""rlvideo: record videos of reinforcement-learning rollouts, streaming, exact and crash-safe.

The public API, all importable from ``rlvideo``:

- :func:`save_video` and :func:`capped_cubic_video_schedule`: gym's functions, drop-in;
- :class:`VideoWriter`: the streaming writer underneath (MP4/H.264, WebM/VP9, GIF);
- :func:`probe`, :func:`read_frames`: read a video back; :func:`recover`: rescue a partial file;
- :mod:`rlvideo.errors`: the exceptions, all :class:`RLVideoError`.
"""

from __future__ import annotations

from rlvideo.encoder import VideoWriter
from rlvideo.errors import (
    EncoderError,
    InvalidArgumentError,
    InvalidFrameError,
    MissingDependencyError,
    RenderModeError,
    RLVideoError,
    StorageError,
    VideoExistsError,
    WriterClosedError,
)
from rlvideo.probe import VideoInfo, probe, read_frames
from rlvideo.recovery import recover
from rlvideo.save_video import save_video
from rlvideo.schedules import capped_cubic_video_schedule, every_n

__version__ = "0.1.0"

__all__ = [
    "EncoderError",
    "InvalidArgumentError",
    "InvalidFrameError",
    "MissingDependencyError",
    "RLVideoError",
    "RenderModeError",
    "StorageError",
    "VideoExistsError",
    "VideoInfo",
    "VideoWriter",
    "WriterClosedError",
    "__version__",
    "capped_cubic_video_schedule",
    "every_n",
    "probe",
    "read_frames",
    "recover",
    "save_video",
]
