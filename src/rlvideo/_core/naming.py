"""File names: gym's naming scheme, the suffix of each format, and the names of unfinished files.

Pure string logic, no file access.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from rlvideo._core.formats import FORMATS as FORMAT_RECORDS
from rlvideo._core.formats import NAMES, VideoFormat, check_format, format_from_path
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "ABORTED_STAGE",
    "FINAL_STAGE",
    "FORMATS",
    "MAX_FILE_NAME_BYTES",
    "MIME_TYPES",
    "PARTIAL_TAG",
    "VIDEO_SUFFIXES",
    "ParsedName",
    "VideoFormat",
    "check_file_name",
    "check_format",
    "check_name_prefix",
    "clip_file_name",
    "clip_stem",
    "eval_clip_stem",
    "final_name_of_partial",
    "format_from_path",
    "incomplete_name",
    "is_damaged_name",
    "is_finished_video_name",
    "is_incomplete_name",
    "is_partial_name",
    "parse_video_name",
    "partial_name",
    "restage",
    "step_range_stem",
    "steps_stream_name",
    "strip_incomplete",
    "visible_steps_name",
]

FORMATS: tuple[VideoFormat, ...] = NAMES
"""The formats rlvideo writes, by name (their records: :data:`rlvideo._core.formats.FORMATS`)."""
VIDEO_SUFFIXES: tuple[str, ...] = tuple(record.suffix for record in FORMAT_RECORDS.values())
"""Their file suffixes: what the gallery, the manifest and ``info`` count as videos."""
MIME_TYPES: Mapping[VideoFormat, str] = {
    name: record.mime_type for name, record in FORMAT_RECORDS.items()
}
"""The MIME type of each format (HTML ``<video>`` sources, notebooks)."""


MAX_FILE_NAME_BYTES = 200
"""The longest video file name accepted, in bytes (UTF-8).

File systems allow 255 bytes per name; rlvideo's hidden working names add up to 34 more
(``.<name>.<token>.cutting-incomplete<suffix>``), and 200 leaves room for them.
"""

_MIN_CLIP_SUFFIX = "-episode-0.webm"  # the least a clip name adds to its prefix (WebM)
_PREFIX = InvalidArgumentError.Term("name_prefix")  # a message's subject (CLI: --name-prefix)


def check_name_prefix(name_prefix: str) -> str:
    """Return ``name_prefix`` if it is a plain file-name prefix, else raise a clear error.

    A prefix holding a path separator could write outside the video folder.

    Example:
        >>> check_name_prefix("../escape")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: name_prefix '../escape' holds a path separator or is '.'/'..'; it must be a plain name (put folders in video_folder)
    """  # noqa: E501
    if not isinstance(name_prefix, str) or not name_prefix:
        raise InvalidArgumentError(
            _PREFIX, f" must be a non-empty string, got {name_prefix!r}", value=name_prefix
        )
    if (
        "/" in name_prefix
        or "\\" in name_prefix
        or "\0" in name_prefix
        or name_prefix in (".", "..")
    ):
        raise InvalidArgumentError(
            _PREFIX,
            f" {name_prefix!r} holds a path separator or is '.'/'..'; it must be a plain name "
            "(put folders in ",
            InvalidArgumentError.Term("video_folder"),
            ")",
            value=name_prefix,
        )
    size = _name_bytes(name_prefix, _PREFIX)
    if size + len(_MIN_CLIP_SUFFIX) > MAX_FILE_NAME_BYTES:
        raise InvalidArgumentError(
            _PREFIX,
            f" {_shorten(name_prefix)} is {size} bytes long; file names are limited to "
            f"{MAX_FILE_NAME_BYTES} bytes, so a prefix may take at most "
            f"{MAX_FILE_NAME_BYTES - len(_MIN_CLIP_SUFFIX)}",
            value=name_prefix,
        )
    return name_prefix


def check_file_name(name: str) -> str:
    """Return ``name`` if a video can be written under it, else raise a clear error.

    The name must be a plain file name (no separator, not ``.`` or ``..``, no NUL), encodable
    for the file system, and at most :data:`MAX_FILE_NAME_BYTES` bytes, so that the hidden
    working files written beside it fit too.

    Example:
        >>> check_file_name("rl-video-episode-0.mp4")
        'rl-video-episode-0.mp4'
        >>> check_file_name("x" * 250 + ".mp4")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: the file name 'xxx...xxx.mp4' is 254 bytes long; video file names are limited to 200 bytes (rlvideo's working files add to it, file systems stop at 255)
    """  # noqa: E501
    if "\0" in name:
        raise InvalidArgumentError(f"the file name {_shorten(name)} holds a NUL character")
    if not name or name in (".", "..") or "/" in name:
        raise InvalidArgumentError(
            f"{name!r} is not a file name: the video's path must end in a file name such as run.mp4"
        )
    size = _name_bytes(name, "the file name")
    if size > MAX_FILE_NAME_BYTES:
        raise InvalidArgumentError(
            f"the file name {_shorten(name)} is {size} bytes long; video file names are limited "
            f"to {MAX_FILE_NAME_BYTES} bytes (rlvideo's working files add to it, file systems "
            "stop at 255)"
        )
    return name


def _name_bytes(name: str, what: str) -> int:
    """The length of ``name`` on disk, or a clear error if the file system cannot encode it.

    ``what`` names it in the message: an :class:`~rlvideo.errors.RLVideoError.Term` for an
    argument.
    """
    try:
        return len(os.fsencode(name))
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            what,
            f" {_shorten(name)} holds {name[exc.start : exc.end]!r}, which cannot be written in "
            "a file name (a lone surrogate); use plain text",
            value=name,
        ) from None


def _shorten(name: str) -> str:
    text = repr(name)
    return text if len(text) <= 64 else f"{text[:41]}...{text[-19:]}"


def clip_file_name(name_prefix: str, kind: str, index: int, video_format: VideoFormat) -> str:
    """Gym's file name for an episode or step video.

    Example:
        >>> clip_file_name("rl-video", "episode", 8, "mp4")
        'rl-video-episode-8.mp4'
        >>> clip_file_name("rl-video", "step", 120, "gif")
        'rl-video-step-120.gif'
    """
    return f"{clip_stem(name_prefix, kind, index)}.{video_format}"


def incomplete_name(final: Path, attempt: int = 0) -> Path:
    """Where a video cut short by an exception is kept: ``<stem>.incomplete[-N]<suffix>``.

    Example:
        >>> incomplete_name(Path("v/run.mp4")).as_posix()
        'v/run.incomplete.mp4'
        >>> incomplete_name(Path("v/run.mp4"), 2).as_posix()
        'v/run.incomplete-2.mp4'
    """
    tag = "incomplete" if attempt == 0 else f"incomplete-{attempt}"
    return final.with_name(f"{final.stem}.{tag}{final.suffix}")


_INCOMPLETE_STEM = re.compile(r"\.incomplete(-\d+)?$")  # what incomplete_name() appends


def is_incomplete_name(name: str | PurePath) -> bool:
    """True for a video kept after an error (see :func:`incomplete_name`).

    Example:
        >>> is_incomplete_name("run.incomplete.mp4"), is_incomplete_name("run.incomplete-2.webm")
        (True, True)
        >>> is_incomplete_name("run.mp4"), is_incomplete_name("incomplete.mp4")
        (False, False)
    """
    return bool(_INCOMPLETE_STEM.search(PurePath(name).stem))


def strip_incomplete(stem: str) -> str:
    """The stem a video kept after an error would have had when finished.

    Example:
        >>> strip_incomplete("rl-video-episode-3.incomplete-1")
        'rl-video-episode-3'
    """
    return _INCOMPLETE_STEM.sub("", stem)


_DAMAGED_STEM = re.compile(r"\.damaged(-\d+)?$")  # what recovery keeps when no frame decodes


def is_damaged_name(name: str | PurePath) -> bool:
    """True for a file ``rlvideo recover`` could read no frame from (``<name>.damaged[-N].<ext>``).

    Example:
        >>> is_damaged_name("run.damaged.mp4"), is_damaged_name("run.damaged-1.gif")
        (True, True)
        >>> is_damaged_name("run.mp4"), is_damaged_name("damaged.mp4")
        (False, False)
    """
    return bool(_DAMAGED_STEM.search(PurePath(name).stem))


def is_finished_video_name(name: str | PurePath) -> bool:
    """True for the name of a finished video: a video suffix, not hidden, incomplete or damaged.

    Example:
        >>> names = ("a.mp4", "a.MP4", ".a.mp4", "a.incomplete.gif", "a.damaged.mp4", "a.json")
        >>> [is_finished_video_name(n) for n in names]
        [True, True, False, False, False, False]
    """
    path = PurePath(name)
    return (
        path.suffix.lower() in VIDEO_SUFFIXES
        and not path.name.startswith(".")
        and not is_incomplete_name(path)
        and not is_damaged_name(path)
    )


PARTIAL_TAG = ".partial"
"""Every file being written carries this before its suffix (and starts with a dot)."""


def partial_name(final: Path, stage: str = "partial") -> Path:
    """A hidden, unique name beside ``final`` for a file still being written.

    Example:
        >>> name = partial_name(Path("v/run.mp4")).name
        >>> name.startswith(".run.mp4.") and name.endswith(".partial.mp4")
        True
    """
    token = secrets.token_hex(4)
    return final.with_name(f".{final.name}.{token}.{stage}{final.suffix}")


FINAL_STAGE = "final"
"""The stage of a finished video (MP4: remuxed) waiting to be published under its final name."""
ABORTED_STAGE = "aborted"
"""The stage of a video stopped early, waiting to be kept as ``<name>.incomplete.<ext>``."""


def restage(working: Path, stage: str) -> Path:
    """The name of the next stage of a hidden working file: only its stage tag changes.

    Example:
        >>> restage(Path("v/.my.partial.mp4.0a1b2c3d.partial.mp4"), "final").name
        '.my.partial.mp4.0a1b2c3d.final.mp4'
    """
    head, _, suffix = working.name.rsplit(".", 2)
    return working.with_name(f"{head}.{stage}.{suffix}")


def steps_stream_name(first_clip: Path) -> Path:
    """A hidden, unique name for the stream step clips are cut from, beside the first clip.

    Example:
        >>> name = steps_stream_name(Path("v/rl-video-step-0.mp4")).name
        >>> name.startswith(".rl-video-step-0.steps-") and name.endswith(".mp4")
        True
    """
    token = secrets.token_hex(4)
    return first_clip.with_name(f".{first_clip.stem}.steps-{token}{first_clip.suffix}")


_VIDEO_SUFFIX = "|".join(re.escape(suffix) for suffix in VIDEO_SUFFIXES)  # a regex of them
_STEPS_STREAM = re.compile(
    rf"^\.(?P<stem>.+)\.steps-[0-9a-f]+(?:\.incomplete(?:-\d+)?)?(?P<suffix>{_VIDEO_SUFFIX})$"
)  # steps_stream_name(), and where an error kept it: incomplete_name() of that


def visible_steps_name(path: Path) -> Path | None:
    """The visible name of a hidden step-clip stream (``<first clip>.steps.<ext>``), else None.

    Example:
        >>> visible_steps_name(Path("v/.rl-video-step-0.steps-0a1b2c3d.incomplete.mp4")).name
        'rl-video-step-0.steps.mp4'
        >>> visible_steps_name(Path("v/rl-video-step-0.mp4")) is None
        True
    """
    match = _STEPS_STREAM.match(path.name)
    return None if match is None else path.with_name(f"{match['stem']}.steps{match['suffix']}")


def is_partial_name(path: Path) -> bool:
    """True for the hidden files a writer killed mid-video leaves behind.

    Example:
        >>> is_partial_name(partial_name(Path("run.mp4")))
        True
        >>> is_partial_name(Path("run.mp4"))
        False
    """
    return path.name.startswith(".") and path.stem.endswith(PARTIAL_TAG)


def final_name_of_partial(path: Path) -> Path:
    """The final name a hidden partial file was meant to get.

    Example:
        >>> final_name_of_partial(partial_name(Path("v/run.mp4"))).as_posix()
        'v/run.mp4'
    """
    if not is_partial_name(path):
        raise InvalidArgumentError(f"{path} is not a partial file left by rlvideo")
    return path.with_name(path.name[1:].rsplit(".", 3)[0])


# -- reading a name back ---------------------------------------------------------------------------


# What a clip name adds to its prefix, read from the end: the clip (clip_file_name: -episode-3,
# -step-120; SB3's -step-0-to-step-200), then -env-2 (per-env vector videos), then -w1 or -w1-v0
# (Ray workers, rlvideo.distributed.worker_prefix).
_CLIP_IN_NAME = re.compile(r"-(?:episode-(?P<episode>\d+)|step-(?P<step>\d+)(?:-to-step-\d+)?)$")
_ENV_IN_NAME = re.compile(r"-env-(\d+)$")
_WORKER_IN_NAME = re.compile(r"-w(\d+)(?:-v\d+)?$")


@dataclass(frozen=True)
class ParsedName:
    """What a video's file name says about it (:func:`parse_video_name`); None: not in the name.

    Attributes:
        prefix: The name prefix, the run's name: what comes before ``-w<k>``, ``-env-<i>`` and
            the clip part (the whole stem when nothing else is left).
        episode: ``N`` of ``-episode-N``.
        step: The first step of a step clip, ``N`` of ``-step-N`` (or ``-step-N-to-step-M``).
        env_index: ``i`` of ``-env-i`` (one video per sub-env).
        worker: ``k`` of ``-w<k>`` (a Ray worker's videos).
        incomplete: A video kept after an error (``<name>.incomplete[-N].<ext>``).
    """

    prefix: str
    episode: int | None = None
    step: int | None = None
    env_index: int | None = None
    worker: int | None = None
    incomplete: bool = False


def parse_video_name(name: str | PurePath) -> ParsedName:
    """Read back the parts the wrappers build a video's file name from (gym's scheme and ours).

    ``name`` is a file name (a video suffix is dropped) or a stem; only its last part is read.

    Example:
        >>> parse_video_name("ppo-w2-v0-episode-8.mp4")
        ParsedName(prefix='ppo', episode=8, step=None, env_index=None, worker=2, incomplete=False)
        >>> parse_video_name("cartpole-env-3-step-120.incomplete.webm")
        ParsedName(prefix='cartpole', episode=None, step=120, env_index=3, worker=None, incomplete=True)
        >>> parse_video_name("rl-video-step-0-to-step-200").prefix
        'rl-video'
        >>> parse_video_name(clip_file_name("rl-video", "episode", 4, "gif")).episode
        4
    """  # noqa: E501 (doctest output stays on one line)
    path = PurePath(name)
    stem = path.stem if path.suffix.lower() in VIDEO_SUFFIXES else path.name
    finished = strip_incomplete(stem)
    clip = _CLIP_IN_NAME.search(finished)
    prefix = finished[: clip.start()] if clip else finished
    env = _ENV_IN_NAME.search(prefix)
    if env:
        prefix = prefix[: env.start()]
    worker = _WORKER_IN_NAME.search(prefix)
    if worker:
        prefix = prefix[: worker.start()]
    return ParsedName(
        prefix=prefix or stem,
        episode=_group_int(clip, "episode"),
        step=_group_int(clip, "step"),
        env_index=_group_int(env, 1),
        worker=_group_int(worker, 1),
        incomplete=finished != stem,
    )


def _group_int(match: re.Match[str] | None, group: int | str) -> int | None:
    text = None if match is None else match.group(group)
    return None if text is None else int(text)


# -- the names the wrappers build ------------------------------------------------------------------


def clip_stem(name_prefix: str, kind: str, index: int, *, env_index: int | None = None) -> str:
    """The stem of a wrapper's episode or step video: :func:`clip_file_name` without the suffix.

    ``env_index`` names the sub-env of a per-env vector video (``-env-<k>`` before the clip).

    Example:
        >>> clip_stem("rl-video", "episode", 8), clip_stem("rl-video", "step", 40, env_index=2)
        ('rl-video-episode-8', 'rl-video-env-2-step-40')
    """
    env = "" if env_index is None else f"-env-{env_index}"
    return f"{name_prefix}{env}-{kind}-{index}"


def step_range_stem(name_prefix: str, first_step: int, last_step: int) -> str:
    """SB3's ``VecVideoRecorder`` stem: the video's first and last global steps.

    Example:
        >>> step_range_stem("rl-video", 0, 200)
        'rl-video-step-0-to-step-200'
    """
    return f"{name_prefix}-step-{first_step}-to-step-{last_step}"


def eval_clip_stem(name_prefix: str, step: int, episode: int) -> str:
    """An evaluation episode's stem: the training step it ran at, then the episode's number.

    Example:
        >>> eval_clip_stem("eval", 256, 0)
        'eval-step-256-episode-0'
    """
    return f"{name_prefix}-step-{step}-episode-{episode}"
