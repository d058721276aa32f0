"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.vector`."""

from rlvideo.wrappers.vector import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo.wrappers.vector import __all__ as __all__
