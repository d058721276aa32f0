"""Turn what a killed process left into playable videos and tracks, by remuxing (no re-encoding).

While a :class:`~rlvideo.VideoWriter` records, it writes a hidden
``.<name>.<token>.partial.<ext>`` beside the final name (MP4: *fragmented*), flushing its frames
to disk at least every second, and holds an advisory lock on it (:func:`~rlvideo.io._files.claim`).
At the end it closes that file and, for MP4, remuxes it into ``.<name>.<token>.final.mp4``
(``.aborted.mp4`` when the video was stopped early), locked the same way until it is published
under ``<name>.<ext>`` (or kept as ``<name>.incomplete.<ext>``). A video's data track is
written line by line to a hidden ``.<stem>.track.jsonl.<token>.writing``, locked the same way,
and moved beside its video once the video is published.

A process killed on the way leaves some of these hidden files, with their locks dropped.
:func:`recover_folder` deals with every one of them and says what it did, one
:class:`Outcome` per file (``rlvideo recover`` prints them):

- a partial file: its complete frames are copied into ``<name>.incomplete.<ext>``
  (``recovered``); one that holds no frame at all (the writer died before its first flush:
  under a second of video) is removed (``lost``); one that holds data but no readable frame is
  moved, untouched, to a visible ``<name>.damaged.<ext>`` (``damaged``);
- a ``.final.mp4`` file: the video was finished, so it is ``published`` under ``<name>.mp4``,
  or ``<name>.recovered.mp4`` when another file took that name; with its partial file still
  beside it the kill came during the remux, which is done again from the partial;
- an ``.aborted.mp4`` file: the video was stopped early (an exception, Ctrl-C), so its frames
  are ``recovered`` into ``<name>.incomplete.mp4``, never published as complete (with its
  partial file beside it, from the partial);
- the stream step clips are cut from (``save_video`` with a step trigger: hidden
  ``.<first clip>.steps-<token>.<ext>``, being written, finished, or kept after an error): it
  holds every frame from the first clip's start, and is kept, never published, as
  ``<first clip>.steps.incomplete.<ext>`` (``recovered``); a clip a kill left being cut from it
  is ``removed`` (its frames are in the stream). No name recover gives is hidden;
- a data track: given to its video (``<stem>.incomplete[-N].<ext>``, or ``<stem>.<ext>``
  published before the kill) as ``<video stem>.track.jsonl``, one line per frame: cut to the
  video's frames, or, when it is short of them, ended with ``{"frame": N, "missing": true}``
  lines; the track of a video ``lost`` is removed with it.

Files a live process is still writing (it holds their lock) are left alone. A writer that fails
(a full disk, an encoder error) keeps what it recorded itself, with :func:`salvage`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import itertools
import json
import logging
import os
import re
import struct
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple

import av

from rlvideo._core.formats import CrashUnit, format_of_suffix
from rlvideo._core.naming import VIDEO_SUFFIXES, is_partial_name, restage, visible_steps_name
from rlvideo._core.track import TRACK_SUFFIX, track_path
from rlvideo.errors import EncoderError, InvalidArgumentError, RLVideoError, StorageError
from rlvideo.io._files import (
    claimed_by_us,
    in_use,
    keep_as,
    keep_as_incomplete,
    keep_first_lines,
    publish,
)
from rlvideo.io.reader import open_video, video_packets

__all__ = [
    "Outcome",
    "cut_to_complete_fragments",
    "cut_to_complete_gif_frames",
    "cut_to_gap_free_frames",
    "find_partials",
    "is_leftover_name",
    "recover",
    "recover_folder",
    "recover_tracks",
    "remove_leftovers",
    "remux",
    "salvage",
]

logger = logging.getLogger(__name__)


def remux(
    source: Path, target: Path, *, container_format: str | None = None, faststart: bool = True
) -> int:
    """Copy the video packets of ``source`` into a new ``target``, stopping at the first damage.

    A fragmented MP4 its writer never finished (no ``mfra`` index at its end: a kill, a full
    disk) lost the fragments after its last one, and with them B-frames shown before frames it
    holds; only the packets up to the first missing frame are copied
    (:func:`_gap_free_prefixes`), so the copy never shows a frame after a gap.

    Args:
        source: A video file, possibly fragmented or truncated.
        target: The file to create.
        container_format: The container to write (``"mp4"``); from ``target``'s suffix when None.
        faststart: For MP4, put the index (moov) first so browsers start playing at once.

    Returns:
        The number of packets (frames) copied.

    Raises:
        EncoderError: If ``source`` holds no readable video stream.
        StorageError: If ``target`` cannot be written (a full disk, no permission).
    """
    container_format = container_format or target.suffix.lstrip(".")
    record = format_of_suffix(f".{container_format}")
    options = dict(record.finish_options) if faststart and record is not None else {}
    copied = 0
    try:
        no_video = f"{source} holds no video stream to recover"
        with open_video(source, no_video=no_video) as in_stream:
            limit = _gap_free_count(source) if _unfinished_fragments(source) else None
            with av.open(str(target), "w", format=container_format, options=options) as out:
                out_stream = out.add_stream_from_template(in_stream)
                try:
                    for packet in video_packets(in_stream):
                        if copied == limit:
                            logger.info(
                                "%s: kept its first %d frames, the rest of them "
                                "shown after a missing frame",
                                source,
                                copied,
                            )
                            break
                        packet.stream = out_stream
                        out.mux(packet)
                        copied += 1
                except av.error.InvalidDataError:
                    logger.warning("%s is damaged after %d frames; kept those", source, copied)
    except OSError as exc:  # PyAV's errno errors: writing the target failed (or reading)
        if isinstance(exc, RLVideoError):
            raise
        raise StorageError.from_os_error(exc, target) from exc
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot read {source} as video: {exc}") from exc
    return copied


def recover(path: str | os.PathLike[str]) -> Path:
    """Make a playable video from one hidden file left by a killed process.

    Args:
        path: A hidden ``.<name>.<token>.partial.<ext>`` (or ``.final.mp4``) file.

    Returns:
        Where the video is now: ``<name>.incomplete.<ext>`` for a partial file, ``<name>.<ext>``
        (or ``<name>.recovered.<ext>``) for a finished one. The hidden file is removed.

    Raises:
        InvalidArgumentError: If ``path`` is not such a file.
        EncoderError: If no frame can be read from it. A file that holds none (its writer died
            before its first flush) is removed; one that holds unreadable data is kept as
            ``<name>.damaged.<ext>``; the message says which.
        StorageError: If a live process is still writing it (a recording in progress, not a
            crash), or it cannot be read or moved.
    """
    source = Path(path)
    outcome = _recover_named(source)
    if outcome.kept is not None and outcome.status in ("recovered", "published"):
        return outcome.kept
    if outcome.status in ("lost", "damaged"):
        raise EncoderError(f"{source}: {outcome.detail}")
    raise StorageError(f"cannot recover {source}: {outcome.detail}")


def salvage(partial: Path, final: Path) -> Path | None:
    """Keep what a writer that failed (a full disk, an encoder error) left in ``partial``.

    The complete frames are remuxed into ``<name>.incomplete.<ext>`` beside ``final``. When
    that cannot be written either (the disk is still full), a fragmented MP4 is cut back in
    place, which needs no space, to its last complete fragment and then to its frames before the
    first one missing (:func:`cut_to_gap_free_frames`), and kept under that name as it is.
    A file with no complete frame is removed. Never raises: it runs while another error is on
    its way to the caller.

    Returns:
        Where the frames were kept, or None when there were none.
    """
    if not partial.exists():
        return None
    cut = _CUT_TO_COMPLETE.get(_crash_unit(partial))
    with contextlib.suppress(OSError):
        if cut is not None and not cut(partial):
            partial.unlink()  # not one complete frame: nothing to keep
            return None
    staging = restage(partial, "salvaged")
    try:
        try:
            copied = remux(partial, staging)
        except EncoderError:  # nothing readable in it
            copied = 0
        except StorageError:  # no room for a copy: keep the partial file itself
            staging.unlink(missing_ok=True)
            if _crash_unit(partial) == "fragment" and not cut_to_gap_free_frames(partial):
                partial.unlink()
                return None
            return keep_as_incomplete(partial, final)
        if copied == 0:
            partial.unlink(missing_ok=True)
            return None
        kept = keep_as_incomplete(staging, final)
        partial.unlink(missing_ok=True)
        return kept
    except Exception:  # keeping failed too: the hidden partial stays for `rlvideo recover`
        logger.exception("could not keep what was recorded of %s (in %s)", final.name, partial)
        return None
    finally:
        staging.unlink(missing_ok=True)


def cut_to_complete_fragments(path: Path) -> bool:
    """Cut a fragmented MP4 back to its last complete fragment, in place (frees, needs no space).

    A write that failed midway leaves a fragment whose index (``moof``) or data (``mdat``)
    runs past the end of the file; decoders then fail on it. Top-level MP4 boxes carry their
    size, so the end of the last complete ``moof`` + ``mdat`` pair is known exactly.

    Returns:
        True if at least one complete fragment remains.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        boxes = list(_top_level_boxes(file, size))
    fragments = _fragments(boxes)
    if not fragments:
        return False
    end_of_fragment = fragments[-1][1].end
    if boxes[-1].end < size:  # the walk stopped at a box cut short: drop it and its fragment
        os.truncate(path, end_of_fragment)
        logger.info("cut %s back to its last complete fragment (%d bytes)", path, end_of_fragment)
    return True


class _Box(NamedTuple):
    """A top-level MP4 box: where it starts, its size (header included), type, header size."""

    offset: int
    size: int
    type: bytes
    header: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def _top_level_boxes(file: BinaryIO, size: int) -> Iterator[_Box]:
    """The top-level boxes of the MP4 ``file`` (``size`` bytes), up to one damaged or cut short."""
    offset = 0
    while offset + 8 <= size:
        file.seek(offset)
        header = file.read(16)
        box_size, box_type = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1 and len(header) == 16:  # a 64-bit size follows the type
            box_size, header_size = struct.unpack(">Q", header[8:16])[0], 16
        if box_size < header_size or offset + box_size > size:
            return
        yield _Box(offset, box_size, box_type, header_size)
        offset += box_size


def _fragments(boxes: Sequence[_Box]) -> list[tuple[_Box, _Box]]:
    """The fragments among top-level ``boxes``: each ``moof`` with the ``mdat`` right after it."""
    return [(a, b) for a, b in itertools.pairwise(boxes) if (a.type, b.type) == (b"moof", b"mdat")]


def _unfinished_fragments(path: Path) -> bool:
    """True for a fragmented MP4 whose writer never finished it: no ``mfra`` index ends it.

    FFmpeg writes ``mfra`` last when it finishes a fragmented MP4; a kill or a full disk leaves
    the file without one, and the fragments after its last one are lost.
    """
    size = path.stat().st_size
    with path.open("rb") as file:
        boxes = list(_top_level_boxes(file, size))
    return bool(_fragments(boxes)) and boxes[-1].type != b"mfra"


def _gap_free_count(source: Path) -> int:
    """How many packets of ``source``, from its first in decode order, show no frame after a gap.

    See :func:`_gap_free_prefixes`.
    """
    return _gap_free_prefixes(*_decode_order(source))[-1]


def _decode_order(source: Path) -> tuple[list[int], int]:
    """The presentation times of ``source``'s video packets in decode order, and reordering.

    Returns:
        The times, up to the first damage, and the most frames its codec says may be decoded
        before a frame and shown after it (0: none).
    """
    with open_video(source) as stream:
        context = stream.codec_context
        reorder = int(getattr(context, "reorder_depth", context.has_b_frames))
        times = [
            packet.dts if packet.pts is None else packet.pts
            for packet in video_packets(stream, tolerant=True)
            if packet.dts is not None  # for the type checker: video_packets leaves no such
        ]
    return times, reorder


_MOST_REORDERED = 16  # H.264 and HEVC hold at most 16 frames for reordering


def _gap_free_prefixes(pts: Sequence[int], reorder: int) -> list[int]:
    """The counts ``k`` for which the first ``k`` packets show the first ``k`` frames, none lost.

    ``pts`` are the presentation times of a video's packets in decode order, its later packets
    lost; the counts are ascending, 0 first.

    Decoders may need a frame before the frames shown ahead of it (a P-frame before its
    B-frames), so a video cut short in decode order can hold a frame shown after one it lost.
    The first ``k`` packets are safe when (1) every later packet that was kept is shown after
    all of them, and (2) at least ``depth`` packets were kept after them, ``depth`` being the
    most frames that may be decoded before a frame and shown after it (the codec's reorder
    depth, or the most seen here): a lost packet shown before one of the first ``k`` would then
    have ``depth + 1`` frames decoded before it and shown after it. Timestamps alone cannot
    tell: a frame may last any time. The first ``k`` packets are also all the frames they
    reference, which come before them in decode order.

    Example:
        >>> _gap_free_prefixes([0, 3, 1, 2, 4, 7, 5, 6, 8, 11], reorder=2)  # 9, 10 lost
        [0, 1, 4, 5, 8]
    """
    depth = max(reorder, _seen_reorder_depth(pts))
    later_min = [*pts, float("inf")]
    for i in range(len(pts) - 1, -1, -1):
        later_min[i] = min(later_min[i], later_min[i + 1])
    prefixes, shown_up_to = [0], float("-inf")
    for k in range(1, len(pts) - depth + 1):
        shown_up_to = max(shown_up_to, pts[k - 1])
        if shown_up_to < later_min[k]:
            prefixes.append(k)
    return prefixes


def _seen_reorder_depth(pts: Sequence[int]) -> int:
    """The most packets in ``pts`` decoded before one and shown after it."""
    return max(
        (
            sum(1 for earlier in pts[max(i - _MOST_REORDERED, 0) : i] if earlier > time)
            for i, time in enumerate(pts)
        ),
        default=0,
    )


def cut_to_gap_free_frames(path: Path) -> bool:
    """Cut an unfinished fragmented MP4 back, in place, to its frames before the first missing.

    Its last complete fragment may hold frames shown after B-frames that went into a fragment
    which was lost (see :func:`_gap_free_prefixes`). The file is cut at the end of the last safe
    frame: its fragment's index (``trun``) is told its new sample count and its data (``mdat``)
    its new size, in place, with no byte added. Call :func:`cut_to_complete_fragments` first.

    Returns:
        True if at least one frame remains.
    """
    if not _unfinished_fragments(path):
        return True  # finished: no frame is missing
    safe = _gap_free_prefixes(*_decode_order(path))
    if safe[-1] == 0:
        return False
    with path.open("r+b") as file:
        fragments = _fragments(list(_top_level_boxes(file, path.stat().st_size)))
        counts = [_trun(file, moof)[1] for moof, _ in fragments]
        if -1 in counts:  # not laid out as FFmpeg does: left as it is
            logger.warning("%s: fragments of an unknown layout; not cut to its safe frames", path)
            return True
        for keep in reversed(safe):  # the most frames that can be cut to exactly
            start = 0
            for (moof, mdat), count in zip(fragments, counts, strict=True):
                if start <= keep < start + count and (
                    keep == start or _shorten_fragment(file, moof, mdat, keep - start)
                ):
                    file.truncate(moof.offset if keep == start else file.tell())
                    logger.info("cut %s back to its first %d frames, none missing", path, keep)
                    return keep > 0
                start += count
            if keep == start:  # every frame safe
                return True
    return False


_TRUN_HAS_DATA_OFFSET, _TRUN_HAS_FIRST_FLAGS, _TRUN_HAS_SIZES = 0x1, 0x4, 0x200
_TRUN_ENTRY_FIELDS = (0x100, 0x200, 0x400, 0x800)  # duration, size, flags, composition offset


def _trun(file: BinaryIO, moof: _Box) -> tuple[int, int, int, bytes]:
    """The only ``trun`` of a fragment's only track: its offset, sample count, flags, bytes.

    A fragment laid out otherwise gives a count of -1 (it is never cut inside).
    """
    file.seek(moof.offset)
    data = file.read(moof.size)
    children = _child_boxes(data, moof.header)
    trafs = [(at, size) for at, size, kind in children if kind == b"traf"]
    if len(trafs) != 1:
        return 0, -1, 0, b""
    truns = [c for c in _child_boxes(data[: sum(trafs[0])], trafs[0][0] + 8) if c[2] == b"trun"]
    if len(truns) != 1:
        return 0, -1, 0, b""
    at, size, _ = truns[0]
    flags, count = struct.unpack(">II", data[at + 8 : at + 16])
    return moof.offset + at, count, flags & 0xFFFFFF, data[at : at + size]


def _child_boxes(data: bytes, offset: int) -> list[tuple[int, int, bytes]]:
    """The boxes from ``offset`` to the end of ``data``: (offset, size, type) each."""
    children = []
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size < 8 or offset + size > len(data):
            break
        children.append((offset, size, kind))
        offset += size
    return children


def _shorten_fragment(file: BinaryIO, moof: _Box, mdat: _Box, keep: int) -> bool:
    """Make the fragment ``moof`` + ``mdat`` hold its first ``keep`` samples, in place.

    The ``trun`` keeps its place: it is shortened to ``keep`` entries and the bytes it no
    longer uses become a ``free`` box (when there are at least 8 of them), so every offset
    stays true. Leaves ``file`` at the new end of the fragment, for the caller to cut there.

    Returns:
        False, with nothing changed, if the fragment is laid out in a way this does not know.
    """
    at, count, flags, trun = _trun(file, moof)
    fields = 16 + 4 * bool(flags & _TRUN_HAS_DATA_OFFSET) + 4 * bool(flags & _TRUN_HAS_FIRST_FLAGS)
    entry = 4 * sum(1 for field in _TRUN_ENTRY_FIELDS if flags & field)
    needed = _TRUN_HAS_DATA_OFFSET | _TRUN_HAS_SIZES
    if flags & needed != needed or len(trun) != fields + count * entry or mdat.header != 8:
        return False
    (data_offset,) = struct.unpack(">i", trun[16:20])
    if moof.offset + data_offset != mdat.offset + mdat.header:  # the samples start the mdat
        return False
    size_at = fields + (4 if flags & 0x100 else 0)
    kept_bytes = sum(
        struct.unpack(">I", trun[size_at + i * entry : size_at + i * entry + 4])[0]
        for i in range(keep)
    )
    new_trun, spare = fields + keep * entry, (count - keep) * entry
    file.seek(mdat.offset)
    file.write(struct.pack(">I", mdat.header + kept_bytes))
    file.seek(at + 12)
    file.write(struct.pack(">I", keep))
    if spare >= 8:
        file.seek(at)
        file.write(struct.pack(">I", new_trun))
        file.seek(at + new_trun)
        file.write(struct.pack(">I4s", spare, b"free"))
    file.seek(mdat.offset + mdat.header + kept_bytes)
    return True


def cut_to_complete_gif_frames(path: Path) -> bool:
    """Cut a GIF back to its last complete frame and end it properly, in place.

    A GIF is a header, then blocks, each an image or an extension made of length-prefixed
    sub-blocks, then a one-byte trailer; a write that failed midway leaves a frame cut short,
    which decoders refuse. Walking the blocks finds where the last complete frame ends.

    Returns:
        True if at least one complete frame remains.
    """
    data = path.read_bytes()
    end_of_frame, whole, _ = _walk_gif(data)
    if whole or end_of_frame == 0:
        return end_of_frame > 0
    with path.open("r+b") as file:  # the trailer fits where the cut-off frame was
        file.truncate(end_of_frame)
        file.seek(end_of_frame)
        file.write(b"\x3b")
    logger.info("cut %s back to its last complete frame (%d bytes)", path, end_of_frame + 1)
    return True


def _walk_gif(data: bytes) -> tuple[int, bool, bool]:
    """Walk a GIF's blocks: (end of its last complete frame, ended by its trailer, any image).

    The end is 0 when no frame is complete (or ``data`` is no GIF).
    """
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        return 0, False, False
    offset = 13 + _gif_table_size(data[10])
    end_of_frame = 0
    image = False

    def skip_sub_blocks(at: int) -> int:  # -> just past the 0 terminator, or past the end
        while at < len(data) and data[at]:
            at += data[at] + 1
        return at + 1

    while offset < len(data):
        kind = data[offset]
        if kind == 0x3B:  # the trailer: the file is whole
            return end_of_frame, True, image
        if kind == 0x21:  # an extension: label, then sub-blocks
            offset = skip_sub_blocks(offset + 2)
        elif kind == 0x2C:  # an image: descriptor, local colour table, LZW size, sub-blocks
            image = True
            if offset + 10 > len(data):
                break
            offset = skip_sub_blocks(offset + 11 + _gif_table_size(data[offset + 9]))
            if offset <= len(data):
                end_of_frame = offset
        else:  # damaged
            break
    return end_of_frame, False, image


def _gif_table_size(packed: int) -> int:
    """Bytes of the colour table a GIF descriptor's packed field announces."""
    return 3 * 2 ** ((packed & 0x07) + 1) if packed & 0x80 else 0


def _crash_unit(path: Path) -> CrashUnit | None:
    """What a killed writer of ``path`` left readable (by its suffix), None for no video."""
    record = format_of_suffix(path.suffix)
    return None if record is None else record.crash_unit


_CUT_TO_COMPLETE: dict[CrashUnit | None, Callable[[Path], bool]] = {
    "fragment": cut_to_complete_fragments,
    "frame": cut_to_complete_gif_frames,
}  # how a file cut short by a kill or a full disk is trimmed to whole units, in place


def find_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """The partial files in ``folder`` that :func:`recover` can turn into videos.

    Files a live process is still writing are left out: they are not left over from a crash.
    """
    found = []
    for path in sorted(Path(folder).iterdir()):
        if not is_partial_name(path):
            continue
        if in_use(path):
            logger.info("%s is still being written by a running process; left alone", path)
            continue
        found.append(path)
    return found


_TRACK_BEING_WRITTEN = re.compile(
    r"^\.(?P<stem>.+)" + re.escape(TRACK_SUFFIX) + r"\.[0-9a-f]+\.writing$"
)
_LEFTOVER = re.compile(
    r"^\.(?P<final>.+)\.(?P<token>[0-9a-f]+)\.(?P<stage>[a-z][a-z-]*)"
    rf"(?P<suffix>{'|'.join(re.escape(suffix) for suffix in VIDEO_SUFFIXES)})$"
)  # what partial_name() makes: .<final name>.<token>.<stage>.<ext>
_TAGGED_STEM = re.compile(r"\.(?:incomplete|recovered)(?:-\d+)?$")  # what recover names videos
_NOTHING_FLUSHED = (
    "no frame had been flushed to disk when its writer died (a video's first second, or less, "
    "is held in memory)"
)
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # how every WebM (Matroska) file starts
_MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"  # the element that holds a WebM's frames
_HEADER_AT_MOST = 1 << 20  # bytes: a file this big holds more than a container's header

_STREAM = "stream"  # the stage of a hidden step-clip stream, finished or kept after an error
_CUT_STAGES = frozenset({"cutting", "cutting-incomplete"})  # clips being cut from such a stream
_CUT_COPY = (
    "a clip being cut from the stream of step clips when its writer died; every frame of it is "
    "in that stream (see its line); removed it"
)

Status = Literal["recovered", "published", "lost", "removed", "damaged", "left"]


@dataclass(frozen=True)
class Outcome:
    """What :func:`recover_folder` did with one file a killed process left.

    ``status`` is one of:

    - ``"recovered"``: its frames (or lines) are in ``kept``: an ``.incomplete`` video, a track;
    - ``"published"``: a finished video stranded under a hidden name now has its final name
      (``kept``), or ``<name>.recovered[-N].<ext>`` when another file took that name;
    - ``"lost"``: it held nothing to keep (no frame had reached the disk); it was removed;
    - ``"removed"``: a copy of frames kept elsewhere (a step clip being cut from its stream,
      which is recovered on its own line); it was removed;
    - ``"damaged"``: it holds data but no frame can be read; it was moved, untouched, to a
      visible ``kept`` (``<name>.damaged[-N].<ext>``) for a repair tool;
    - ``"left"``: it could not be dealt with and is where it was; ``detail`` says why.

    ``str(outcome)`` is its one-line report: ``<status> <file> -> <kept> (<detail>)`` or
    ``<status> <file>: <detail>``.
    """

    status: Status
    source: Path
    kept: Path | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is left for a person to look at (all but damaged and left)."""
        return self.status in ("recovered", "published", "lost", "removed")

    def __str__(self) -> str:
        if self.status in ("recovered", "published"):
            return f"{self.status} {self.source} -> {self.kept} ({self.detail})"
        return f"{self.status} {self.source}: {self.detail}"


def is_leftover_name(path: Path) -> bool:
    """True for the hidden files a killed writer leaves: a video's or a data track's.

    Example:
        >>> [is_leftover_name(Path(n)) for n in (
        ...     ".run.mp4.0a1b2c3d.partial.mp4", ".run.mp4.0a1b2c3d.final.mp4",
        ...     ".run.track.jsonl.0a1b2c3d.writing", ".run.steps-0a1b2c3d.mp4", "run.mp4",
        ...     ".run.mp4")]
        [True, True, True, True, False, False]
    """
    return bool(
        _LEFTOVER.match(path.name)
        or _TRACK_BEING_WRITTEN.match(path.name)
        or visible_steps_name(path) is not None
    )


def recover_folder(
    folder: str | os.PathLike[str], *, names: Sequence[Path] | None = None
) -> list[Outcome]:
    """Deal with every hidden file a killed process left in ``folder``; one outcome per file.

    Videos first (their hidden files grouped by the video they were for), then data tracks,
    which go to the videos recovered. One file that cannot be recovered never stops the others.
    Files a live process is still writing are left alone (and not reported).

    Args:
        folder: The video folder.
        names: Only these hidden video files of ``folder`` (and the data tracks of the
            folder); None for all.

    Returns:
        What was done with each file, in name order; empty when nothing was left.

    Raises:
        StorageError: If a file in ``names`` is still being written by a running process.
    """
    folder = Path(folder)
    outcomes: list[Outcome] = []
    chosen = None if names is None else {Path(name).name for name in names}
    groups = _leftover_groups(folder)
    streams = _holds_a_stream(groups)
    for group in groups:
        if chosen is not None and not chosen & {path.name for path in group.values()}:
            continue
        outcome = _recover_group_reported(group, streams=streams)
        if outcome is None and chosen is not None:
            raise _in_use_error(_anchor(group))
        if outcome is not None:
            outcomes.append(outcome)
    outcomes += _recover_tracks(folder, outcomes)
    return outcomes


def recover_tracks(folder: str | os.PathLike[str]) -> list[Path]:
    """Give each data track a killed process left in ``folder`` to its video; the tracks kept.

    See :func:`recover_folder`, which does this after recovering the videos.
    """
    return [o.kept for o in _recover_tracks(Path(folder), []) if o.kept is not None]


def remove_leftovers(
    folder: str | os.PathLike[str], names: Collection[str], *, keep: Collection[str] = ()
) -> list[Path]:
    """Delete the hidden files that writers stopped on purpose left for the videos ``names``.

    For videos that are made again from elsewhere (a replay's render, its renderer stopped
    after a Ctrl-C: the replay file is kept), nothing of them is worth recovering. ``names``
    are file names in ``folder``; each one's hidden partial, finished and data-track files go,
    except files a running process still writes and the files named in ``keep`` (those there
    before the writers started: an earlier run's, for ``rlvideo recover``). Returns what was
    deleted.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> for name in (".run.mp4.0a1b.partial.mp4", ".run.track.jsonl.0a1b.writing",
        ...              ".other.mp4.0a1b.partial.mp4"):
        ...     _ = (folder / name).write_bytes(b"")
        >>> [path.name for path in remove_leftovers(folder, ["run.mp4"])]
        ['.run.mp4.0a1b.partial.mp4', '.run.track.jsonl.0a1b.writing']
    """
    folder = Path(folder)
    stems = {name.rsplit(".", 1)[0] for name in names}
    removed = []
    for path in sorted(folder.iterdir()):
        if _LEFTOVER.match(path.name) is not None:
            ours = _visible_final(path)[0].name in names
        else:
            track = _TRACK_BEING_WRITTEN.match(path.name)
            ours = track is not None and track["stem"] in stems
        if ours and path.name not in keep and path.is_file() and not in_use(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def _leftover_groups(folder: Path) -> list[dict[str, Path]]:
    """The hidden video files in ``folder``, grouped by the video they were for: stage -> path.

    A hidden step-clip stream that was finished (or kept after an error) is a group of its own,
    under the stage ``stream``.
    """
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _LEFTOVER.match(path.name)
        if match is not None and path.is_file():
            groups.setdefault((match["final"], match["token"]), {})[match["stage"]] = path
        elif visible_steps_name(path) is not None and path.is_file():
            groups[(path.name, "")] = {_STREAM: path}
    return list(groups.values())


def _holds_a_stream(groups: list[dict[str, Path]]) -> bool:
    """True when one of ``groups`` is (or was being written as) a step-clip stream."""
    return any(_visible_final(_anchor(group))[1] for group in groups)


def _visible_final(leftover: Path) -> tuple[Path, bool]:
    """The visible name for what ``leftover`` holds, and whether it is a step-clip stream.

    Every name recover gives is visible: a working file of a working file (a clip staged under
    a hidden name, then cut) is named after the file the user asked for, and the stream step
    clips are cut from after its first clip (``<first clip>.steps.<ext>``).
    """
    name = leftover
    while (match := _LEFTOVER.match(name.name)) is not None:
        name = name.with_name(match["final"])
    stream = visible_steps_name(name)
    if stream is not None:
        return stream, True
    return name.with_name(name.name.lstrip(".")), False


def _anchor(group: dict[str, Path]) -> Path:
    """The file a group's report names: its partial file, else its finished one, else any.

    For every stage but ``stream`` the anchor's name matches ``_LEFTOVER``.
    """
    return group.get("partial") or group.get("final") or next(iter(group.values()))


def _in_use_error(path: Path) -> StorageError:
    return StorageError(
        f"{path} is still being written by a running process; it is not left over from a "
        "crash. Recover it once that process has ended."
    )


def _recover_named(source: Path) -> Outcome:
    """The outcome for one named hidden video file (and the rest of its group)."""
    if not is_leftover_name(source) or _TRACK_BEING_WRITTEN.match(source.name):
        raise InvalidArgumentError(f"{source} is not a partial file left by rlvideo")
    groups = _leftover_groups(source.parent)
    group = next((g for g in groups if source in g.values()), {"partial": source})
    outcome = _recover_group_reported(group, streams=_holds_a_stream(groups))
    if outcome is None:
        raise _in_use_error(source)
    return outcome


def _recover_group_reported(group: dict[str, Path], *, streams: bool) -> Outcome | None:
    """:func:`_recover_group`, with a failure (a full disk) reported as ``left``."""
    try:
        return _recover_group(group, streams=streams)
    except (OSError, RLVideoError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        logger.warning("could not recover %s: %s", _anchor(group), reason)
        return Outcome("left", _anchor(group), detail=f"{reason}; left as it is")


def _recover_group(group: dict[str, Path], *, streams: bool) -> Outcome | None:
    """Recover the hidden files of one video; None if a live process still writes them.

    ``streams``: whether the folder holds a step-clip stream, which holds every frame of the
    clips being cut from it when the process died.
    """
    anchor = _anchor(group)
    final, stream = _visible_final(anchor)
    with contextlib.ExitStack() as locks:
        for path in group.values():  # a live writer holds its file's lock
            try:
                ours = locks.enter_context(claimed_by_us(path))
            except FileNotFoundError:  # published or kept meanwhile by its live writer
                return None
            if not ours:
                logger.info("%s is still being written by a running process; left alone", path)
                return None
        if streams and set(group) <= _CUT_STAGES:
            for copy in group.values():
                copy.unlink()
            return Outcome("removed", anchor, None, _CUT_COPY)
        partial = group.get("partial")
        # a stream is never published: the clips it was for were not all cut
        finished = None if stream else group.get("final")
        if partial is not None:
            for copy in group.values():  # copies of it a killed process was making
                if copy not in (partial, finished):
                    copy.unlink()
        if _STREAM in group:
            return _keep_stream(anchor, final)
        if finished is None:
            outcome = _recover_frames(anchor, final)
            return _said_of_stream(outcome, final) if stream else outcome
        if partial is None:
            return _publish_finished(finished, final)
        # killed during the remux: the partial file was closed, whole, before it began
        frames = remux(partial, finished)  # the container of its suffix
        outcome = _publish_finished(finished, final, frames=frames, source=partial)
        partial.unlink()
        return outcome


def _keep_stream(stream: Path, final: Path) -> Outcome:
    """Keep a finished hidden step-clip stream, as it is, as ``<first clip>.steps.incomplete``."""
    frames = _frames_or_damaged(stream, final, stream)
    if isinstance(frames, Outcome):
        return frames
    kept = keep_as_incomplete(stream, final)
    return _said_of_stream(Outcome("recovered", stream, kept, f"{frames} frames"), final)


def _said_of_stream(outcome: Outcome, final: Path) -> Outcome:
    """``outcome``, its detail saying what a recovered step-clip stream holds."""
    if outcome.status != "recovered":
        return outcome
    first_clip = final.with_name(final.stem.removesuffix(".steps") + final.suffix)
    detail = (
        f"{outcome.detail}: the stream the step clips from {first_clip.name} on are cut from, "
        "from that clip's first frame"
    )
    return dataclasses.replace(outcome, detail=detail)


def _frames_or_damaged(video: Path, final: Path, source: Path) -> int | Outcome:
    """The frames in ``video``; when none can be read, it is kept as damaged, and said so."""
    try:
        frames = _count_frames(video)
    except (av.error.FFmpegError, EncoderError) as exc:  # EncoderError: no video stream
        frames, problem = 0, getattr(exc, "strerror", None) or str(exc)
    else:
        problem = "it holds no frame"
    if frames:
        return frames
    kept = keep_as(video, final, "damaged")
    return Outcome("damaged", source, kept, f"no frame can be read ({problem}); kept as {kept}")


def _publish_finished(
    finished: Path, final: Path, *, frames: int | None = None, source: Path | None = None
) -> Outcome:
    """Publish a finished video under ``final``, or a ``.recovered`` name if ``final`` is taken."""
    source = source or finished
    if frames is None:
        counted = _frames_or_damaged(finished, final, source)
        if isinstance(counted, Outcome):
            return counted
        frames = counted
    detail = f"{frames} frames, complete"
    try:
        publish(finished, final, overwrite=False)
        kept = final
    except FileExistsError:
        kept = keep_as(finished, final, "recovered")
        detail += f"; {final.name} is taken"
    logger.info("published %s, stranded as %s, as %s", final.name, finished.name, kept)
    return Outcome("published", source, kept, detail)


def _recover_frames(source: Path, final: Path) -> Outcome:
    """Copy the frames of a video cut short into ``<name>.incomplete.<ext>``; or say why not."""
    staging = restage(source, "recovering")
    problem = "it holds no complete frame"
    try:
        # a GIF frame the kill cut short would decode torn: keep those before it
        whole = _crash_unit(source) != "frame" or cut_to_complete_gif_frames(source)
        try:
            copied = remux(source, staging) if whole else 0
        except EncoderError as exc:  # nothing readable in it
            copied, cause = 0, exc.__cause__
            problem = getattr(cause, "strerror", None) or str(cause or exc)
        if copied:
            kept = keep_as_incomplete(staging, final)
            source.unlink()
            logger.info("recovered %d frames of %s into %s", copied, final.name, kept)
            return Outcome("recovered", source, kept, f"{copied} frames")
    finally:
        staging.unlink(missing_ok=True)
    if _nothing_flushed(source):
        source.unlink()
        return Outcome("lost", source, None, f"{_NOTHING_FLUSHED}; removed it")
    kept = keep_as(source, final, "damaged")
    return Outcome("damaged", source, kept, f"no frame can be read ({problem}); kept as {kept}")


def _nothing_flushed(path: Path) -> bool:
    """True when ``path`` is empty or its container's header alone: no frame ever reached it.

    Anything else that holds no readable frame (another header, data where frames should be)
    may still be salvaged by a repair tool: it is not "nothing".
    """
    if path.stat().st_size > _HEADER_AT_MOST:
        return False
    data = path.read_bytes()
    if not data:
        return True
    unit = _crash_unit(path)
    if unit == "fragment":  # MP4
        boxes = _mp4_box_types(data)
        return boxes[:1] == [b"ftyp"] and not {b"moof", b"mdat"} & set(boxes)
    if unit == "cluster":  # WebM
        return data.startswith(_EBML_MAGIC) and _MATROSKA_CLUSTER not in data
    if unit == "frame":  # GIF
        return data.startswith(b"GIF8") and not _walk_gif(data)[2]
    return False


def _mp4_box_types(data: bytes) -> list[bytes]:
    """The types of the top-level MP4 boxes that start in ``data`` (the last may be cut short)."""
    types, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        types.append(kind)
        if size == 1 and offset + 16 <= len(data):  # a 64-bit size follows the type
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        if size < 8:
            break
        offset += size
    return types


def _recover_tracks(folder: Path, videos: list[Outcome]) -> list[Outcome]:
    """Give each data track a killed process left in ``folder`` to its video.

    The video is the latest ``<stem>.<ext>``, ``<stem>.incomplete[-N].<ext>`` or
    ``<stem>.recovered[-N].<ext>`` that has no track yet. A track whose video was ``lost`` among
    ``videos`` is removed with it (and said so on that video's line, updated in place); one
    with no line is removed; any other with no video is left where it is, and reported.
    """
    outcomes = []
    lost = {_video_stem(o.source): index for index, o in enumerate(videos) if o.status == "lost"}
    for path in sorted(folder.iterdir()):
        match = _TRACK_BEING_WRITTEN.match(path.name)
        if match is None or in_use(path):
            continue
        stem = match["stem"]
        video = None if stem in lost else _video_for_track(folder, stem)  # never another run's
        if video is not None:
            outcomes.append(_give_track(path, video))
            continue
        lines, _ = _complete_lines(path)
        if stem in lost or lines == 0:
            path.unlink()
            note = f"its data track {path.name} ({lines} lines)"
            if stem in lost:
                index = lost[stem]
                detail = f"{videos[index].detail} and {note}"
                videos[index] = dataclasses.replace(videos[index], detail=detail)
            else:
                outcomes.append(Outcome("lost", path, None, "it holds no line; removed it"))
            continue
        logger.info("%s: no video of %s to give it to; left alone", path, stem)
        why = f"no video {stem}.<ext> without a track here to give its {lines} lines to"
        outcomes.append(Outcome("left", path, None, f"{why}; left as it is"))
    return outcomes


def _video_stem(leftover: Path) -> str:
    """The stem of the video a hidden video file was for: ``.run.mp4.<token>...`` -> ``run``."""
    match = _LEFTOVER.match(leftover.name)
    return Path(match["final"]).stem if match is not None else ""


def _video_for_track(folder: Path, stem: str) -> Path | None:
    """The latest video of ``stem`` (finished, incomplete or recovered) with no track yet."""
    videos = [
        video
        for video in folder.glob(f"{glob.escape(stem)}.*")
        if video.suffix in VIDEO_SUFFIXES
        and _TAGGED_STEM.sub("", video.stem) == stem
        and not track_path(video).exists()
    ]
    return max(videos, key=lambda video: video.stat().st_mtime, default=None)


def _give_track(track: Path, video: Path) -> Outcome:
    """Move ``track`` beside ``video``, one line per frame: cut, or ended with missing lines."""
    frames = _count_frames(video)
    lines, torn = _complete_lines(track)
    if lines > frames or torn:  # a line cut short by the kill is no line
        keep_first_lines(track, min(lines, frames))
    detail = f"{frames} lines"
    if lines < frames:  # killed between a frame and its line: say so, line by line
        with track.open("a", encoding="utf-8") as file:
            for index in range(lines, frames):
                file.write(json.dumps({"frame": index, "missing": True}, separators=(",", ":")))
                file.write("\n")
        which = f"frame {lines}" if frames - lines == 1 else f"frames {lines}-{frames - 1}"
        detail += f"; {which} had no line: marked missing"
    target = track_path(video)
    publish(track, target, overwrite=False)
    logger.info("recovered the data track of %s", video)
    return Outcome("recovered", track, target, detail)


def _complete_lines(path: Path) -> tuple[int, bool]:
    """Lines of ``path`` that end with a newline, and whether a cut-short line follows them."""
    count, torn = 0, False
    with path.open("rb") as file:
        for line in file:
            if line.endswith(b"\n"):
                count += 1
            else:
                torn = True
    return count, torn


def _count_frames(video: Path) -> int:
    """Frames in ``video``, counted from its packets (no decoding)."""
    with open_video(video) as stream:
        return sum(1 for packet in video_packets(stream) if packet.size)
