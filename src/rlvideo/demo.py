"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.cli.demo`."""

from rlvideo.cli.demo import (
    balancing_policy as balancing_policy,
)
from rlvideo.cli.demo import (
    demo_overlay as demo_overlay,
)
from rlvideo.cli.demo import (
    main as main,
)
from rlvideo.cli.demo import (
    record_demo as record_demo,
)

__all__ = [
    "balancing_policy",
    "demo_overlay",
    "main",
    "record_demo",
]
