"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.io.reader`."""

from rlvideo.io.reader import (
    VideoInfo as VideoInfo,
)
from rlvideo.io.reader import (
    probe as probe,
)
from rlvideo.io.reader import (
    read_frames as read_frames,
)

__all__ = [
    "VideoInfo",
    "probe",
    "read_frames",
]
