"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.schedules`."""

from rlvideo._core.schedules import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo._core.schedules import __all__ as __all__
