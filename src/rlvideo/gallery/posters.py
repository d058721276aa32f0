"""The gallery's posters: a PNG of one frame of each video, written with PyAV only."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import av

from rlvideo.io._files import write_file

__all__ = ["POSTER_AT", "POSTER_FOLDER", "poster_is_current", "write_poster"]

logger = logging.getLogger(__name__)

POSTER_FOLDER = "posters"
"""The sub-folder of the gallery's folder that holds the poster images."""
POSTER_AT = Fraction(1, 3)
"""Where a video's poster frame is: a third of the way in (frame ``frames // 3``)."""


def poster_is_current(video: Path, posters: Path, relative: Path) -> bool:
    """True when the video's poster exists and is newer than the video: it is reused as it is."""
    poster = _poster_file(posters, relative)
    try:
        return poster.is_file() and poster.stat().st_mtime_ns >= video.stat().st_mtime_ns
    except OSError:
        return False


def write_poster(
    video: Path, posters: Path, relative: Path, *, frame: av.VideoFrame | None
) -> str | None:
    """Write the video's poster of ``frame`` (None: keep the current one); return its URL.

    The poster is ``posters/<relative>.png``, ``relative`` being the video's path from the
    gallery's folder: videos of two runs never share a poster, and its URL is relative too.

    Returns:
        The poster's URL, relative to the gallery's folder; None if it could not be written.
    """
    poster = _poster_file(posters, relative)
    href = quote(f"{POSTER_FOLDER}/{poster.relative_to(posters).as_posix()}")
    if frame is None:
        if poster_is_current(video, posters, relative):
            logger.debug("reusing the poster %s", poster)
            return href
        logger.warning("no poster for %s: it decodes to no frame", video)
        return None
    try:
        poster.parent.mkdir(parents=True, exist_ok=True)
        png = _png(frame)
    except (OSError, av.error.FFmpegError) as exc:
        logger.warning("no poster for %s: %s", video, exc)
        return None
    write_file(poster, png)
    logger.debug("wrote the poster %s (the frame at %.2f s)", poster, frame.time or 0.0)
    return href


def _poster_file(posters: Path, relative: Path) -> Path:
    return posters / relative.parent / f"{relative.name}.png"


def _png(frame: av.VideoFrame) -> bytes:
    """``frame`` as a PNG file's bytes, with PyAV only."""
    rgb = frame.reformat(format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = rgb.width, rgb.height, "rgb24"
    packets = encoder.encode(rgb) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
