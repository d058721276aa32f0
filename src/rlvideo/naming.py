"""The import path of rlvideo 0.2: the code lives in :mod:`rlvideo._core.naming`."""

from rlvideo._core.naming import (
    ABORTED_STAGE as ABORTED_STAGE,
)
from rlvideo._core.naming import (
    FINAL_STAGE as FINAL_STAGE,
)
from rlvideo._core.naming import (
    FORMATS as FORMATS,
)
from rlvideo._core.naming import (
    MAX_FILE_NAME_BYTES as MAX_FILE_NAME_BYTES,
)
from rlvideo._core.naming import (
    MIME_TYPES as MIME_TYPES,
)
from rlvideo._core.naming import (
    PARTIAL_TAG as PARTIAL_TAG,
)
from rlvideo._core.naming import (
    VIDEO_SUFFIXES as VIDEO_SUFFIXES,
)
from rlvideo._core.naming import (
    ParsedName as ParsedName,
)
from rlvideo._core.naming import (
    VideoFormat as VideoFormat,
)
from rlvideo._core.naming import (
    check_file_name as check_file_name,
)
from rlvideo._core.naming import (
    check_format as check_format,
)
from rlvideo._core.naming import (
    check_name_prefix as check_name_prefix,
)
from rlvideo._core.naming import (
    clip_file_name as clip_file_name,
)
from rlvideo._core.naming import (
    final_name_of_partial as final_name_of_partial,
)
from rlvideo._core.naming import (
    format_from_path as format_from_path,
)
from rlvideo._core.naming import (
    incomplete_name as incomplete_name,
)
from rlvideo._core.naming import (
    is_damaged_name as is_damaged_name,
)
from rlvideo._core.naming import (
    is_finished_video_name as is_finished_video_name,
)
from rlvideo._core.naming import (
    is_incomplete_name as is_incomplete_name,
)
from rlvideo._core.naming import (
    is_partial_name as is_partial_name,
)
from rlvideo._core.naming import (
    parse_video_name as parse_video_name,
)
from rlvideo._core.naming import (
    partial_name as partial_name,
)
from rlvideo._core.naming import (
    restage as restage,
)
from rlvideo._core.naming import (
    steps_stream_name as steps_stream_name,
)
from rlvideo._core.naming import (
    strip_incomplete as strip_incomplete,
)
from rlvideo._core.naming import (
    visible_steps_name as visible_steps_name,
)

__all__ = [
    "ABORTED_STAGE",
    "FINAL_STAGE",
    "FORMATS",
    "MAX_FILE_NAME_BYTES",
    "MIME_TYPES",
    "PARTIAL_TAG",
    "VIDEO_SUFFIXES",
    "VideoFormat",
    "check_file_name",
    "check_format",
    "check_name_prefix",
    "clip_file_name",
    "final_name_of_partial",
    "format_from_path",
    "incomplete_name",
    "is_damaged_name",
    "is_finished_video_name",
    "is_incomplete_name",
    "is_partial_name",
    "partial_name",
    "restage",
    "steps_stream_name",
    "strip_incomplete",
    "visible_steps_name",
]
__all__ += ["ParsedName", "parse_video_name"]  # in rlvideo._core.naming's order

from rlvideo._core.naming import (  # noqa: E402 (the wrappers' name builders, listed last)
    clip_stem as clip_stem,
)
from rlvideo._core.naming import (  # noqa: E402
    eval_clip_stem as eval_clip_stem,
)
from rlvideo._core.naming import (  # noqa: E402
    step_range_stem as step_range_stem,
)

__all__ += ["clip_stem", "eval_clip_stem", "step_range_stem"]  # in rlvideo._core.naming's order
