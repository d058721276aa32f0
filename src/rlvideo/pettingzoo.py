"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.pettingzoo`."""

from rlvideo.wrappers.pettingzoo import (
    AECRecordVideo as AECRecordVideo,
)
from rlvideo.wrappers.pettingzoo import (
    ParallelRecordVideo as ParallelRecordVideo,
)
from rlvideo.wrappers.pettingzoo import (
    RecordVideo as RecordVideo,
)

__all__ = [
    "AECRecordVideo",
    "ParallelRecordVideo",
    "RecordVideo",
]
