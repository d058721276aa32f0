"""Turn what a killed process left into playable videos and tracks, by remuxing (no re-encoding).

While a :class:`~rlvideo.VideoWriter` records, it writes a hidden
``.<name>.<token>.partial.<ext>`` beside the final name (MP4: *fragmented*), flushing its frames
to disk at least every second, and holds an advisory lock on it (:func:`~rlvideo._files.claim`).
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
import json
import logging
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av

from rlvideo._files import (
    claimed_by_us,
    in_use,
    keep_as,
    keep_as_incomplete,
    keep_first_lines,
    publish,
)
from rlvideo._track import TRACK_SUFFIX, track_path
from rlvideo.errors import EncoderError, InvalidArgumentError, RLVideoError, StorageError
from rlvideo.naming import is_partial_name, restage

__all__ = [
    "Outcome",
    "cut_to_complete_fragments",
    "cut_to_complete_gif_frames",
    "find_partials",
    "is_leftover_name",
    "recover",
    "recover_folder",
    "recover_tracks",
    "remux",
    "salvage",
]

logger = logging.getLogger(__name__)


def remux(
    source: Path, target: Path, *, container_format: str | None = None, faststart: bool = True
) -> int:
    """Copy the video packets of ``source`` into a new ``target``, stopping at the first damage.

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
    options = {"movflags": "+faststart"} if faststart and container_format == "mp4" else {}
    copied = 0
    try:
        with av.open(str(source)) as inp:
            if not inp.streams.video:
                raise EncoderError(f"{source} holds no video stream to recover")
            in_stream = inp.streams.video[0]
            with av.open(str(target), "w", format=container_format, options=options) as out:
                out_stream = out.add_stream_from_template(in_stream)
                try:
                    for packet in inp.demux(in_stream):
                        if packet.dts is None:  # the demuxer's end-of-stream marker
                            continue
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
    that cannot be written either (the disk is still full), a fragmented MP4 is cut back to its
    last complete fragment in place, which needs no space, and kept under that name as it is.
    A file with no complete frame is removed. Never raises: it runs while another error is on
    its way to the caller.

    Returns:
        Where the frames were kept, or None when there were none.
    """
    if not partial.exists():
        return None
    cut = {".mp4": cut_to_complete_fragments, ".gif": cut_to_complete_gif_frames}
    with contextlib.suppress(OSError):
        if partial.suffix in cut and not cut[partial.suffix](partial):
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
    end_of_fragment = 0
    offset = 0
    last_type = b""
    with path.open("rb") as file:
        while offset + 8 <= size:
            file.seek(offset)
            header = file.read(16)
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) == 16:  # a 64-bit size follows the type
                box_size = struct.unpack(">Q", header[8:16])[0]
            if box_size < 8 or offset + box_size > size:  # damaged, or cut short by the failure
                break
            if box_type == b"mdat" and last_type == b"moof":
                end_of_fragment = offset + box_size
            last_type = box_type
            offset += box_size
    if end_of_fragment == 0:
        return False
    if offset < size:  # the walk stopped at a box cut short: drop it and its fragment
        os.truncate(path, end_of_fragment)
        logger.info("cut %s back to its last complete fragment (%d bytes)", path, end_of_fragment)
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
    r"^\.(?P<final>.+)\.(?P<token>[0-9a-f]+)\.(?P<stage>[a-z][a-z-]*)(?P<suffix>\.(?:mp4|webm|gif))$"
)  # what partial_name() makes: .<final name>.<token>.<stage>.<ext>
_VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")
_TAGGED_STEM = re.compile(r"\.(?:incomplete|recovered)(?:-\d+)?$")  # what recover names videos
_NOTHING_FLUSHED = (
    "no frame had been flushed to disk when its writer died (a video's first second, or less, "
    "is held in memory)"
)
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # how every WebM (Matroska) file starts
_MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"  # the element that holds a WebM's frames
_HEADER_AT_MOST = 1 << 20  # bytes: a file this big holds more than a container's header

Status = Literal["recovered", "published", "lost", "damaged", "left"]


@dataclass(frozen=True)
class Outcome:
    """What :func:`recover_folder` did with one file a killed process left.

    ``status`` is one of:

    - ``"recovered"``: its frames (or lines) are in ``kept``: an ``.incomplete`` video, a track;
    - ``"published"``: a finished video stranded under a hidden name now has its final name
      (``kept``), or ``<name>.recovered[-N].<ext>`` when another file took that name;
    - ``"lost"``: it held nothing to keep (no frame had reached the disk); it was removed;
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
        """True when nothing is left for a person to look at: recovered, published or lost."""
        return self.status in ("recovered", "published", "lost")

    def __str__(self) -> str:
        if self.status in ("recovered", "published"):
            return f"{self.status} {self.source} -> {self.kept} ({self.detail})"
        return f"{self.status} {self.source}: {self.detail}"


def is_leftover_name(path: Path) -> bool:
    """True for the hidden files a killed writer leaves: a video's or a data track's.

    Example:
        >>> [is_leftover_name(Path(n)) for n in (
        ...     ".run.mp4.0a1b2c3d.partial.mp4", ".run.mp4.0a1b2c3d.final.mp4",
        ...     ".run.track.jsonl.0a1b2c3d.writing", "run.mp4", ".run.mp4")]
        [True, True, True, False, False]
    """
    return bool(_LEFTOVER.match(path.name) or _TRACK_BEING_WRITTEN.match(path.name))


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
    for group in _leftover_groups(folder):
        if chosen is not None and not chosen & {path.name for path in group.values()}:
            continue
        outcome = _recover_group_reported(group)
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


def _leftover_groups(folder: Path) -> list[dict[str, Path]]:
    """The hidden video files in ``folder``, grouped by the video they were for: stage -> path."""
    groups: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _LEFTOVER.match(path.name)
        if match is not None and path.is_file():
            groups.setdefault((match["final"], match["token"]), {})[match["stage"]] = path
    return list(groups.values())


def _anchor(group: dict[str, Path]) -> Path:
    """The file a group's report names: its partial file, else its finished one, else any."""
    return group.get("partial") or group.get("final") or next(iter(group.values()))


def _in_use_error(path: Path) -> StorageError:
    return StorageError(
        f"{path} is still being written by a running process; it is not left over from a "
        "crash. Recover it once that process has ended."
    )


def _recover_named(source: Path) -> Outcome:
    """The outcome for one named hidden video file (and the rest of its group)."""
    match = _LEFTOVER.match(source.name)
    if match is None:
        raise InvalidArgumentError(f"{source} is not a partial file left by rlvideo")
    group = next(
        (g for g in _leftover_groups(source.parent) if source in g.values()), {"partial": source}
    )
    outcome = _recover_group_reported(group)
    if outcome is None:
        raise _in_use_error(source)
    return outcome


def _recover_group_reported(group: dict[str, Path]) -> Outcome | None:
    """:func:`_recover_group`, with a failure (a full disk) reported as ``left``."""
    try:
        return _recover_group(group)
    except (OSError, RLVideoError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        logger.warning("could not recover %s: %s", _anchor(group), reason)
        return Outcome("left", _anchor(group), detail=f"{reason}; left as it is")


def _recover_group(group: dict[str, Path]) -> Outcome | None:
    """Recover the hidden files of one video; None if a live process still writes them."""
    anchor = _anchor(group)
    match = _LEFTOVER.match(anchor.name)
    assert match is not None  # grouped by it
    final = anchor.with_name(match["final"])
    with contextlib.ExitStack() as locks:
        for path in group.values():  # a live writer holds its partial file's lock
            if not locks.enter_context(claimed_by_us(path)):
                logger.info("%s is still being written by a running process; left alone", path)
                return None
        partial, finished = group.get("partial"), group.get("final")
        if partial is not None:
            for stage, copy in group.items():  # copies of it a killed process was making
                if stage not in ("partial", "final"):
                    copy.unlink()
        if finished is None:
            return _recover_frames(anchor, final)
        if partial is None:
            return _publish_finished(finished, final)
        # killed during the remux: the partial file was closed, whole, before it began
        frames = remux(partial, finished, container_format="mp4")
        outcome = _publish_finished(finished, final, frames=frames, source=partial)
        partial.unlink()
        return outcome


def _publish_finished(
    finished: Path, final: Path, *, frames: int | None = None, source: Path | None = None
) -> Outcome:
    """Publish a finished video under ``final``, or a ``.recovered`` name if ``final`` is taken."""
    source = source or finished
    if frames is None:
        try:
            frames = _count_frames(finished)
        except (av.error.FFmpegError, IndexError) as exc:
            frames, problem = 0, getattr(exc, "strerror", None) or str(exc)
        else:
            problem = "it holds no frame"
        if frames == 0:
            kept = keep_as(finished, final, "damaged")
            return Outcome(
                "damaged", source, kept, f"no frame can be read ({problem}); kept as {kept}"
            )
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
    stage = r".\g<final>.\g<token>.recovering\g<suffix>"
    staging = source.with_name(_LEFTOVER.sub(stage, source.name))
    problem = "it holds no complete frame"
    try:
        # a GIF frame the kill cut short would decode torn: keep those before it
        whole = source.suffix != ".gif" or cut_to_complete_gif_frames(source)
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
    if path.suffix == ".mp4":
        boxes = _mp4_box_types(data)
        return boxes[:1] == [b"ftyp"] and not {b"moof", b"mdat"} & set(boxes)
    if path.suffix == ".webm":
        return data.startswith(_EBML_MAGIC) and _MATROSKA_CLUSTER not in data
    if path.suffix == ".gif":
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
        video = _video_for_track(folder, stem)
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
        if video.suffix in _VIDEO_SUFFIXES
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
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)
