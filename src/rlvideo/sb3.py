"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.sb3`."""

from rlvideo.wrappers.sb3 import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo.wrappers.sb3 import __all__ as __all__
