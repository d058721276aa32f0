"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.schedules`."""

from rlvideo._core.schedules import (
    capped_cubic_video_schedule as capped_cubic_video_schedule,
)
from rlvideo._core.schedules import (
    every_n as every_n,
)

__all__ = [
    "capped_cubic_video_schedule",
    "every_n",
]
