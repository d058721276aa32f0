"""Cut clips out of an encoded video without re-encoding.

gym's step trigger makes overlapping clips (every 10 steps, 50 frames each: every frame lands in
five clips). Encoding each clip on its own encodes every frame five times; instead
:func:`rlvideo.save_video` encodes the episode once with a keyframe at every clip boundary and
:func:`cut_segments` copies each clip's packets into its own file. With a closed GOP (x264's
default) every packet between two boundary keyframes, in decode order, shows a frame between
them, so one pass over the packets routes each to the clips that hold its frame.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.container
import av.packet
import av.stream

from rlvideo._clips import Clip
from rlvideo._files import keep_as_incomplete, publish
from rlvideo.encoder import VideoWriter
from rlvideo.errors import EncoderError
from rlvideo.naming import partial_name
from rlvideo.spec import WriterSpec

__all__ = ["Progress", "Segment", "cut_segments", "encode_once_and_cut"]

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
) -> list[Path]:
    """Encode the frames the clips span once, a keyframe at every clip boundary, then cut.

    Overlapping clips (gym's step trigger) then cost one encode instead of one per clip. If the
    frames fail midway (a bad frame, Ctrl-C), the clips already complete are still saved, and
    the clip in progress is kept as ``<name>.incomplete.<ext>``.

    Args:
        frames: Every frame of the episode; clip ``c`` holds ``frames[c.start:c.stop]``.
        clips: Each clip and the path it is saved to, in the order to save them.
        spec: How to encode (not GIF: its frames cannot be cut without re-encoding).
        durations: Seconds per frame, one per frame, or None for ``1 / fps``.
        progress: Wraps the frames in a progress bar.

    Returns:
        The paths written, in the order of ``clips``.

    Example:
        >>> import numpy as np
        >>> frames = [np.full((16, 16, 3), 10 * i, np.uint8) for i in range(12)]
        >>> clips = {Clip("step", 0, 0, 8): Path("a.mp4"), Clip("step", 4, 4, 12): Path("b.mp4")}
        >>> [p.name for p in encode_once_and_cut(frames, clips, WriterSpec.build(fps=10))]
        ['a.mp4', 'b.mp4']
    """
    order = list(clips)
    first = order[0].start
    last = max(clip.stop or len(frames) for clip in order)
    boundaries = {clip.start for clip in order} | {clip.stop or len(frames) for clip in order}
    path = clips[order[0]]
    source = path.parent / f".{path.stem}.steps-{secrets.token_hex(4)}.{spec.format}"
    writer = VideoWriter.from_spec(source, spec.replace(overwrite=False))
    wrap = progress or (lambda frames, total, label: iter(frames))
    try:
        selected = (frames[i] for i in range(first, last))
        for index, frame in enumerate(wrap(selected, last - first, "step clips"), first):
            duration = None if durations is None else durations[index]
            writer.write(frame, duration=duration, keyframe=index in boundaries)
    except BaseException:
        kept = writer.abort()
        if kept is not None:
            _save_what_was_recorded(kept, clips, first, first + writer.frames_written, spec)
        raise
    writer.close()
    try:
        segments = [
            Segment(c.start - first, (c.stop or len(frames)) - first, p) for c, p in clips.items()
        ]
        return cut_segments(
            source, segments, container_format=spec.format, overwrite=spec.overwrite
        )
    finally:
        source.unlink(missing_ok=True)


def _save_what_was_recorded(
    recorded: Path, clips: Mapping[Clip, Path], first: int, end: int, spec: WriterSpec
) -> None:
    """After a failure at frame ``end``: complete clips to their names, the rest as incomplete."""
    try:
        complete = [c for c in clips if c.stop is not None and c.stop <= end]
        started = [c for c in clips if c.start < end and c not in complete]
        staging = {c: partial_name(clips[c], "cutting-incomplete") for c in started}
        segments = [Segment(c.start - first, (c.stop or end) - first, clips[c]) for c in complete]
        segments += [Segment(c.start - first, end - first, staging[c]) for c in started]
        cut_segments(recorded, segments, container_format=spec.format, overwrite=spec.overwrite)
        for clip, staged in staging.items():
            kept = keep_as_incomplete(staged, clips[clip])
            logger.warning("recording stopped early: kept %s as %s", clips[clip].name, kept)
    finally:
        recorded.unlink(missing_ok=True)


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, stop)`` of the source, by display order, to be saved at ``path``."""

    start: int
    stop: int
    path: Path


@dataclass
class _Cut:
    segment: Segment
    partial: Path
    container: av.container.OutputContainer
    stream: av.stream.Stream
    offset: int  # the pts of the segment's first frame: it becomes 0


def cut_segments(
    source: Path, segments: list[Segment], *, container_format: str, overwrite: bool
) -> list[Path]:
    """Copy each segment's packets from ``source`` into its own file, timestamps rebased to 0.

    Every segment boundary must be a keyframe in ``source`` (write those frames with
    ``keyframe=True``). Each file is written under a hidden partial name and moved to its final
    name only when complete.

    Returns:
        The paths written, in the order of ``segments``.

    Raises:
        EncoderError: If ``source`` cannot be read.
        FileExistsError: If a segment's path is taken and ``overwrite`` is False.
    """
    with av.open(str(source)) as reader:
        pts_in_display_order = sorted(
            p.pts for p in reader.demux(video=0) if p.pts is not None and p.dts is not None
        )
    index_of = {pts: i for i, pts in enumerate(pts_in_display_order)}
    options = {"movflags": "+faststart"} if container_format == "mp4" else {}
    cuts: dict[int, _Cut] = {}
    finished: dict[int, Path] = {}
    try:
        with av.open(str(source)) as reader:
            in_stream = reader.streams.video[0]
            for packet in reader.demux(in_stream):
                pts, dts = packet.pts, packet.dts
                if pts is None or dts is None:
                    continue
                frame = index_of[pts]
                for number in [n for n, c in cuts.items() if frame >= c.segment.stop]:
                    # the next keyframe: in a closed GOP every packet of the clip came before it
                    finished[number] = _close_cut(cuts.pop(number), overwrite)
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
            finished[number] = _close_cut(cuts.pop(number), overwrite)
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot cut clips from {source}: {exc}") from exc
    finally:
        for cut in cuts.values():  # only after an error: drop what was not finished
            cut.container.close()
            cut.partial.unlink(missing_ok=True)
    return [finished[n] for n in range(len(segments)) if n in finished]


def _open_cut(
    segment: Segment,
    in_stream: av.stream.Stream,
    pts_in_display_order: list[int],
    container_format: str,
    options: dict[str, str],
) -> _Cut:
    partial = partial_name(segment.path, "cutting")
    container = av.open(str(partial), "w", format=container_format, options=options)
    stream = container.add_stream_from_template(in_stream)
    return _Cut(segment, partial, container, stream, pts_in_display_order[segment.start])


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


def _close_cut(cut: _Cut, overwrite: bool) -> Path:
    cut.container.close()
    publish(cut.partial, cut.segment.path, overwrite=overwrite)
    logger.info(
        "wrote %s (%d frames, cut without re-encoding)",
        cut.segment.path, cut.segment.stop - cut.segment.start,
    )  # fmt: skip
    return cut.segment.path
