"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.cli.demo`."""

from rlvideo.cli.demo import *  # noqa: F403 (every public name, as its __all__ lists them)
from rlvideo.cli.demo import __all__ as __all__
