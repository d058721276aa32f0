"""Wrappers that record while you train: Gymnasium, vector envs, PettingZoo and SB3.

- :class:`RecordVideo` (:mod:`rlvideo.wrappers.gymnasium`): Gymnasium's ``RecordVideo``, drop-in;
- :mod:`rlvideo.wrappers.vector`: ``RecordVideo`` for vector envs, one video per sub-env;
- :mod:`rlvideo.wrappers.pettingzoo`: AEC and parallel PettingZoo envs;
- :mod:`rlvideo.wrappers.sb3`: ``VecVideoRecorder`` and ``EvalVideoCallback`` for Stable-Baselines3.

Each module imports its framework on first use, so importing this package needs none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlvideo.wrappers.gymnasium import (
        RecordVideo,
        check_render_mode,
        check_wrapper_video_length,
        gymnasium_settings,
    )

__all__ = ["RecordVideo", "check_render_mode", "check_wrapper_video_length", "gymnasium_settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("rlvideo.wrappers.gymnasium"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rlvideo.wrappers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
