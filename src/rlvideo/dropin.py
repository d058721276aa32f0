"""The drop-in ``save_video``: gym's and Gymnasium's function, on rlvideo's streaming writer.

Clip planning lives in :mod:`rlvideo._core.clips`, file names in :mod:`rlvideo._core.naming`,
where the files go (a folder, or an fsspec URL) in :mod:`rlvideo.storage`; this module only
connects them to :class:`~rlvideo.VideoWriter`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast, overload

from rlvideo._core.clips import (
    Clip,
    check_video_length,
    plan_episode_clip,
    plan_step_clips,
    resolve_triggers,
)
from rlvideo._core.formats import FORMATS
from rlvideo._core.frames import frame_sequence, is_frame
from rlvideo._core.naming import check_name_prefix, clip_file_name
from rlvideo._core.optional import import_optional
from rlvideo._core.spec import WriterSpec, check_duration
from rlvideo.errors import InvalidArgumentError, InvalidFrameError, RLVideoError
from rlvideo.io._cutting import Progress, encode_once_and_cut, replaces
from rlvideo.io.writer import VideoWriter
from rlvideo.storage import Destination, open_destination, publish_all

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["SaveVideoOptions", "save_video"]

logger = logging.getLogger(__name__)

_MOVIEPY_ONLY = ("with_mask", "is_mask", "load_images")


class SaveVideoOptions(TypedDict, total=False):
    """rlvideo's additions to gym's ``save_video``, keyword-only, after gym's arguments.

    Attributes:
        fps: Frames per second. When neither ``fps`` nor ``durations`` is given: 30.
        durations: Seconds per frame, one per frame (moviepy's ``durations``); honoured exactly
            as per-frame timestamps.
        format: ``"mp4"`` (H.264, default), ``"webm"`` (VP9) or ``"gif"``.
        codec: An FFmpeg encoder name instead of the format's default.
        crf: Constant-quality level, lower is better (libx264 default 23).
        overwrite: A video whose name is taken: None (default) replaces it once the new one
            is final (with its sidecar and data track; said once per folder), as a re-run of a
            script or notebook cell expects; True replaces it quietly; False raises
            :class:`~rlvideo.errors.VideoExistsError` before anything is written.
        storage_options: fsspec options for a URL ``video_folder``: credentials, endpoint, ...
            (e.g. ``{"key": ..., "secret": ..., "client_kwargs": {"endpoint_url": ...}}``).
        float_range: The values of black and white in float frames: ``(0, 1)`` (default), or
            ``(0, 255)`` for floats holding 0-255 data.
    """

    fps: float | None
    durations: Sequence[float | None] | None
    format: str  # the word users know from PyAV and mediapy
    codec: str | None
    crf: int | None
    overwrite: bool | None
    storage_options: dict[str, Any] | None
    float_range: tuple[float, float]


_DEFAULTS: SaveVideoOptions = {
    "fps": None, "durations": None, "format": "mp4", "codec": None, "crf": None,
    "overwrite": None, "storage_options": None, "float_range": (0.0, 1.0),
}  # fmt: skip


# Overloads say what a ``Path`` folder gives; the implementation's signature is the reference.
@overload
def save_video(
    frames: Iterable[Any], video_folder: os.PathLike[str], *args: Any, **kwargs: Any
) -> list[Path]: ...


@overload
def save_video(
    frames: Iterable[Any], video_folder: str, *args: Any, **kwargs: Any
) -> list[Path] | list[str]: ...


def save_video(
    frames: Iterable[Any],
    video_folder: str | os.PathLike[str],
    episode_trigger: Callable[[int], bool] | None = None,
    step_trigger: Callable[[int], bool] | None = None,
    video_length: int | None = None,
    name_prefix: str = "rl-video",
    episode_index: int = 0,
    step_starting_index: int = 0,
    save_logger: str | None = None,
    **options: Unpack[SaveVideoOptions],
) -> list[Path] | list[str]:
    """Save the videos gym's ``save_video`` would save, streaming and exact.

    The arguments up to ``save_logger`` are gym's and Gymnasium's, with the same meaning, file
    names and trigger rules; rlvideo's additions are keyword-only (:class:`SaveVideoOptions`).

    Args:
        frames: The episode's frames, the reset frame first: a list, an ``(N, H, W, C)`` array,
            or any iterable (a generator is streamed, never held in memory, when only an episode
            video is asked for).
        video_folder: Where the videos go: a folder, created if needed, or an fsspec URL such
            as ``s3://bucket/videos`` (see :mod:`rlvideo.storage`: each video is encoded to a
            local staging folder and uploaded once final).
        episode_trigger: ``episode_index -> bool``: write ``{name_prefix}-episode-{i}``.
        step_trigger: ``step_index -> bool``: write ``{name_prefix}-step-{s}`` starting at that
            step (frame 0 is the reset frame and is skipped). Clips may overlap.
        video_length: Frames per video; the whole episode (or the rest of it) when None.
        name_prefix: Start of every file name.
        episode_index: The index of this episode, for the episode trigger and the name.
        step_starting_index: The step index of ``frames[1]``.
        save_logger: ``"bar"`` shows a tqdm progress bar per video (``rlvideo[progress]``);
            None is silent.
        **options: rlvideo's additions (fps, durations, format, codec, crf, overwrite,
            storage_options, float_range): see :class:`SaveVideoOptions`. Any other keyword
            (moviepy's ``with_mask``, a typo) is a clear error rather than a TypeError.

    Returns:
        Where the videos were saved, episode video first, then step videos in step order: for a
        folder, their absolute paths (:class:`~pathlib.Path`); for a URL, their URLs
        (``str``, e.g. ``"s3://bucket/videos/rl-video-episode-0.mp4"``). A type checker knows
        a ``Path`` folder gives paths; a ``str`` may be either, until it is run.

    Raises:
        InvalidArgumentError: For a bad trigger, fps, durations, video_length, format, prefix
            or storage_options.
        InvalidFrameError: For empty frames or a frame that cannot become video.
        VideoExistsError: If a video's name is taken and ``overwrite`` is False.
        StorageError: If the folder cannot be created or an upload fails (the local file is
            kept; the message names it).

    Example:
        >>> import numpy as np
        >>> frames = [np.full((64, 64, 3), 8 * i, np.uint8) for i in range(20)]
        >>> paths = save_video(frames, "videos", step_trigger=lambda s: s % 10 == 0, fps=10)
        >>> [p.name for p in paths]
        ['rl-video-step-0.mp4', 'rl-video-step-10.mp4']
        >>> [p.name for p in save_video(frames, "videos", episode_index=8, fps=10)]
        ['rl-video-episode-8.mp4']
    """
    settings = _with_defaults(options)
    fps, durations, overwrite = settings["fps"], settings["durations"], settings["overwrite"]
    episode_trigger, step_trigger = resolve_triggers(episode_trigger, step_trigger)
    video_length = check_video_length(video_length)
    name_prefix = check_name_prefix(name_prefix)
    episode_index = _check_index("episode_index", episode_index)
    step_starting_index = _check_index("step_starting_index", step_starting_index)
    if fps is not None and durations is not None:
        raise InvalidArgumentError("pass fps or durations, not both (durations set every frame)")
    spec = WriterSpec.build(
        format=settings["format"], fps=30 if fps is None else fps, codec=settings["codec"],
        crf=settings["crf"], overwrite=overwrite, float_range=settings["float_range"],
    )  # fmt: skip
    progress = _progress_factory(save_logger)

    if isinstance(frames, (str, bytes)) or not (isinstance(frames, Iterable) or is_frame(frames)):
        raise InvalidFrameError(
            "frames must be a list, an (N, H, W, C) array or an iterable of frames, "
            f"got {type(frames).__name__}"
        )
    streamed = step_trigger is None and durations is None
    if not (streamed and not isinstance(frames, Sequence) and not is_frame(frames)):
        frames = frame_sequence(frames)
    if durations is not None:
        durations = _check_durations(durations, len(frames))  # type: ignore[arg-type]

    clips: list[Clip] = []
    episode_clip = plan_episode_clip(episode_trigger, episode_index, video_length)
    if episode_clip is not None:
        clips.append(episode_clip)
    if step_trigger is not None:
        frame_count = len(frames)  # type: ignore[arg-type]
        clips += plan_step_clips(step_trigger, frame_count, step_starting_index, video_length)
    if not clips:
        return []

    destination = open_destination(video_folder, settings["storage_options"])
    names = {
        clip: clip_file_name(name_prefix, clip.kind, clip.index, spec.format) for clip in clips
    }
    taken = {  # every name is checked before the first frame is written (not the env loop)
        clip
        for clip, name in names.items()
        if destination.check_free(name, overwrite=overwrite, wait=True)
    }  # overwrite=None replaces these and no file another process creates meanwhile
    with destination:
        destination.prepare()
        paths = {clip: destination.staging_path(name) for clip, name in names.items()}
        try:
            written = _encode(frames, clips, paths, durations, progress, spec, taken)
        except BaseException:
            if destination.remote:
                _salvage(destination, list(paths.values()), overwrite)
            raise
        return cast(
            "list[Path] | list[str]", publish_all(destination, written, overwrite=overwrite)
        )


def _with_defaults(options: SaveVideoOptions) -> SaveVideoOptions:
    """Every option, defaults filled in; an unknown keyword is an error that says why."""
    for key in options:
        if key in _DEFAULTS:
            continue
        hint = " (moviepy-only; rlvideo does not need it)" if key in _MOVIEPY_ONLY else ""
        raise InvalidArgumentError(
            f"save_video got an unexpected keyword argument {key!r}{hint}. It takes gym's "
            f"arguments plus {', '.join(list(_DEFAULTS)[:-1])} and {list(_DEFAULTS)[-1]}."
        )
    return {**_DEFAULTS, **options}


def _encode(
    frames: Iterable[Any],
    clips: list[Clip],
    paths: dict[Clip, Path],
    durations: Sequence[float | None] | None,
    progress: Progress,
    spec: WriterSpec,
    taken: set[Clip],
) -> list[Path]:
    """Write every clip to its (local) path; return the paths in the order of ``clips``.

    ``taken``: the clips whose name was taken when the run started, replaced if
    ``overwrite=None`` (:func:`~rlvideo.io._cutting.replaces`).
    """
    step_clips = [clip for clip in clips if clip.kind == "step"]
    cut_together = step_clips if FORMATS[spec.format].cuttable and len(step_clips) > 1 else []
    written = []
    for clip in clips:
        if clip in cut_together:
            continue
        selected, total = _select(frames, clip)
        clip_spec = spec.replace(overwrite=replaces(spec, clip in taken))
        with VideoWriter.from_spec(paths[clip], clip_spec) as writer:
            for offset, frame in enumerate(progress(selected, total, writer.path.name)):
                duration = None if durations is None else durations[clip.start + offset]
                writer.write(frame, duration=duration)
        written.append(writer.path)
    if cut_together:
        assert isinstance(frames, Sequence)  # step clips made frames a sequence
        clip_paths = {clip: paths[clip] for clip in cut_together}
        written += encode_once_and_cut(
            frames, clip_paths, spec, durations=durations, progress=progress, taken=taken
        )
    return written


def _salvage(destination: Destination, paths: list[Path], overwrite: bool | None) -> None:
    """After a failure, upload what was recorded: finished clips and ``.incomplete`` ones.

    Whatever cannot be uploaded stays in the staging folder (logged); the original error is
    the one raised.
    """
    folder = paths[0].parent
    recorded = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    try:
        publish_all(destination, recorded, overwrite=overwrite)
    except RLVideoError as exc:
        logger.error("after the failure, some videos could not be uploaded either: %s", exc)


def _select(frames: Iterable[Any], clip: Clip) -> tuple[Iterable[Any], int | None]:
    """The clip's frames, and how many there are when that is known."""
    if isinstance(frames, Sequence):
        stop = len(frames) if clip.stop is None else min(clip.stop, len(frames))
        return (frames[i] for i in range(clip.start, stop)), stop - clip.start
    total = None if clip.stop is None else clip.stop - clip.start
    return islice(frames, clip.start, clip.stop), total


def _check_durations(durations: Sequence[float | None], frame_count: int) -> Sequence[float | None]:
    """Every duration checked before any frame is written, so a bad one leaves nothing behind."""
    durations = list(durations)
    if len(durations) != frame_count:
        raise InvalidArgumentError(
            f"durations has {len(durations)} entries for {frame_count} frames; give one per frame"
        )
    return [None if d is None else check_duration(d, i) for i, d in enumerate(durations)]


def _check_index(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidArgumentError(f"{name} must be an int, got {value!r}")
    return int(value)


def _progress_factory(save_logger: Any) -> Progress:
    if save_logger is None:
        return lambda frames, total, name: iter(frames)
    if save_logger != "bar":
        raise InvalidArgumentError(
            f'save_logger must be "bar" (a progress bar) or None (silent), got {save_logger!r}'
        )
    tqdm = import_optional("tqdm", "progress", feature='save_logger="bar"').tqdm

    def bar(frames: Iterable[Any], total: int | None, name: str) -> Iterator[Any]:
        return iter(tqdm(frames, desc=name, total=total, unit="frame", leave=False))

    return bar
