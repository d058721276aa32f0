"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.io.writer`."""

from rlvideo.io.writer import (
    MAX_FPS as MAX_FPS,
)
from rlvideo.io.writer import (
    MAX_FRAME_SECONDS as MAX_FRAME_SECONDS,
)
from rlvideo.io.writer import (
    MIN_FPS as MIN_FPS,
)
from rlvideo.io.writer import (
    VideoWriter as VideoWriter,
)
from rlvideo.io.writer import (
    check_duration as check_duration,
)
from rlvideo.io.writer import (
    check_fps as check_fps,
)
from rlvideo.io.writer import (
    check_target as check_target,
)

__all__ = [
    "MAX_FPS",
    "MAX_FRAME_SECONDS",
    "MIN_FPS",
    "VideoWriter",
    "check_duration",
    "check_fps",
    "check_target",
]
