"""Show videos inline in Jupyter: frames or a file in, a self-contained HTML player out.

:func:`show` returns a :class:`Video`, which Jupyter (and VS Code, Colab, JupyterLab) renders
through its ``_repr_html_`` method: the video is embedded as a base64 ``data:`` URI, so the
notebook keeps it after the kernel is gone and no file has to be served. Frames are encoded
with :class:`~rlvideo.VideoWriter` into a temporary folder, streaming (memory stays flat while
encoding), then read back as bytes. :func:`show_grid` lays several videos out side by side.

Nothing here imports IPython: the ``_repr_html_`` protocol needs no import. Only
:meth:`Video.display` (for showing a video from inside a loop) loads it, through the
``notebook`` extra.

**GIF fallback.** Some viewers cannot play H.264 MP4 (VS Code without its codec, GitHub's and
some static notebook renderers, which also drop ``<video>``); ``format="gif"`` embeds an
animated ``<img>`` instead, which shows everywhere. A ``.gif`` file is always shown as ``<img>``.

**Size.** Embedded videos live in the ``.ipynb`` file, base64-encoded (4/3 of the file size).
Notebooks get slow to save, load and render past a few tens of megabytes, so a video above
:data:`EMBED_WARN_BYTES` (50 MB) logs a warning on the ``rlvideo.notebook`` logger. Show fewer
or smaller frames, or save the file and link to it instead.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

import av
import numpy as np

from rlvideo._core.formats import FORMATS, VideoFormat, check_format, format_of_suffix
from rlvideo._core.frames import frame_sequence, is_frame
from rlvideo._core.naming import MIME_TYPES
from rlvideo._core.optional import import_optional
from rlvideo._core.spec import check_fps
from rlvideo._core.units import format_size
from rlvideo.errors import (
    EncoderError,
    InvalidArgumentError,
    InvalidFrameError,
    RLVideoError,
    StorageError,
    VideoExistsError,
)
from rlvideo.io._files import check_target, write_file
from rlvideo.io._scale import Downscaler
from rlvideo.io.reader import decoded, open_video
from rlvideo.io.writer import VideoWriter

__all__ = [
    "EMBED_WARN_BYTES",
    "GIF_MAX_WIDTH",
    "GRID_MIN_CELL",
    "MIME_TYPES",
    "Grid",
    "Video",
    "show",
    "show_grid",
]

logger = logging.getLogger(__name__)

EMBED_WARN_BYTES: Final = 50_000_000
"""Embedded video bytes above which :func:`show` and :func:`show_grid` log a warning."""

GIF_MAX_WIDTH: Final = 480
"""The widest a GIF made by :func:`show` is, in pixels, unless ``width=`` asks for more.

GIF stores every pixel of every frame with a 256-colour palette: a 600x400 CartPole episode is
several MB as GIF against some 100 kB as MP4. Frames wider than this are scaled down (area
averaging) before encoding; a ``.gif`` file is shown as it is."""

GRID_MIN_CELL: Final = 160
"""The narrowest a :func:`show_grid` cell gets, in CSS pixels, before the grid wraps."""


VideoSource = str | os.PathLike[str] | Iterable[Any]
"""What :func:`show` takes: a video file's path, or frames."""


class Video:
    """One video, embedded in a notebook as a base64 ``data:`` URI.

    Usually made by :func:`show`; build one directly to show bytes you already have.

    Args:
        data: The encoded file's bytes.
        format: ``"mp4"``, ``"webm"`` or ``"gif"``: what ``data`` holds.
        width: Display width in CSS pixels (the player keeps the aspect ratio and never grows
            past its cell); the video's own width when None.
        title: A caption shown above the video (HTML-escaped).
        autoplay: Start playing at once, muted (browsers play only muted videos unasked), as
            mediapy's ``show_video`` does. Not for GIF, which always plays.
        loop: Start again at the end (mediapy's default too). Not for GIF, which always loops.

    Attributes:
        data: The encoded bytes.
        format: The format of ``data``.
        mime: Its MIME type, e.g. ``"video/mp4"``.

    Raises:
        InvalidArgumentError: For empty ``data`` or a bad format, width or title.
    """

    def __init__(
        self,
        data: bytes,
        format: VideoFormat,  # the word users know from VideoWriter
        *,
        width: int | None = None,
        title: str | None = None,
        autoplay: bool = True,
        loop: bool = True,
    ) -> None:
        if not isinstance(data, bytes | bytearray | memoryview) or not len(data):
            raise InvalidArgumentError(
                f"Video needs the encoded file's bytes, got {_describe(data)}"
            )
        self.data = bytes(data)
        self.format: VideoFormat = check_format(format)
        self.mime = FORMATS[self.format].mime_type
        self.width = _check_width(width)
        self.title = _check_title(title)
        self.autoplay = bool(autoplay)
        self.loop = bool(loop)

    def __repr__(self) -> str:
        title = f", title={self.title!r}" if self.title is not None else ""
        return f"<Video {self.mime}, {format_size(len(self.data))}{title}>"

    @property
    def data_uri(self) -> str:
        """The video as a ``data:<mime>;base64,...`` URI."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"

    def _repr_html_(self) -> str:
        """The HTML Jupyter shows: an optional title, then ``<video>`` (or ``<img>`` for GIF)."""
        style = "max-width: 100%; height: auto;"
        if self.width is not None:
            style = f"width: {self.width}px; " + style
        if FORMATS[self.format].html_element == "img":
            alt = html.escape(self.title or "animated GIF", quote=True)
            player = f'<img src="{self.data_uri}" alt="{alt}" style="{style}">'
        else:
            flags = ["controls"]
            if self.autoplay:
                flags += ["autoplay", "muted", "playsinline"]
            if self.loop:
                flags.append("loop")
            player = (
                f'<video {" ".join(flags)} style="{style}" src="{self.data_uri}">'
                f"This viewer cannot play {self.mime}; try show(..., format=&quot;gif&quot;)."
                "</video>"
            )
        caption = ""
        if self.title is not None:
            caption = (
                '<div style="font-weight: bold; margin-bottom: 4px;">'
                f"{html.escape(self.title)}</div>"
            )
        return f'<div class="rlvideo-video">{caption}{player}</div>'

    def save(self, path: str | os.PathLike[str], *, overwrite: bool | None = None) -> Path:
        """Write the video's bytes to ``path`` (atomically: a hidden name, then a rename).

        Args:
            path: The file; its suffix must match the format (``.mp4`` for MP4 data, ...).
                Its folder is created if needed.
            overwrite: An existing file: None (default) is replaced, said once per folder;
                True is replaced quietly; False is an error.

        Returns:
            The absolute path written.

        Raises:
            InvalidArgumentError: If the suffix does not match the format.
            VideoExistsError: If ``path`` exists and ``overwrite`` is False.
            StorageError: If the file cannot be written.
        """
        target = Path(path).absolute()
        if target.suffix.lower() != f".{self.format}":
            raise InvalidArgumentError(
                f"cannot save {self.format} data as {str(path)!r}: the suffix would mislabel "
                f"it; end the name in .{self.format}"
            )
        check_target(target, overwrite=overwrite)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            return write_file(target, self.data, overwrite=overwrite)
        except FileExistsError:  # taken meanwhile
            raise VideoExistsError.for_path(target) from None
        except OSError as exc:
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from exc

    def display(self) -> None:
        """Show the video now, e.g. from inside a loop; needs IPython (the ``notebook`` extra).

        Raises:
            MissingDependencyError: If IPython is not installed.
        """
        _ipython_display(self, feature="rlvideo.Video.display()")


class Grid:
    """Several videos in a CSS grid, each with its title; made by :func:`show_grid`.

    Args:
        videos: The videos, in reading order (left to right, then down).
        columns: Videos per row.

    Attributes:
        videos: The videos.
        columns: Videos per row.

    Raises:
        InvalidArgumentError: If there is no video or ``columns`` is not a positive int.
    """

    def __init__(self, videos: Sequence[Video], *, columns: int = 3) -> None:
        self.videos = list(videos)
        if not self.videos:
            raise InvalidArgumentError("a grid needs at least one video, got none")
        for i, video in enumerate(self.videos):
            if not isinstance(video, Video):
                raise InvalidArgumentError(f"grid item {i} is {_describe(video)}, not a Video")
        self.columns = _check_positive_int("columns", columns)

    def __repr__(self) -> str:
        size = format_size(sum(len(video.data) for video in self.videos))
        return f"<Grid of {len(self.videos)} videos in {self.columns} columns, {size}>"

    def __len__(self) -> int:
        return len(self.videos)

    def _repr_html_(self) -> str:
        """The HTML Jupyter shows: one grid cell per video, fitting the page's width.

        At most ``columns`` per row; the columns share the width the page has (no fixed total
        width), and on a page too narrow for ``columns`` cells of 160 px they wrap to fewer
        rows' worth. Each video shrinks to its cell, never past its own width.
        """
        columns = min(self.columns, len(self.videos))
        cell = f"max({GRID_MIN_CELL}px, calc((100% - {columns - 1} * 12px) / {columns}))"
        style = (
            f"display: grid; grid-template-columns: repeat(auto-fill, minmax({cell}, 1fr)); "
            "gap: 12px; align-items: start; width: 100%; max-width: 100%; "
            "box-sizing: border-box;"
        )
        cells = "".join(video._repr_html_() for video in self.videos)
        return f'<div class="rlvideo-grid" style="{style}">{cells}</div>'

    def display(self) -> None:
        """Show the grid now, e.g. from inside a loop; needs IPython (the ``notebook`` extra).

        Raises:
            MissingDependencyError: If IPython is not installed.
        """
        _ipython_display(self, feature="rlvideo.Grid.display()")


def show(
    video: VideoSource,
    *,
    fps: float = 30,
    width: int | None = None,
    title: str | None = None,
    format: VideoFormat | None = None,  # the word users know from VideoWriter
    autoplay: bool = True,
    loop: bool = True,
) -> Video:
    """Show frames or a video file inline in a notebook: make it a cell's last expression.

    Args:
        video: A video file's path (``.mp4``, ``.webm`` or ``.gif``), or frames: a list of
            ``(H, W, 3)`` arrays, an ``(N, H, W, C)`` array, or any iterable of frames (read
            once, streaming). Frames follow :mod:`rlvideo._core.frames`' rules (uint8 RGB,
            grayscale,
            RGBA, float in [0, 1], bool).
        fps: Frames per second for frames; ignored for a file, which keeps its own timing.
        width: Display width in CSS pixels; the video's own width when None.
        title: A caption above the video.
        format: ``"mp4"`` (H.264, the default for frames), ``"webm"`` (VP9) or ``"gif"``
            (plays in every viewer). A file is embedded as it is when None or its own
            format, else re-encoded to ``format`` (e.g. ``show("run.mp4", format="gif")``).
        autoplay: Start playing at once, muted, as mediapy does (``False``: wait for a click).
            Not for GIF, which always plays.
        loop: Play in a loop, as mediapy does. Not for GIF, which always loops.

    Returns:
        A :class:`Video`; Jupyter renders it through ``_repr_html_``.

    Raises:
        StorageError: If the file does not exist or is a folder.
        InvalidArgumentError: For an unknown suffix or format, a bad fps, width or title, or
            ``video`` that is neither a path nor frames.
        InvalidFrameError: If there are no frames, or a frame cannot become video.
        EncoderError: If the file cannot be read as video, or FFmpeg fails.

    Example:
        >>> import numpy as np
        >>> frames = np.zeros((10, 32, 32, 3), np.uint8)
        >>> show(frames)._repr_html_()[:30]
        '<div class="rlvideo-video"><vi'
        >>> clip = show(frames, fps=10, title="random policy")
        >>> clip.mime, clip.data[4:8]
        ('video/mp4', b'ftyp')
        >>> html = clip._repr_html_()
        >>> html.count("<video "), 'src="data:video/mp4;base64,' in html
        (1, True)
        >>> show(frames, format="gif").mime  # the GIF fallback
        'image/gif'
        >>> clip.save("clip.mp4").name
        'clip.mp4'
        >>> show("clip.mp4", title="from a file")
        <Video video/mp4, ...B, title='from a file'>
        >>> show([])
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidFrameError: show() got no frames; pass at least one
    """
    made = _make_video(
        video, fps=fps, width=width, title=title, format=format, autoplay=autoplay, loop=loop
    )
    _warn_if_big(len(made.data), "this video")
    return made


def show_grid(
    items: Iterable[VideoSource | Video],
    *,
    titles: Sequence[str] | None = None,
    columns: int = 3,
    width: int | None = None,
    fps: float = 30,
    format: VideoFormat | None = None,  # the word users know from VideoWriter
) -> Grid:
    """Show several videos side by side, e.g. one per seed or per checkpoint.

    Args:
        items: Videos as :func:`show` takes them (paths or frame sequences), or :class:`Video`
            objects (a title given in ``titles`` replaces theirs).
        titles: One caption per item, or None.
        columns: Videos per row.
        width: Display width of each video in CSS pixels; their own widths when None.
        fps: Frames per second for items given as frames.
        format: As in :func:`show`; ``"gif"`` for viewers without H.264.

    Returns:
        A :class:`Grid`; Jupyter renders it through ``_repr_html_``.

    Raises:
        InvalidArgumentError: If there are no items, ``titles`` has the wrong length, or
            ``columns`` or ``width`` is not a positive int; and as :func:`show` raises.

    Example:
        >>> import numpy as np
        >>> runs = [np.full((8, 32, 32, 3), 60 * i, np.uint8) for i in range(4)]
        >>> grid = show_grid(runs, titles=["seed 0", "seed 1", "seed 2", "seed 3"], columns=2)
        >>> grid
        <Grid of 4 videos in 2 columns, ...B>
        >>> html = grid._repr_html_()
        >>> html.count("<video "), "calc((100% - 1 * 12px) / 2)" in html, "seed 3" in html
        (4, True, True)
    """
    sources = list(items)
    if not sources:
        raise InvalidArgumentError("show_grid() got no videos; pass at least one")
    _check_positive_int("columns", columns)
    _check_width(width)
    if titles is not None:
        if isinstance(titles, str):
            raise InvalidArgumentError(
                f"titles must be a sequence of strings, one per video, got the string {titles!r}"
            )
        titles = list(titles)
        if len(titles) != len(sources):
            raise InvalidArgumentError(
                f"got {len(titles)} titles for {len(sources)} videos; pass one title per video "
                "(or titles=None)"
            )
    videos = []
    for i, source in enumerate(sources):
        title = titles[i] if titles is not None else None
        if isinstance(source, Video):
            videos.append(
                Video(
                    source.data,
                    source.format,
                    width=width if width is not None else source.width,
                    title=title if titles is not None else source.title,
                    autoplay=source.autoplay,
                    loop=source.loop,
                )
            )
        else:
            videos.append(_make_video(source, fps=fps, width=width, title=title, format=format))
    grid = Grid(videos, columns=columns)
    _warn_if_big(sum(len(video.data) for video in videos), f"these {len(videos)} videos")
    return grid


# -- internals -------------------------------------------------------------------------------
def _make_video(
    video: VideoSource,
    *,
    fps: float,
    width: int | None,
    title: str | None,
    format: VideoFormat | None,
    autoplay: bool = True,
    loop: bool = True,
) -> Video:
    """Check every argument, then encode or read the video."""
    checked_fps = check_fps(fps)
    width = _check_width(width)
    title = _check_title(title)
    wanted = None if format is None else check_format(format)
    if isinstance(video, str | os.PathLike):
        data, made_as = _from_file(Path(video), wanted, display_width=width)
    else:
        made_as = wanted or "mp4"
        data = _encode(
            _frames_of(video), fps=float(checked_fps), video_format=made_as, display_width=width
        )
    return Video(data, made_as, width=width, title=title, autoplay=autoplay, loop=loop)


def _from_file(
    path: Path, wanted: VideoFormat | None, *, display_width: int | None = None
) -> tuple[bytes, VideoFormat]:
    """The bytes of a video file, re-encoded to ``wanted`` if it is another format."""
    record = format_of_suffix(path.suffix)
    if record is None:
        raise InvalidArgumentError(
            f"cannot show {str(path)!r}: its suffix is not .mp4, .webm or .gif "
            "(the formats a notebook plays)"
        )
    own = record.name
    if not path.exists():
        raise StorageError(f"cannot show {str(path)!r}: no such file")
    if path.is_dir():
        raise StorageError(f"cannot show {str(path)!r}: it is a folder; give a video file")
    try:
        no_video = f"cannot show {str(path)!r}: it holds no video stream"
        with open_video(path, no_video=no_video) as stream:
            if wanted is None or wanted == own:
                return path.read_bytes(), own
            rate = stream.average_rate or stream.guessed_rate or 30
            logger.debug("re-encoding %s as %s for the notebook", path, wanted)
            frames = _timed_frames(decoded(stream))
            encoded = _encode(frames, fps=rate, video_format=wanted, display_width=display_width)
            return encoded, wanted
    except av.error.FFmpegError as exc:
        raise EncoderError(f"cannot read {str(path)!r} as video: {exc}") from exc
    except OSError as exc:
        if isinstance(exc, RLVideoError):
            raise
        raise StorageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc


def _timed_frames(
    decoded: Iterable[av.VideoFrame],
) -> Iterable[tuple[np.ndarray[Any, Any], float | None]]:
    """Decoded frames as RGB arrays with their display time in seconds (None if unknown)."""
    for frame in decoded:
        seconds = None
        if frame.duration and frame.time_base:
            seconds = float(frame.duration * frame.time_base)
        yield frame.to_ndarray(format="rgb24"), seconds


def _frames_of(video: Any) -> Iterable[tuple[Any, None]]:
    """The frames of ``video`` (each at the writer's fps), after checks that need no encoding."""
    if isinstance(video, bytes | bytearray | memoryview):
        raise InvalidArgumentError(
            "show() got bytes; for an encoded file's bytes use Video(data, format=...), "
            "for frames pass arrays"
        )
    if is_frame(video) or isinstance(video, Sequence):
        video = frame_sequence(
            video, caller="show()", empty="show() got no frames; pass at least one"
        )
    elif not isinstance(video, Iterable):
        raise InvalidArgumentError(
            f"show() takes a video file's path or frames, got {_describe(video)}"
        )
    return ((frame, None) for frame in video)


def _encode(
    frames: Iterable[tuple[Any, float | None]], *, fps: Any, video_format: VideoFormat,
    display_width: int | None = None,
) -> bytes:  # fmt: skip
    """Encode frames in a temporary folder with :class:`VideoWriter`; return the file's bytes.

    A GIF is scaled down to :data:`GIF_MAX_WIDTH` (or ``display_width`` if wider).
    """
    if FORMATS[video_format].notebook_downscale:
        frames = _scaled_down(frames, max(GIF_MAX_WIDTH, display_width or 0))
    with tempfile.TemporaryDirectory(prefix="rlvideo-show-") as folder:
        writer = VideoWriter(Path(folder, f"video.{video_format}"), fps=fps, format=video_format)
        try:
            for frame, seconds in frames:
                writer.write(frame, duration=seconds)
            if writer.frames_written == 0:
                raise InvalidFrameError("show() got no frames; pass at least one")
            path = writer.close()
        except BaseException:
            writer.discard()
            raise
        return path.read_bytes()


def _scaled_down(
    frames: Iterable[tuple[Any, float | None]], max_width: int
) -> Iterable[tuple[Any, float | None]]:
    """The frames, converted, and scaled (area averaging) to ``max_width`` if wider."""
    from rlvideo._core.frames import FrameConverter

    convert = FrameConverter()
    shrink = Downscaler(max_width=max_width)
    for frame, seconds in frames:
        array: Any = convert(frame)
        height, width = array.shape[:2]
        if shrink.size(width, height) != (width, height):
            layout = convert.layout.pixel_format
            scaled = shrink(av.VideoFrame.from_ndarray(array, format=layout), format=layout)
            array = scaled.to_ndarray(format=layout)
        yield array, seconds


def _ipython_display(obj: Video | Grid, *, feature: str) -> None:
    ipython_display = import_optional("IPython.display", "notebook", feature=feature)
    ipython_display.display(obj)


def _warn_if_big(size: int, what: str) -> None:
    if size > EMBED_WARN_BYTES:
        logger.warning(
            "embedding %s (%s, %s as base64) in the notebook; notebooks get slow to save and "
            "load past %s: show fewer or smaller frames, or save the file and link to it",
            what, format_size(size), format_size(size * 4 // 3),
            format_size(EMBED_WARN_BYTES),
        )  # fmt: skip


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_width(width: Any) -> int | None:
    if width is None:
        return None
    return _check_positive_int("width (CSS pixels)", width)


def _check_title(title: Any) -> str | None:
    if title is not None and not isinstance(title, str):
        raise InvalidArgumentError(f"title must be a string or None, got {_describe(title)}")
    return title


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
