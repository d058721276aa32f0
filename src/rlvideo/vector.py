"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.vector`."""

from rlvideo.wrappers.vector import (
    RecordVideo as RecordVideo,
)
from rlvideo.wrappers.vector import (
    VectorOptions as VectorOptions,
)

__all__ = [
    "RecordVideo",
    "VectorOptions",
]
