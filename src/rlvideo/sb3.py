"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.sb3`."""

from rlvideo.wrappers.sb3 import (
    EvalVideoCallback as EvalVideoCallback,
)
from rlvideo.wrappers.sb3 import (
    VecVideoRecorder as VecVideoRecorder,
)

__all__ = [
    "EvalVideoCallback",
    "VecVideoRecorder",
]
