"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo.io.manifest`."""

from rlvideo.io.manifest import (
    MANIFEST as MANIFEST,
)
from rlvideo.io.manifest import (
    merge_into as merge_into,
)
from rlvideo.io.manifest import (
    merge_manifest as merge_manifest,
)
from rlvideo.io.manifest import (
    read_sidecar as read_sidecar,
)

__all__ = [
    "MANIFEST",
    "merge_into",
    "merge_manifest",
    "read_sidecar",
]
