"""rlvideo: record videos of reinforcement-learning rollouts, streaming, exact and crash-safe.

The public API, all importable from ``rlvideo``:

- :func:`save_video` and :func:`capped_cubic_video_schedule`: gym's functions, drop-in;
- :class:`VideoWriter`: the streaming writer underneath (MP4/H.264, WebM/VP9, GIF);
- :class:`RecordVideo` (and :mod:`rlvideo.wrappers`' vector, SB3 and PettingZoo wrappers): record
  while training;
- :func:`probe`, :func:`read_frames`: read a video back; :func:`recover`: rescue a partial file;
- :func:`show`, :func:`show_grid`: play videos or frames inline in a notebook;
- the exceptions, all :class:`RLVideoError` (see :mod:`rlvideo.errors`).

Names backed by PyAV load on first use, so the pure modules (schedules, clips, naming, frames)
can be imported without FFmpeg's libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rlvideo._core.schedules import capped_cubic_video_schedule, every_n
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

if TYPE_CHECKING:
    from rlvideo._core.metadata import VideoMetadata
    from rlvideo.dropin import save_video
    from rlvideo.io.reader import VideoInfo, probe, read_frames
    from rlvideo.io.recovery import recover
    from rlvideo.io.writer import VideoWriter
    from rlvideo.notebook import show, show_grid
    from rlvideo.wrappers.gymnasium import RecordVideo

__version__ = "0.1.0"

__all__ = [
    "EncoderError",
    "InvalidArgumentError",
    "InvalidFrameError",
    "MissingDependencyError",
    "RLVideoError",
    "RecordVideo",
    "RenderModeError",
    "StorageError",
    "VideoExistsError",
    "VideoInfo",
    "VideoMetadata",
    "VideoWriter",
    "WriterClosedError",
    "__version__",
    "capped_cubic_video_schedule",
    "every_n",
    "probe",
    "read_frames",
    "recover",
    "save_video",
    "show",
    "show_grid",
]

_LAZY = {
    "VideoWriter": "rlvideo.io.writer",
    "RecordVideo": "rlvideo.wrappers.gymnasium",
    "VideoMetadata": "rlvideo._core.metadata",
    "save_video": "rlvideo.dropin",
    "VideoInfo": "rlvideo.io.reader",
    "probe": "rlvideo.io.reader",
    "read_frames": "rlvideo.io.reader",
    "recover": "rlvideo.io.recovery",
    "show": "rlvideo.notebook",
    "show_grid": "rlvideo.notebook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rlvideo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
