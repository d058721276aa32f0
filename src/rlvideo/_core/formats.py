"""The formats rlvideo writes: one record per format, everything that differs between them.

Pure: no PyAV, no files. Every module that treats formats differently (the writer, the
encoder settings, cutting, recovery, the drop-in, the notebook) reads a field of
:data:`FORMATS` instead of comparing names, so a new format is one entry here.

Example:
    >>> FORMATS["webm"].codec, FORMATS["webm"].mime_type, FORMATS["gif"].cuttable
    ('libvpx-vp9', 'video/webm', False)
    >>> [f.suffix for f in FORMATS.values()]
    ['.mp4', '.webm', '.gif']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil
from pathlib import Path
from typing import Literal

from rlvideo.errors import InvalidArgumentError

__all__ = [
    "FORMATS",
    "NAMES",
    "CrashUnit",
    "Format",
    "VideoFormat",
    "check_format",
    "format_from_path",
    "format_of_suffix",
]

VideoFormat = Literal["mp4", "webm", "gif"]

CrashUnit = Literal["fragment", "cluster", "frame"]
"""What a killed write leaves readable: up to its last complete fragment, cluster or frame."""

_FINE_TICKS = 90_000  # the least ticks per second of a tick rate derived from the fps


@dataclass(frozen=True)
class Format:
    """What rlvideo does differently for one format.

    Attributes:
        name: The format's name, as ``format=`` takes it and FFmpeg's muxer is called.
        label: How people write it: ``"MP4"``, ``"WebM"``, ``"GIF"``.
        suffix: The file suffix, with its dot.
        mime_type: For HTML ``<video>`` sources and notebooks.
        codec: The FFmpeg encoder used when ``codec=None``.
        codec_name: The codec the files hold with that encoder (what a reader reports).
        holds: The codecs this container takes; ``codec=`` must produce one of them.
        pixel_format: The stream's pixel format.
        even_size: Whether frames must have even sizes (odd ones are padded by repeating
            the edge pixels): yuv420p halves the colour planes.
        muxer_options: How the file reaches the disk while it is written: every muxer hands
            what it muxed to the file at once and holds at most about a second of video.
        remux_on_close: Whether ``close()`` copies the packets into a new file (MP4: the
            fragmented file becomes a normal one, index first).
        finish_options: Muxer options of a finished file (a remux, a cut clip).
        tick_rate: Ticks per second of the stream's time base; None: derived from the fps
            (:meth:`ticks_per_second`).
        min_frame_ticks: The shortest frame, in ticks, that players honour.
        cuttable: Whether step clips are cut at keyframes from one encode of the episode;
            False: each clip is encoded on its own.
        crash_unit: What a killed write leaves readable: everything up to its last complete
            ``fragment`` (MP4), ``cluster`` (WebM) or ``frame`` (GIF).
        crash: The same, said for the documentation.
        html_element: The HTML element that plays it: ``"video"``, or ``"img"`` for GIF.
        notebook_downscale: Whether notebooks scale it down to keep the page light (GIF
            stores every pixel of every frame).
    """

    name: VideoFormat
    label: str
    suffix: str
    mime_type: str
    codec: str
    codec_name: str
    holds: tuple[str, ...]
    pixel_format: str
    even_size: bool
    muxer_options: Mapping[str, str]
    remux_on_close: bool = False
    finish_options: Mapping[str, str] = field(default_factory=dict)
    tick_rate: int | None = None
    min_frame_ticks: int = 1
    cuttable: bool = True
    crash_unit: CrashUnit = "frame"
    crash: str = ""
    html_element: Literal["video", "img"] = "video"
    notebook_downscale: bool = False

    def ticks_per_second(self, fps: Fraction) -> int:
        """The stream's tick rate for ``fps``.

        Without a fixed :attr:`tick_rate`: a multiple of the fps numerator of at least 90,000,
        which divides every frame of that fps exactly and is fine for any ``duration=``.

        Example:
            >>> FORMATS["mp4"].ticks_per_second(Fraction(30)), FORMATS["gif"].ticks_per_second(Fraction(30))
            (90000, 100)
        """  # noqa: E501
        if self.tick_rate is not None:
            return self.tick_rate
        return fps.numerator * ceil(_FINE_TICKS / fps.numerator)

    @property
    def max_fps(self) -> float | None:
        """The highest frame rate players honour, when the time base limits it (GIF: 50).

        Example:
            >>> FORMATS["gif"].max_fps, FORMATS["mp4"].max_fps
            (50.0, None)
        """
        return None if self.tick_rate is None else self.tick_rate / self.min_frame_ticks

    @property
    def paletted(self) -> bool:
        """Whether frames go through a palette (pal8): a palette filter feeds the encoder."""
        return self.pixel_format == "pal8"


FORMATS: Mapping[VideoFormat, Format] = {
    "mp4": Format(
        name="mp4", label="MP4", suffix=".mp4", mime_type="video/mp4",
        codec="libx264", codec_name="h264", holds=("h264", "hevc", "av1", "mpeg4", "vp9"),
        pixel_format="yuv420p", even_size=True,
        muxer_options={
            # delay_moov: write the (empty) index once the first packets are known, so it can
            # carry the edit list that hides x264's B-frame delay; without it every frame shows
            # ~2 frames late.
            "movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof",
            "frag_duration": "1000000",  # a fragment at least every second
            "flush_packets": "1",
        },
        remux_on_close=True, finish_options={"movflags": "+faststart"},
        crash_unit="fragment",
        crash="fragmented while written: readable up to its last complete fragment "
        "(about a second); `rlvideo recover` remuxes it",
    ),
    "webm": Format(
        name="webm", label="WebM", suffix=".webm", mime_type="video/webm",
        codec="libvpx-vp9", codec_name="vp9", holds=("vp8", "vp9", "av1"),
        pixel_format="yuv420p", even_size=True,
        # Matroska builds each cluster in memory (5 s by default): end one at least every second
        muxer_options={"cluster_time_limit": "1000", "flush_packets": "1"},
        crash_unit="cluster",
        crash="readable up to its last complete cluster (about a second); "
        "`rlvideo recover` remuxes it",
    ),
    "gif": Format(
        name="gif", label="GIF", suffix=".gif", mime_type="image/gif",
        codec="gif", codec_name="gif", holds=("gif",),
        pixel_format="pal8", even_size=False,
        # the GIF muxer writes each frame as the next one arrives (its delay needs the next pts)
        muxer_options={"flush_packets": "1"},
        tick_rate=100,  # GIF delays are in centiseconds
        min_frame_ticks=2,  # browsers play a delay of 0 or 1 cs as 10 cs
        cuttable=False,
        crash_unit="frame",
        crash="readable up to its last complete frame; `rlvideo recover` cuts a torn frame "
        "off and ends the file",
        html_element="img", notebook_downscale=True,
    ),
}  # fmt: skip
"""Every format rlvideo writes, by name, in the order they are offered."""

NAMES: tuple[VideoFormat, ...] = tuple(FORMATS)
"""The formats' names: ``("mp4", "webm", "gif")``."""

_BY_SUFFIX = {video_format.suffix: video_format for video_format in FORMATS.values()}


def check_format(video_format: str) -> VideoFormat:
    """Return ``video_format`` if rlvideo writes it, else raise a clear error.

    Example:
        >>> check_format("avi")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: format 'avi' is not supported; choose one of 'mp4', 'webm', 'gif'
    """  # noqa: E501
    for known in NAMES:
        if video_format == known:
            return known
    choices = ", ".join(repr(f) for f in NAMES)
    raise InvalidArgumentError(f"format {video_format!r} is not supported; choose one of {choices}")


def format_of_suffix(suffix: str) -> Format | None:
    """The format of a file suffix (``".mp4"``, any case), or None for another suffix.

    Example:
        >>> format_of_suffix(".GIF").name, format_of_suffix(".avi")
        ('gif', None)
    """
    return _BY_SUFFIX.get(suffix.lower())


def format_from_path(path: str | Path) -> VideoFormat:
    """The format a file name asks for, by its suffix.

    Example:
        >>> format_from_path("videos/run.webm")
        'webm'
        >>> format_from_path("videos/run")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: cannot tell the video format of 'videos/run' from its suffix; end it in .mp4, .webm or .gif, or pass format=
    """  # noqa: E501
    found = format_of_suffix(Path(path).suffix)
    if found is not None:
        return found.name
    suffixes = [f.suffix for f in FORMATS.values()]
    raise InvalidArgumentError(
        f"cannot tell the video format of {str(path)!r} from its suffix; "
        f"end it in {', '.join(suffixes[:-1])} or {suffixes[-1]}, or pass format="
    )
