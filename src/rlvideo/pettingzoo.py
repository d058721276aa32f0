"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.wrappers.pettingzoo`."""

from rlvideo.wrappers.pettingzoo import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo.wrappers.pettingzoo import __all__ as __all__
