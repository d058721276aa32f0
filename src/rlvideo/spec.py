"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.spec`."""

from rlvideo._core.spec import (
    MAX_FPS as MAX_FPS,
)
from rlvideo._core.spec import (
    MAX_FRAME_SECONDS as MAX_FRAME_SECONDS,
)
from rlvideo._core.spec import (
    MIN_FPS as MIN_FPS,
)
from rlvideo._core.spec import (
    WriterSpec as WriterSpec,
)
from rlvideo._core.spec import (
    check_duration as check_duration,
)
from rlvideo._core.spec import (
    check_fps as check_fps,
)

__all__ = [
    "MAX_FPS",
    "MAX_FRAME_SECONDS",
    "MIN_FPS",
    "WriterSpec",
    "check_duration",
    "check_fps",
]
