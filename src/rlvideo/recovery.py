"""Turn fragmented or cut-short files into normal, playable videos by remuxing (no re-encoding).

While a :class:`~rlvideo.VideoWriter` records MP4, it writes a *fragmented* MP4 to a hidden
``.<name>.<token>.partial.mp4`` beside the final name, flushing each fragment (at most one
second of video) to disk, and holds an advisory lock on it (:func:`~rlvideo._files.claim`). A
process killed mid-video therefore leaves a file whose complete fragments can still be read, and
whose lock the system has dropped; :func:`recover` copies them into ``<name>.incomplete.mp4``,
and leaves alone a file whose writer is still alive. A writer that fails (a full disk, an
encoder error) keeps what it recorded with :func:`salvage`. A video's data track, written to a
hidden ``.<name>.track.jsonl.<token>.writing`` and locked the same way, is given to its
``.incomplete`` video by :func:`recover_tracks`.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import struct
from pathlib import Path

import av

from rlvideo._files import claimed_by_us, in_use, keep_as_incomplete, keep_first_lines, publish
from rlvideo._track import TRACK_SUFFIX, track_path
from rlvideo.errors import EncoderError, RLVideoError, StorageError
from rlvideo.naming import final_name_of_partial, is_partial_name

__all__ = [
    "cut_to_complete_fragments",
    "cut_to_complete_gif_frames",
    "find_partials",
    "recover",
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
    """Make a playable video from a partial file left by a killed process.

    Args:
        path: A hidden ``.<name>.<token>.partial.<ext>`` file.

    Returns:
        The recovered video, ``<name>.incomplete.<ext>`` beside it. The partial file is removed.

    Raises:
        EncoderError: If no frame can be read from it.
        StorageError: If a live process is still writing it (a recording in progress, not a
            crash), or it cannot be read.
    """
    source = Path(path)
    final = final_name_of_partial(source)
    staging = source.with_name(source.name.replace(".partial", ".recovering"))
    try:
        with claimed_by_us(source) as ours:
            if not ours:
                raise StorageError(
                    f"{source} is still being written by a running process; it is not left "
                    "over from a crash. Recover it once that process has ended."
                )
            try:
                copied = remux(source, staging)
                if copied == 0:
                    raise EncoderError(f"{source} holds no complete frame; nothing to recover")
                kept = keep_as_incomplete(staging, final)
            finally:
                staging.unlink(missing_ok=True)
            source.unlink()
    except OSError as exc:
        if isinstance(exc, RLVideoError):
            raise
        raise StorageError(f"cannot recover {source}: {exc.strerror or exc}") from exc
    logger.info("recovered %d frames of %s into %s", copied, final.name, kept)
    return kept


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
    staging = partial.with_name(partial.name.replace(".partial", ".salvaged"))
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
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        return False
    offset = 13 + _gif_table_size(data[10])
    end_of_frame = 0

    def skip_sub_blocks(at: int) -> int:  # -> just past the 0 terminator, or past the end
        while at < len(data) and data[at]:
            at += data[at] + 1
        return at + 1

    while offset < len(data):
        kind = data[offset]
        if kind == 0x3B:  # the trailer: the file is whole
            return end_of_frame > 0
        if kind == 0x21:  # an extension: label, then sub-blocks
            offset = skip_sub_blocks(offset + 2)
        elif kind == 0x2C:  # an image: descriptor, local colour table, LZW size, sub-blocks
            if offset + 10 > len(data):
                break
            offset = skip_sub_blocks(offset + 11 + _gif_table_size(data[offset + 9]))
            if offset <= len(data):
                end_of_frame = offset
        else:  # damaged
            break
    if end_of_frame == 0:
        return False
    with path.open("r+b") as file:  # the trailer fits where the cut-off frame was
        file.truncate(end_of_frame)
        file.seek(end_of_frame)
        file.write(b"\x3b")
    logger.info("cut %s back to its last complete frame (%d bytes)", path, end_of_frame + 1)
    return True


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
_VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")


def recover_tracks(folder: str | os.PathLike[str]) -> list[Path]:
    """Give each data track a killed process left in ``folder`` to its ``.incomplete`` video.

    A track whose writer is alive (it holds the file's lock) is left alone; one whose video
    was not kept (no ``<name>.incomplete*`` video without a track of its own) stays hidden, and
    is logged. A kept track is cut to the video's frames and named after it:
    ``<name>.incomplete.track.jsonl``.

    Returns:
        The tracks recovered.
    """
    found = []
    for path in sorted(Path(folder).iterdir()):
        match = _TRACK_BEING_WRITTEN.match(path.name)
        if match is None or in_use(path):
            continue
        stem = match["stem"]
        videos = [
            video
            for video in Path(folder).glob(f"{glob.escape(stem)}.incomplete*")
            if video.suffix in _VIDEO_SUFFIXES and not track_path(video).exists()
        ]
        if not videos:
            logger.info("%s: no incomplete video of %s to give it to; left alone", path, stem)
            continue
        video = max(videos, key=lambda candidate: candidate.stat().st_mtime)  # the latest
        keep_first_lines(path, _count_frames(video))
        publish(path, track_path(video), overwrite=False)
        logger.info("recovered the data track of %s", video)
        found.append(track_path(video))
    return found


def _count_frames(video: Path) -> int:
    """Frames in ``video``, counted from its packets (no decoding)."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)
