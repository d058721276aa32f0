"""Turn fragmented or cut-short files into normal, playable videos by remuxing (no re-encoding).

While a :class:`~rlvideo.VideoWriter` records MP4, it writes a *fragmented* MP4 to a hidden
``.<name>.<token>.partial.mp4`` beside the final name, flushing each fragment (at most one
second of video) to disk. A process killed mid-video therefore leaves a file whose complete
fragments can still be read; :func:`recover` copies them into ``<name>.incomplete.mp4``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av

from rlvideo.errors import EncoderError, StorageError
from rlvideo.naming import final_name_of_partial, incomplete_name, is_partial_name

__all__ = ["publish", "recover", "remux"]

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
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot read {source} as video: {exc}") from exc
    return copied


def publish(source: Path, target: Path, *, overwrite: bool) -> None:
    """Move a finished file to its final name atomically, never replacing a file unless asked.

    Without ``overwrite`` the move is a hard link plus unlink, which fails if ``target``
    appeared meanwhile (another process), so nothing is replaced silently.

    Raises:
        FileExistsError: If ``target`` exists and ``overwrite`` is False (``source`` is kept).
        StorageError: If the file cannot be moved.
    """
    try:
        if overwrite:
            os.replace(source, target)
            return
        try:
            os.link(source, target)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links: check, then rename
            if target.exists():
                raise FileExistsError(str(target)) from None
            os.rename(source, target)
            return
        os.unlink(source)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot move {source} to {target}: {exc.strerror or exc}") from exc


def keep_as_incomplete(source: Path, final: Path) -> Path:
    """Move ``source`` to the first free ``<name>.incomplete[-N].<ext>`` beside ``final``."""
    for attempt in range(1000):
        candidate = incomplete_name(final, attempt)
        try:
            publish(source, candidate, overwrite=False)
        except FileExistsError:
            continue
        return candidate
    raise StorageError(f"no free '.incomplete' name for {final} after 1000 tries")


def recover(path: str | os.PathLike[str]) -> Path:
    """Make a playable video from a partial file left by a killed process.

    Args:
        path: A hidden ``.<name>.<token>.partial.<ext>`` file.

    Returns:
        The recovered video, ``<name>.incomplete.<ext>`` beside it. The partial file is removed.

    Raises:
        EncoderError: If no frame can be read from it.
    """
    source = Path(path)
    final = final_name_of_partial(source)
    staging = source.with_name(source.name.replace(".partial", ".recovering"))
    try:
        copied = remux(source, staging)
        if copied == 0:
            raise EncoderError(f"{source} holds no complete frame; nothing to recover")
        kept = keep_as_incomplete(staging, final)
    finally:
        staging.unlink(missing_ok=True)
    source.unlink()
    logger.info("recovered %d frames of %s into %s", copied, final.name, kept)
    return kept


def find_partials(folder: str | os.PathLike[str]) -> list[Path]:
    """The partial files in ``folder`` that :func:`recover` can turn into videos."""
    return sorted(p for p in Path(folder).iterdir() if is_partial_name(p))
