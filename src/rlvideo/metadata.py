"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.metadata`."""

from rlvideo._core.metadata import (
    KeepIf as KeepIf,
)
from rlvideo._core.metadata import (
    OnVideoSaved as OnVideoSaved,
)
from rlvideo._core.metadata import (
    SavedPath as SavedPath,
)
from rlvideo._core.metadata import (
    VideoMetadata as VideoMetadata,
)
from rlvideo._core.metadata import (
    parse_sidecar as parse_sidecar,
)
from rlvideo._core.metadata import (
    read_json as read_json,
)
from rlvideo._core.metadata import (
    resolve_video_path as resolve_video_path,
)
from rlvideo._core.metadata import (
    sidecar_path as sidecar_path,
)
from rlvideo._core.metadata import (
    sidecar_problem as sidecar_problem,
)
from rlvideo._core.metadata import (
    video_name as video_name,
)

__all__ = [
    "KeepIf",
    "OnVideoSaved",
    "SavedPath",
    "VideoMetadata",
    "parse_sidecar",
    "read_json",
    "resolve_video_path",
    "sidecar_path",
    "sidecar_problem",
    "video_name",
]
