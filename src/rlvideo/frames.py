"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.frames`."""

from rlvideo._core.frames import (
    DEFAULT_FLOAT_RANGE as DEFAULT_FLOAT_RANGE,
)
from rlvideo._core.frames import (
    Frame as Frame,
)
from rlvideo._core.frames import (
    FrameConverter as FrameConverter,
)
from rlvideo._core.frames import (
    PixelLayout as PixelLayout,
)
from rlvideo._core.frames import (
    check_float_range as check_float_range,
)
from rlvideo._core.frames import (
    frame_sequence as frame_sequence,
)
from rlvideo._core.frames import (
    is_frame as is_frame,
)
from rlvideo._core.frames import (
    is_minigrid_symbolic as is_minigrid_symbolic,
)
from rlvideo._core.frames import (
    layout_of_converted as layout_of_converted,
)

__all__ = [
    "DEFAULT_FLOAT_RANGE",
    "Frame",
    "FrameConverter",
    "PixelLayout",
    "check_float_range",
    "frame_sequence",
    "is_frame",
    "is_minigrid_symbolic",
    "layout_of_converted",
]
