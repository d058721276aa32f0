"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.naming`."""

from rlvideo._core.naming import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo._core.naming import __all__ as __all__
