"""Cut clips out of an encoded video without re-encoding.

gym's step trigger makes overlapping clips (every 10 steps, 50 frames each: every frame lands in
five clips). Encoding each clip on its own encodes every frame five times; instead
:func:`rlvideo.save_video` encodes the episode once with a keyframe at every clip boundary and
:func:`cut_segments` copies each clip's packets into its own file. With a closed GOP (x264's
default) every packet between two boundary keyframes, in decode order, shows a frame between
them, so one pass over the packets routes each to the clips that hold its frame.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import av.container
import av.packet
import av.stream

from rlvideo._core.clips import Clip
from rlvideo._core.formats import FORMATS, check_format
from rlvideo._core.naming import partial_name, steps_stream_name
from rlvideo._core.spec import WriterSpec
from rlvideo.errors import EncoderError, StorageError, VideoExistsError
from rlvideo.io._files import claim, keep_as_incomplete, publish_video, release
from rlvideo.io.reader import open_video, video_packets
from rlvideo.io.writer import VideoWriter

__all__ = ["Progress", "Segment", "cut_segments", "encode_once_and_cut", "replaces"]

logger = logging.getLogger("rlvideo.cutting")  # the documented name (README, Logging)

Progress = Callable[[Iterable[Any], "int | None", str], Iterator[Any]]
"""``(frames, total, label) -> frames``: wraps the frames in a progress bar (or does nothing)."""


def encode_once_and_cut(
    frames: Sequence[Any],
    clips: Mapping[Clip, Path],
    spec: WriterSpec,
    *,
    durations: Sequence[float | None] | None = None,
    progress: Progress | None = None,
    taken: Collection[Clip] = (),
) -> list[Path]:
    """Encode the frames the clips span once, a keyframe at every clip boundary, then cut.

    Overlapping clips (gym's step trigger) then cost one encode instead of one per clip. If the
    frames fail midway (a bad frame, Ctrl-C, a full disk), the clips complete in what reached
    the disk are still saved, and the clip in progress is kept as ``<name>.incomplete.<ext>``;
    when there is no room left to cut even one clip, everything recorded is kept as the
    ``.incomplete`` file of the first clip not saved. A failure of the disk is raised as a
    :class:`~rlvideo.StorageError` naming that clip and where its frames are.

    Args:
        frames: Every frame of the episode; clip ``c`` holds ``frames[c.start:c.stop]``.
        clips: Each clip and the path it is saved to, in the order to save them.
        spec: How to encode (not GIF: its frames cannot be cut without re-encoding).
        durations: Seconds per frame, one per frame, or None for ``1 / fps``.
        progress: Wraps the frames in a progress bar.
        taken: The clips whose name was taken when the run started (the caller checked):
            ``overwrite=None`` replaces those files and no other (:func:`replaces`).

    Returns:
        The paths written, in the order of ``clips``.

    Example:
        >>> import numpy as np
        >>> frames = [np.full((16, 16, 3), 10 * i, np.uint8) for i in range(12)]
        >>> clips = {Clip("step", 0, 0, 8): Path("a.mp4"), Clip("step", 4, 4, 12): Path("b.mp4")}
        >>> [p.name for p in encode_once_and_cut(frames, clips, WriterSpec.build(fps=10))]
        ['a.mp4', 'b.mp4']
    """
    source = steps_stream_name(clips[next(iter(clips))])
    writer = VideoWriter.from_spec(source, spec.replace(overwrite=False))
    writer.hold_lock = True  # the stream stays locked until cut: `rlvideo recover` leaves it
    try:
        return _encode_and_cut(frames, clips, spec, writer, durations, progress, taken)
    finally:
        release(writer.held_lock)


def _encode_and_cut(
    frames: Sequence[Any],
    clips: Mapping[Clip, Path],
    spec: WriterSpec,
    writer: VideoWriter,
    durations: Sequence[float | None] | None,
    progress: Progress | None,
    taken: Collection[Clip],
) -> list[Path]:
    """:func:`encode_once_and_cut`, writing the stream with ``writer``."""
    order = list(clips)
    first = order[0].start
    ends = {clip: clip.stop or len(frames) for clip in order}
    boundaries = {clip.start for clip in order} | set(ends.values())
    source = writer.path
    wrap = progress or (lambda frames, total, label: iter(frames))
    kept = _Kept()
    last = max(ends.values())
    try:
        selected = (frames[i] for i in range(first, last))
        for index, frame in enumerate(wrap(selected, last - first, "step clips"), first):
            duration = None if durations is None else durations[index]
            writer.write(frame, duration=duration, keyframe=index in boundaries)
        writer.close()  # a failure here (no room for the final file) keeps what was recorded too
    except BaseException as exc:
        recorded = writer.abort() or writer.kept_as
        if recorded is not None:
            with contextlib.suppress(OSError, EncoderError):  # kept; ``exc`` is what went wrong
                _save_what_was_recorded(recorded, clips, ends, spec, kept, taken)
        _raise_naming_the_clip(exc, source, clips, kept)
        raise
    try:
        _save_what_was_recorded(source, clips, ends, spec, kept, taken)
    except (OSError, EncoderError) as exc:  # the disk filled up while cutting
        _raise_naming_the_clip(exc, source, clips, kept)
        raise
    return [clips[clip] for clip in order]


@dataclass
class _Kept:
    """Where the frames of each clip went, after a failure."""

    where: dict[Path, Path] = field(default_factory=dict)
    """A clip's path -> itself when it was saved whole, else its ``.incomplete`` file."""
    whole_stream: Path | None = None
    """Where the whole stream went when there was no room to cut it."""


def _save_what_was_recorded(
    recorded: Path,
    clips: Mapping[Clip, Path],
    ends: Mapping[Clip, int],
    spec: WriterSpec,
    kept: _Kept,
    taken: Collection[Clip],
) -> None:
    """Cut the clips complete in ``recorded`` to their names, the others it began as incomplete.

    ``recorded`` holds the first frames of the stream the clips are cut from: all of them, or,
    after a failure, what reached the disk, which may be fewer than were written (the encoder's
    last frames, a fragment cut short); a clip counts as complete only when ``recorded`` holds
    all of it. When the clips cannot be cut (the disk is still full, Ctrl-C), ``recorded``
    itself, which needs no more room, is kept as the ``.incomplete`` file of the first clip not
    saved, and the error is raised.

    Args:
        recorded: The stream's file; consumed (moved or removed).
        clips: Each clip and its path, in order.
        ends: Each clip's stop frame, resolved.
        spec: The stream's settings.
        kept: Filled as it goes with where each clip's frames are.
        taken: The clips whose name was taken when the run started.
    """
    order = list(clips)
    first = order[0].start
    staging: dict[Clip, Path] = {}
    try:
        end = first + len(_display_order(recorded))
        complete = [c for c in order if ends[c] <= end]
        staging = {
            c: partial_name(clips[c], "cutting-incomplete")
            for c in order[len(complete) :]
            if c.start < end
        }
        segments = [
            Segment(c.start - first, ends[c] - first, clips[c], replaces(spec, c in taken))
            for c in complete
        ]
        segments += [Segment(c.start - first, end - first, staged) for c, staged in staging.items()]
        saved: list[Path] = []
        refused: dict[Path, Path] = {}
        refusal: VideoExistsError | None = None
        try:
            cut_segments(
                recorded, segments, container_format=spec.format, published=saved,
                refused=refused,
            )  # fmt: skip
        except VideoExistsError as exc:  # every other clip was cut: raised once all are kept
            refusal = exc
        finally:
            kept.where.update({path: path for path in saved if path in clips.values()})
            kept.where.update(refused)
    except BaseException as exc:  # no room to cut, or Ctrl-C: keep it all, it is on disk
        for staged in staging.values():
            staged.unlink(missing_ok=True)
        unsaved = next((clips[c] for c in order if clips[c] not in kept.where), None)
        if unsaved is None:  # every clip was saved before the failure
            recorded.unlink(missing_ok=True)
            raise
        kept.where[unsaved] = kept.whole_stream = keep_as_incomplete(recorded, unsaved)
        logger.warning(
            "could not cut the step clips (%r); kept what was recorded from step %d on as %s",
            exc, order[0].index, kept.whole_stream,
        )  # fmt: skip
        raise
    recorded.unlink(missing_ok=True)
    for clip, staged in staging.items():
        kept.where[clips[clip]] = keep_as_incomplete(staged, clips[clip])
        logger.warning(
            "recording stopped early: kept %s as %s", clips[clip].name, kept.where[clips[clip]]
        )
    if refusal is not None:
        raise refusal


def _raise_naming_the_clip(
    exc: BaseException, source: Path, clips: Mapping[Clip, Path], kept: _Kept
) -> None:
    """Raise the disk's error for the first clip not saved, saying where its frames are.

    For an error that names a hidden working file (the stream ``source``, a clip being cut),
    which the user never asked for, caused by the system (a full disk, a file size limit). Other
    failures (a bad frame, Ctrl-C, a folder that cannot be created) propagate as they are.
    """
    message = str(exc)
    hidden = [source.stem, *(f"{os.sep}.{path.name}." for path in clips.values())]
    if not any(name in message for name in hidden):
        return
    system = next(
        (e for e in (exc.__cause__, exc) if isinstance(e, OSError) and e.errno is not None), None
    )
    unsaved = next((path for path in clips.values() if kept.where.get(path) != path), None)
    if system is None or unsaved is None:
        return
    base = StorageError.from_os_error(system, unsaved)
    where = kept.where.get(unsaved)
    if where is None:
        said = "None of its frames reached the disk."
    elif where == kept.whole_stream:
        first_step = next(iter(clips)).index
        said = (
            f"There was no room to cut it: everything recorded from step {first_step} on was "
            f"kept as {where}."
        )
    else:
        said = f"What was recorded of it was kept as {where}."
    error = StorageError(f"{base} {said}")
    error.errno = base.errno
    raise error from exc


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, stop)`` of the source, by display order, to be saved at ``path``.

    ``overwrite``: whether a file at ``path`` is replaced (with its sidecar and data track).
    """

    start: int
    stop: int
    path: Path
    overwrite: bool = False


def replaces(spec: WriterSpec, taken: bool) -> bool:
    """Whether a clip replaces a file at its name, ``taken`` when the run started.

    ``overwrite=None`` replaces a file that was there then and keeps one that appeared since
    (another process's), as an episode's video does (``Recorder.start``).
    """
    return taken if spec.overwrite is None else spec.overwrite


@dataclass
class _Cut:
    segment: Segment
    partial: Path
    container: av.container.OutputContainer
    stream: av.stream.Stream
    offset: int  # the pts of the segment's first frame: it becomes 0
    lock: int | None  # held until the clip is published or dropped: recover leaves it alone


def cut_segments(
    source: Path,
    segments: list[Segment],
    *,
    container_format: str,
    published: list[Path] | None = None,
    refused: dict[Path, Path] | None = None,
) -> list[Path]:
    """Copy each segment's packets from ``source`` into its own file, timestamps rebased to 0.

    Every segment boundary must be a keyframe in ``source`` (write those frames with
    ``keyframe=True``). Each file is written under a hidden partial name and moved to its final
    name only when complete.

    Args:
        source: The video to cut.
        segments: Its frames to save, each at its path.
        container_format: The container of the files written.
        published: Each path is appended as it is saved: after an error, the segments that
            were saved before it.
        refused: Filled with each path another process took meanwhile (a segment whose
            ``overwrite`` is False): path -> where its frames were kept instead.

    Returns:
        The paths written, in the order of ``segments``.

    Raises:
        EncoderError: If ``source`` cannot be read.
        VideoExistsError: If a segment's path is taken and its ``overwrite`` is False, once
            every other segment is saved (the first such path; where its frames are).
    """
    pts_in_display_order = _display_order(source)
    published = [] if published is None else published
    index_of = {pts: i for i, pts in enumerate(pts_in_display_order)}
    options = dict(FORMATS[check_format(container_format)].finish_options)
    refused = {} if refused is None else refused
    cuts: dict[int, _Cut] = {}
    finished: dict[int, Path] = {}
    try:
        with open_video(source) as in_stream:
            for packet in video_packets(in_stream):
                pts, dts = packet.pts, packet.dts
                if pts is None or dts is None:
                    continue
                frame = index_of[pts]
                for number in [n for n, c in cuts.items() if frame >= c.segment.stop]:
                    # the next keyframe: in a closed GOP every packet of the clip came before it
                    finished[number] = _close_cut(cuts.pop(number), published, refused)
                for number, segment in enumerate(segments):
                    if not segment.start <= frame < segment.stop:
                        continue
                    cut = cuts.get(number)
                    if cut is None:
                        if number in finished:
                            raise EncoderError(
                                f"{source}: frame {frame} arrived after its clip was closed; "
                                "clip boundaries must be keyframes of a closed GOP"
                            )
                        cut = cuts[number] = _open_cut(
                            segment, in_stream, pts_in_display_order, container_format, options
                        )
                    _copy(packet, pts, dts, cut)
        for number in list(cuts):
            finished[number] = _close_cut(cuts.pop(number), published, refused)
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot cut clips from {source}: {exc}") from exc
    finally:
        for cut in cuts.values():  # only after an error: drop what was not finished
            _drop(cut.partial, cut.container, cut.lock)
    if refused:  # the other segments were saved
        taken = next(iter(refused))
        raise VideoExistsError.for_path(taken, kept_as=refused[taken])
    return [finished[n] for n in range(len(segments)) if n in finished]


def _display_order(source: Path) -> list[int]:
    """The pts of every frame of ``source``, in display order."""
    with open_video(source) as stream:
        return sorted(p.pts for p in video_packets(stream) if p.pts is not None)


def _drop(partial: Path, container: av.container.OutputContainer, lock: int | None) -> None:
    """Remove a file being cut, even when closing it fails too (a full disk); release it."""
    try:
        container.close()
    finally:
        partial.unlink(missing_ok=True)
        release(lock)


def _open_cut(
    segment: Segment,
    in_stream: av.stream.Stream,
    pts_in_display_order: list[int],
    container_format: str,
    options: dict[str, str],
) -> _Cut:
    partial = partial_name(segment.path, "cutting")
    lock = claim(partial)  # locked before it holds a byte: recover never takes it
    try:
        container = av.open(str(partial), "w", format=container_format, options=options)
    except BaseException:  # the file exists already (a full disk fails its header)
        partial.unlink(missing_ok=True)
        release(lock)
        raise
    try:
        stream = container.add_stream_from_template(in_stream)
    except BaseException:
        _drop(partial, container, lock)
        raise
    return _Cut(segment, partial, container, stream, pts_in_display_order[segment.start], lock)


def _copy(packet: av.packet.Packet[Any], pts: int, dts: int, cut: _Cut) -> None:
    """Mux ``packet`` into ``cut``, then restore it for the next clip that holds the same frame.

    Muxing rescales a packet's timestamps to the output's time base in place.
    """
    time_base = packet.time_base
    packet.pts, packet.dts = pts - cut.offset, dts - cut.offset
    packet.stream = cut.stream
    try:
        cut.container.mux(packet)
    finally:
        packet.time_base, packet.pts, packet.dts = time_base, pts, dts


def _close_cut(cut: _Cut, published: list[Path], refused: dict[Path, Path]) -> Path:
    """Finish a segment's file and publish it (appended to ``published``); where it is.

    A name another process took meanwhile is not replaced (unless ``overwrite``): the segment
    is kept as ``<name>.incomplete.<ext>``, noted in ``refused`` (its path -> where it is).
    """
    try:
        try:
            cut.container.close()  # a full disk fails here, writing the index
        except BaseException:
            cut.partial.unlink(missing_ok=True)
            raise
        try:
            publish_video(cut.partial, cut.segment.path, overwrite=cut.segment.overwrite)
        except FileExistsError:
            kept_as = refused[cut.segment.path] = keep_as_incomplete(cut.partial, cut.segment.path)
            logger.error("%s", VideoExistsError.for_path(cut.segment.path, kept_as=kept_as))
            return kept_as
    finally:
        release(cut.lock)
    published.append(cut.segment.path)
    logger.info(
        "wrote %s (%d frames, cut without re-encoding)",
        cut.segment.path, cut.segment.stop - cut.segment.start,
    )  # fmt: skip
    return cut.segment.path
