"""The gallery's posters: a PNG of one frame of each video, written with PyAV only."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import av
import av.video.frame

from rlvideo.io._files import write_file

__all__ = ["POSTER_FOLDER", "write_poster"]

logger = logging.getLogger(__name__)

POSTER_FOLDER = "posters"
"""The sub-folder of the gallery's folder that holds the poster images."""


def write_poster(video: Path, posters: Path, relative: Path, *, frame_index: int) -> str | None:
    """Write (or reuse) the video's poster; return its relative URL, or None if it failed.

    The poster is ``posters/<relative>.png``, ``relative`` being the video's path from the
    gallery's folder: videos of two runs never share a poster, and its URL is relative too.
    """
    poster = posters / relative.parent / f"{relative.name}.png"
    href = quote(f"{POSTER_FOLDER}/{poster.relative_to(posters).as_posix()}")
    try:
        poster.parent.mkdir(parents=True, exist_ok=True)
        if poster.is_file() and poster.stat().st_mtime_ns >= video.stat().st_mtime_ns:
            logger.debug("reusing the poster %s", poster)
            return href
        png = _png_of_frame(video, frame_index)
    except (OSError, av.error.FFmpegError) as exc:
        logger.warning("no poster for %s: %s", video, exc)
        return None
    if png is None:
        logger.warning("no poster for %s: it decodes to no frame", video)
        return None
    write_file(poster, png)
    logger.debug("wrote the poster %s (frame %d)", poster, frame_index)
    return href


def _png_of_frame(video: Path, index: int) -> bytes | None:
    """Encode frame ``index`` of ``video`` (or its last, if shorter) as PNG, with PyAV only."""
    frame: av.video.frame.VideoFrame | None = None
    with av.open(str(video)) as container:
        for i, decoded in enumerate(container.decode(container.streams.video[0])):
            frame = decoded
            if i >= index:
                break
    if frame is None:
        return None
    rgb = frame.reformat(format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = rgb.width, rgb.height, "rgb24"
    packets = encoder.encode(rgb) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)
