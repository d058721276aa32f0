"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.io.recovery`."""

from rlvideo.io.recovery import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo.io.recovery import __all__ as __all__
