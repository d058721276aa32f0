"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.metadata`."""

from rlvideo._core.metadata import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo._core.metadata import __all__ as __all__
