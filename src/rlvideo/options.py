"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.options`."""

from rlvideo._core.options import (
    DEFAULTS as DEFAULTS,
)
from rlvideo._core.options import (
    RecordingOptions as RecordingOptions,
)
from rlvideo._core.options import (
    constructor_args as constructor_args,
)
from rlvideo._core.options import (
    did_you_mean as did_you_mean,
)
from rlvideo._core.options import (
    recorder_options as recorder_options,
)

__all__ = [
    "DEFAULTS",
    "RecordingOptions",
    "constructor_args",
    "did_you_mean",
    "recorder_options",
]
