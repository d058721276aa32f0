"""Burn episode, step, reward, return, action and info values into frames: the overlay.

``overlay=`` on every wrapper (:class:`rlvideo._core.options.RecordingOptions`) writes, on each
frame before it goes to the encoder, a few values as text: ``True`` shows episode, step, reward and
return; a list names the fields (``["step", "reward", "x_position"]``: the values the recorder
keeps, or keys of the step's info); a callable ``values -> str`` writes the text itself. The
same :class:`Overlay` is a frame transform for :class:`rlvideo.VideoWriter` and
:func:`rlvideo.save_video`: ``overlay(frame, values) -> frame``.

Where the text goes (``Overlay(position=...)``):

- ``"top"`` (the default) or ``"bottom"``: in a black band added above or below the frame. The
  env's pixels are never covered (Pong's score, a cart at the edge); the video is taller by the
  band's height, which is even (H.264 wants even sizes), fixed for a frame size (the band holds
  as many lines as the fields need at that width) and recorded in the sidecar as
  ``"overlay": {"position": "top", "band_height": 24}`` (:meth:`Overlay.record`), so the
  gallery and other tools know which rows are the env's.
- ``"top-left"``, ``"top-right"``, ``"bottom-left"``, ``"bottom-right"``: in a semi-opaque box
  in that corner of the frame, which keeps its size (the sidecar says ``"band_height": 0``).

The text is white, in Pillow's default font at a size taken from the frame (8 px at 84x84,
14 px at 600x400, 39 px at 1080p). A gray ``(H, W)`` frame gets a gray band, an RGBA frame an
opaque one: the frame keeps its kind. The frame is copied (it may be the env's read-only
buffer), about 0.1 ms a frame at 600x400 (``benchmarks/bench_overlay.py``). Needs Pillow:
``pip install "rlvideo[overlay]"`` (PyAV's FFmpeg has no ``drawtext``). No files, no PyAV.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast, get_args

import numpy as np
import numpy.typing as npt

from rlvideo._core.frames import FrameConverter
from rlvideo._core.optional import import_optional
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_FIELDS",
    "Overlay",
    "OverlayOption",
    "Position",
    "font_size_for",
    "format_value",
    "overlay_from_option",
    "wrap_widths",
]

Position = Literal["top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right"]
"""Where the text goes: a band above or below the frame, or a box in a corner of the frame."""
DEFAULT_FIELDS = ("episode", "step", "reward", "return")
"""What ``overlay=True`` shows."""
OverlayOption = Any
"""What ``overlay=`` takes: None/False, True, a list of field names, a callable, an Overlay."""

_POSITIONS: tuple[str, ...] = get_args(Position)
_BANDS = ("top", "bottom")
_Box = tuple[int, int, int, int]
_Lines = list[list[npt.NDArray[np.uint8]]]
_MIN_FONT = 8
_TYPICAL_VALUES = {"episode": "00", "step": "000", "frame": "000", "reward": "-0.00"}
"""The value a field's width is reckoned with when a band's height is chosen (else -000.00)."""


def format_value(value: Any) -> str:
    """A value as the overlay shows it: floats with two decimals, short lists, ``-`` for none.

    Example:
        >>> format_value(1.0), format_value(None), format_value(np.int64(41)), format_value(3e7)
        ('1.00', '-', '41', '3e+07')
        >>> format_value(np.array([0.5, -1.0])), format_value(list(range(9)))
        ('[0.50 -1.00]', '[0 1 2 3 4 5 ...]')
    """
    if value is None:
        return "-"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.2f}" if abs(value) < 1e5 else f"{value:.4g}"
    if isinstance(value, np.ndarray) or (
        isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    ):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        shown = [format_value(item) for item in items[:6]]
        return "[" + " ".join(shown) + (" ...]" if len(items) > 6 else "]")
    return str(value)[:40]


def font_size_for(height: int, width: int) -> int:
    """The font size, in pixels, for a frame: readable from 84x84 Atari to 1080p.

    Example:
        >>> font_size_for(84, 84), font_size_for(400, 600), font_size_for(1080, 1920)
        (8, 14, 39)
    """
    return max(_MIN_FONT, round(min(height, 0.75 * width) / 28))


def wrap_widths(widths: Sequence[int], gap: int, width: int) -> list[list[int]]:
    """Group pieces of text, by their widths, into as few lines as fit in ``width``.

    Pieces keep their order and are ``gap`` pixels apart; a piece wider than ``width`` gets a
    line of its own (and is cut off by the frame's edge). Returns each line's piece indices.

    Example:
        >>> wrap_widths([90, 70, 110], gap=10, width=200)
        [[0, 1], [2]]
    """
    lines: list[list[int]] = []
    used = 0
    for index, piece in enumerate(widths):
        if lines and used + gap + piece <= width:
            lines[-1].append(index)
            used += gap + piece
        else:
            lines.append([index])
            used = piece
    return lines


class _Glyphs:
    """Pillow's default font at one size, each character rendered once and reused.

    FreeType lays out and rasterizes a line in about 0.6 ms; pasting cached glyphs with NumPy
    takes a few microseconds each, and a whole line seen before (``reward 1.00``) is reused.
    Pen positions are rounded to whole pixels and kerning is left out: at these sizes the
    text reads the same.
    """

    _LINES = 256  # rendered lines kept

    def __init__(self, size: int) -> None:
        image_font = import_optional("PIL.ImageFont", "overlay", feature="overlay")
        self._image = import_optional("PIL.Image", "overlay", feature="overlay")
        self._draw = import_optional("PIL.ImageDraw", "overlay", feature="overlay")
        try:
            self.font = image_font.load_default(size=size)
        except TypeError:  # Pillow < 10.1: one bitmap size
            self.font = image_font.load_default()
        if hasattr(self.font, "getmetrics"):
            ascent, descent = self.font.getmetrics()
            self.height = int(ascent + descent)
        else:
            self.height = int(self.font.getbbox("Ag")[3])
        self._word_gap = max(1, round(float(self.font.getlength(" "))))
        self.space = 2 * self._word_gap
        """The gap between two pieces of text on a line: two spaces."""
        self._glyphs: dict[str, tuple[int, int, npt.NDArray[np.uint8], float]] = {}
        self._lines: dict[str, npt.NDArray[np.uint8]] = {}

    def _glyph(self, char: str) -> tuple[int, int, npt.NDArray[np.uint8], float]:
        """``(x offset, y offset, coverage, advance)`` of one character."""
        glyph = self._glyphs.get(char)
        if glyph is None:
            left, top, right, bottom = (int(v) for v in self.font.getbbox(char))
            image = self._image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
            self._draw.Draw(image).text((-left, -top), char, font=self.font, fill=255)
            glyph = (left, top, np.asarray(image), float(self.font.getlength(char)))
            self._glyphs[char] = glyph
        return glyph

    def width(self, text: str) -> int:
        """The width of ``text`` in pixels, as :meth:`render` draws it."""
        pen, right = 0.0, 0
        for char in text:
            left, _, coverage, advance = self._glyph(char)
            right = max(right, round(pen) + left + coverage.shape[1])
            pen += advance
        return max(right, math.ceil(pen))

    def render(self, text: str) -> npt.NDArray[np.uint8]:
        """``text``'s coverage, white on black, ``height`` pixels high.

        Words are rendered once each and put side by side: ``step 41`` reuses ``step``.
        """
        line = self._lines.get(text)
        if line is not None:
            return line
        words = text.split(" ")
        if len(words) > 1:
            parts = [self.render(word) for word in words]
            gap = self._word_gap
            line = np.zeros(
                (self.height, sum(p.shape[1] for p in parts) + gap * (len(parts) - 1)), np.uint8
            )
            left = 0
            for part in parts:
                line[:, left : left + part.shape[1]] = part
                left += part.shape[1] + gap
        else:
            line = self._render_word(text)
        if len(self._lines) >= self._LINES:
            self._lines.pop(next(iter(self._lines)))
        self._lines[text] = line
        return line

    def _render_word(self, text: str) -> npt.NDArray[np.uint8]:
        line = np.zeros((self.height, self.width(text)), np.uint8)
        pen = 0.0
        for char in text:
            left, top, coverage, advance = self._glyph(char)
            x, y = round(pen) + left, max(0, top)
            pen += advance
            rows = coverage[y - top : y - top + self.height - y, max(0, -x) :]
            x = max(0, x)  # a glyph reaching left of the pen ("3": -1) is cut, never wrapped
            if char != " " and rows.size:
                target = line[y : y + rows.shape[0], x : x + rows.shape[1]]
                np.maximum(target, rows[:, : target.shape[1]], out=target)
        return line


@functools.lru_cache(maxsize=16)
def _glyphs(size: int) -> _Glyphs:
    """The glyph cache of one font size: loaded once per size."""
    return _Glyphs(size)


class Overlay:
    r"""Write episode, step, reward, return, action, info... on frames: in a band, or a box.

    Args:
        fields: The fields to show, in order: values the recorder keeps (``episode``,
            ``step``, ``reward``, ``return``, ``action``, ``frame``, ``terminated``,
            ``truncated``), or keys of the step's info (``x_position``). Or a callable
            ``values -> str`` that writes the text (lines split on ``"\n"``).
        position: ``"top"`` (default) or ``"bottom"``: a band added above or below the frame,
            which covers none of the env's pixels (the frame grows by :meth:`band_height`);
            ``"top-left"``, ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``: a box
            drawn in that corner, inside the frame, which keeps its size.
        font_size: Pixels; by default from the frame's size (:func:`font_size_for`).
        opacity: How dark the box behind the text is, from 0 (none) to 1 (black); a band is
            black.

    Raises:
        InvalidArgumentError: For a bad field list, position, font size or opacity.
        MissingDependencyError: Without Pillow (``pip install "rlvideo[overlay]"``).

    Example:
        >>> import numpy as np
        >>> values = {"episode": 0, "step": 3, "reward": 1.0, "return": 3.0}
        >>> frame = np.full((400, 600, 3), 255, np.uint8)
        >>> out = Overlay()(frame, values)  # a band above the frame: 24 rows at 600x400
        >>> out.shape, bool((out[24:] == frame).all()), Overlay().record(400, 600, values)
        ((424, 600, 3), True, {'position': 'top', 'band_height': 24})
        >>> overlay = Overlay(["step", "reward", "x_position"], position="bottom-right")
        >>> values = {"step": 3, "reward": 1.0, "info": {"x_position": 0.25}}
        >>> overlay.text(values)
        'step 3  reward 1.00  x_position 0.25'
        >>> frame = np.zeros((84, 84, 3), np.uint8)
        >>> out = overlay(frame, values)  # a box in the corner: the frame keeps its size
        >>> out.shape, bool(out[42:].any()), bool(out[:20].any()), bool(frame.any())
        ((84, 84, 3), True, False, False)

        With :func:`rlvideo.save_video` (or a :class:`rlvideo.VideoWriter`), give each frame
        its values:

        >>> import rlvideo
        >>> frames = [np.full((84, 84, 3), 90, np.uint8)] * 5
        >>> steps = [{"step": i, "reward": 1.0} for i in range(5)]
        >>> [p.name for p in rlvideo.save_video(overlay.apply(frames, steps), "videos", fps=5)]
        ['rl-video-episode-0.mp4']
    """

    def __init__(
        self,
        fields: Sequence[str] | Callable[[Mapping[str, Any]], str] = DEFAULT_FIELDS,
        *,
        position: Position = "top",
        font_size: int | None = None,
        opacity: float = 0.6,
    ) -> None:
        self._write: Callable[[Mapping[str, Any]], str] | None = None
        if callable(fields):
            self._write = fields
            self.fields: tuple[str, ...] = ()
        elif (
            isinstance(fields, Sequence)
            and not isinstance(fields, (str, bytes))
            and fields
            and all(isinstance(name, str) and name for name in fields)
        ):
            self.fields = tuple(fields)
        else:
            raise InvalidArgumentError(
                "overlay fields must be a non-empty list of names such as "
                f'["step", "reward", "x_position"], or a callable values -> str; got {fields!r}'
            )
        if position not in _POSITIONS:
            raise InvalidArgumentError(
                f"overlay position must be one of {', '.join(_POSITIONS)} (top and bottom: a "
                f"band outside the frame; the corners: a box inside it); got {position!r}"
            )
        self.position: Position = position
        if font_size is not None and (
            isinstance(font_size, bool) or not isinstance(font_size, int) or font_size < 4
        ):
            raise InvalidArgumentError(
                f"overlay font_size must be None (from the frame) or pixels >= 4, got {font_size!r}"
            )
        self.font_size = font_size
        if (
            isinstance(opacity, bool)
            or not isinstance(opacity, (int, float))
            or not (0 <= opacity <= 1)
        ):
            raise InvalidArgumentError(f"overlay opacity must be in [0, 1], got {opacity!r}")
        self.opacity = float(opacity)
        self._keep = round(256 * (1 - self.opacity))  # box pixels are scaled by keep / 256
        self._band_lines: dict[tuple[int, int], int] = {}  # lines a band holds, per frame size
        import_optional("PIL.Image", "overlay", feature="overlay")  # the glyphs are drawn with it

    def __repr__(self) -> str:
        shown = self._write if self._write is not None else list(self.fields)
        return f"Overlay({shown!r}, position={self.position!r})"

    @property
    def in_band(self) -> bool:
        """Whether the text goes in a band outside the frame (``"top"``, ``"bottom"``)."""
        return self.position in _BANDS

    def pieces(self, values: Mapping[str, Any]) -> list[str]:
        """The text of each field (``"step 41"``), or the callable's lines."""
        if self._write is not None:
            text = self._write(values)
            if not isinstance(text, str):
                raise InvalidArgumentError(
                    f"the overlay callable must return a str, got {type(text).__name__}: {text!r}"
                )
            return text.splitlines()
        info = values.get("info")
        pieces = []
        for name in self.fields:
            value = values[name] if name in values and name != "info" else _lookup(info, name)
            pieces.append(f"{name} {format_value(value)}")
        return pieces

    def text(self, values: Mapping[str, Any]) -> str:
        """The overlay's text on one line (as a gallery may show it beside the video)."""
        joiner = "\n" if self._write is not None else "  "
        return joiner.join(self.pieces(values))

    def band_height(self, height: int, width: int, values: Mapping[str, Any]) -> int:
        """The rows a band adds below or above a ``height`` x ``width`` frame (0 for a box).

        Even, and the same for every frame of that size: it holds as many lines as the fields
        wrap into with typical values (``step 000``, ``return -000.00``); text that grows
        longer runs on along the last line. A callable's band holds as many lines as its first
        text at that size: ``values`` are only read for that text.

        Example:
            >>> Overlay().band_height(400, 600, {}), Overlay().band_height(84, 84, {})
            (24, 36)
            >>> Overlay(position="top-left").band_height(400, 600, {})
            0
        """
        if not self.in_band:
            return 0
        return self._band_rows(height, width, lambda: self.pieces(values))

    def output_shape(self, shape: tuple[int, ...], values: Mapping[str, Any]) -> tuple[int, ...]:
        """The shape of the frame drawn from a uint8 frame of ``shape``: taller by the band."""
        return (shape[0] + self.band_height(shape[0], shape[1], values), *shape[1:])

    def record(self, height: int, width: int, values: Mapping[str, Any]) -> dict[str, Any]:
        """What a video's sidecar says of its overlay: ``{"position", "band_height"}``.

        With a band on top, rows ``[band_height:]`` of the video are the env's frame; at the
        bottom, rows ``[:-band_height]``; with a box, all rows (``band_height`` 0).
        """
        return {"position": self.position, "band_height": self.band_height(height, width, values)}

    def __call__(
        self,
        frame: Any,
        values: Mapping[str, Any],
        *,
        out: npt.NDArray[np.uint8] | None = None,
    ) -> npt.NDArray[np.uint8]:
        """A copy of ``frame`` with the text drawn (``frame`` itself is left as it was).

        Args:
            frame: ``(H, W, 3)``, ``(H, W, 4)`` or ``(H, W)`` uint8; other kinds (floats,
                channels-first, tensors) are converted as
                :class:`rlvideo._core.frames.FrameConverter`
                converts them.
            values: The frame's values: ``episode``, ``step``, ``reward``, ...; ``info``
                holds the step's info mapping.
            out: Where to write the copy (an array of :meth:`output_shape`, reused from frame
                to frame: no new memory per frame); by default a new array.

        Raises:
            InvalidArgumentError: If ``out`` is not a uint8 array of :meth:`output_shape`.
        """
        array = _as_uint8(frame)
        if self.in_band:
            return self._draw_band(array, values, out)
        layout = self._layout(array.shape[0], array.shape[1], values)
        if layout is None:
            return array
        lines, glyphs, pad, gap, (box_w, box_h), (x0, y0, x1, y1) = layout
        mask = np.zeros((box_h, box_w), np.uint8)
        _paste(mask, lines, glyphs.height, glyphs.space, pad, gap)
        coverage = mask[: y1 - y0, : x1 - x0]
        out = _output(out, array.shape)  # the env's frame may be read-only, or reused by the env
        np.copyto(out, array)
        region = out[y0:y1, x0:x1]
        box = region.astype(np.uint16)  # contiguous: NumPy's fast paths apply (5x faster)
        box *= self._keep
        box >>= 8
        shaded = box.astype(np.uint8)
        if region.ndim == 3:  # the same coverage in every channel, laid out as the box is
            coverage = np.repeat(coverage[:, :, None], region.shape[2], axis=2)
        np.maximum(shaded, coverage, out=shaded)  # white text, anti-aliased, on the shade
        region[...] = shaded
        return out

    def _draw_band(
        self,
        array: npt.NDArray[np.uint8],
        values: Mapping[str, Any],
        out: npt.NDArray[np.uint8] | None,
    ) -> npt.NDArray[np.uint8]:
        """The frame with a band of text added above or below it; its pixels all kept."""
        height, width = array.shape[:2]
        pieces = self.pieces(values)  # a callable is called once a frame
        band = self._band_rows(height, width, lambda: pieces)
        out = _output(out, (height + band, *array.shape[1:]))
        top = self.position == "top"
        np.copyto(out[band:] if top else out[:height], array)
        glyphs, pad, gap = self._font(height, width)
        groups = self._groups(pieces, glyphs, width - 2 * pad)
        groups = _fold(groups, self._lines_in_band(height, width, lambda: pieces))
        mask = np.zeros((band, width), np.uint8)
        used = _paste(mask, groups, glyphs.height, glyphs.space, pad, gap)
        rows = out[:band] if top else out[height:]
        rows[:, used:] = 0  # black right of the text; the text's columns, channel by channel:
        if rows.ndim == 2:  # a contiguous copy is 2x faster than a broadcast over channels
            rows[:, :used] = mask[:, :used]
        else:
            rows[:, :used] = np.repeat(mask[:, :used, None], rows.shape[2], axis=2)
            if rows.shape[2] == 4:
                rows[:, :, 3] = 255  # an opaque band
        return out

    def box(self, height: int, width: int, values: Mapping[str, Any]) -> tuple[int, int, int, int]:
        """Where the text goes on a ``height`` x ``width`` frame: ``(x0, y0, x1, y1)``.

        Pixels ``[y0:y1, x0:x1]`` of the drawn frame are drawn on, no other; an empty box when
        there is no text. A band is the whole width, above (``y0 == 0``) or below the frame.

        Example:
            >>> Overlay(["step"], position="bottom-right").box(400, 600, {"step": 41})
            (542, 372, 596, 396)
            >>> Overlay(["step"], position="bottom").box(400, 600, {"step": 41})
            (0, 400, 600, 424)
        """
        if self.in_band:
            band = self.band_height(height, width, values)
            top = 0 if self.position == "top" else height
            return (0, top, width, top + band)
        layout = self._layout(height, width, values)
        return (0, 0, 0, 0) if layout is None else layout[-1]

    def _font(self, height: int, width: int) -> tuple[_Glyphs, int, int]:
        """The glyphs, padding and line gap for a frame of this size."""
        size = self.font_size or font_size_for(height, width)
        return _glyphs(size), max(1, size // 4), max(1, size // 6)

    def _groups(self, pieces: list[str], glyphs: _Glyphs, room: int) -> _Lines:
        """The pieces rendered and grouped into lines ``room`` pixels wide.

        A callable's lines stay as written.
        """
        rendered = [glyphs.render(piece) for piece in pieces]
        if self._write is not None:
            return [[line] for line in rendered]
        widths = [piece.shape[1] for piece in rendered]
        return [[rendered[i] for i in group] for group in wrap_widths(widths, glyphs.space, room)]

    def _band_rows(self, height: int, width: int, text: Callable[[], list[str]]) -> int:
        """The band's height at this frame size: its lines, their gaps and padding; even."""
        glyphs, pad, gap = self._font(height, width)
        lines = self._lines_in_band(height, width, text)
        rows = lines * glyphs.height + (lines - 1) * gap + 2 * pad
        return rows + rows % 2

    def _lines_in_band(self, height: int, width: int, text: Callable[[], list[str]]) -> int:
        """How many lines of text a band holds at this frame size: chosen once per size.

        ``text()`` gives the frame's pieces: a callable's first text sets its band's lines.
        """
        lines = self._band_lines.get((height, width))
        if lines is None:
            glyphs, pad, _ = self._font(height, width)
            if self._write is None:  # the fields with typical values, wrapped
                pieces = [f"{name} {_TYPICAL_VALUES.get(name, '-000.00')}" for name in self.fields]
            else:
                pieces = text()
            lines = max(1, len(self._groups(pieces, glyphs, width - 2 * pad)))
            self._band_lines[(height, width)] = lines
        return lines

    def _layout(
        self, height: int, width: int, values: Mapping[str, Any]
    ) -> tuple[_Lines, _Glyphs, int, int, tuple[int, int], _Box] | None:
        """A box's lines, glyphs, padding, line gap, box size and box; None if no text."""
        pieces = self.pieces(values)
        if not pieces:
            return None
        glyphs, pad, gap = self._font(height, width)
        margin = max(1, (self.font_size or font_size_for(height, width)) // 3)
        lines = self._groups(pieces, glyphs, width - 2 * (margin + pad))
        line_widths = [
            sum(p.shape[1] for p in line) + glyphs.space * (len(line) - 1) for line in lines
        ]
        box_w = max(line_widths) + 2 * pad
        box_h = len(lines) * glyphs.height + (len(lines) - 1) * gap + 2 * pad
        x0 = margin if self.position.endswith("left") else width - margin - box_w
        y0 = margin if self.position.startswith("top") else height - margin - box_h
        x0, y0 = max(0, x0), max(0, y0)
        box = (x0, y0, min(width, x0 + box_w), min(height, y0 + box_h))
        return lines, glyphs, pad, gap, (box_w, box_h), box

    def apply(
        self, frames: Iterable[Any], values: Iterable[Mapping[str, Any]]
    ) -> Iterator[npt.NDArray[np.uint8]]:
        """Each frame with its values drawn on it, lazily (for ``save_video`` or a writer).

        Raises:
            InvalidArgumentError: If ``frames`` and ``values`` differ in length.
        """
        frame_iter, value_iter = iter(frames), iter(values)
        for index, frame in enumerate(frame_iter):
            try:
                frame_values = next(value_iter)
            except StopIteration:
                raise InvalidArgumentError(
                    f"overlay.apply got more frames than values: values ran out at frame {index}"
                ) from None
            yield self(frame, frame_values)
        if next(value_iter, None) is not None:
            raise InvalidArgumentError("overlay.apply got more values than frames")


def _paste(
    mask: npt.NDArray[np.uint8], lines: _Lines, line_height: int, space: int, pad: int, gap: int
) -> int:
    """Write each line's rendered pieces into ``mask``, from ``(pad, pad)``; cut at its edges.

    Returns the columns written to: ``mask[:, used:]`` is left as it was.
    """
    used = 0
    for i, line in enumerate(lines):
        top, left = pad + i * (line_height + gap), pad
        for rendered in line:
            target = mask[top : top + line_height, left : left + rendered.shape[1]]
            target[...] = rendered[: target.shape[0], : target.shape[1]]
            used = max(used, left + target.shape[1])
            left += rendered.shape[1] + space
    return used


def _fold(lines: _Lines, count: int) -> _Lines:
    """``lines`` as ``count`` lines at most: the lines past the last run on along it."""
    if len(lines) <= count:
        return lines
    return [*lines[: count - 1], [piece for line in lines[count - 1 :] for piece in line]]


def _output(out: npt.NDArray[np.uint8] | None, shape: tuple[int, ...]) -> npt.NDArray[np.uint8]:
    """``out`` when it is a uint8 array of ``shape``; a new one when None."""
    if out is None:
        return np.empty(shape, np.uint8)
    if out.shape != shape or out.dtype != np.uint8:
        raise InvalidArgumentError(
            f"overlay out= must be a uint8 array of shape {shape} (Overlay.output_shape), got "
            f"{out.dtype} {out.shape}"
        )
    return out


def overlay_from_option(option: OverlayOption) -> Overlay | None:
    """The :class:`Overlay` that a wrapper's ``overlay=`` option asks for (None: no overlay).

    Raises:
        InvalidArgumentError: For a value that is none of those below; it lists them.

    Example:
        >>> overlay_from_option(None), overlay_from_option(False)
        (None, None)
        >>> overlay_from_option(True).fields, overlay_from_option(["step", "x_position"]).fields
        (('episode', 'step', 'reward', 'return'), ('step', 'x_position'))
        >>> overlay_from_option("step")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: overlay must be True (episode, step, reward, return), False or None, a list of field names such as ["step", "reward", "x_position"], a callable values -> str, or an rlvideo.overlay.Overlay; got 'step'
    """  # noqa: E501 (doctest output stays on one line)
    if option is None or option is False:
        return None
    if isinstance(option, Overlay):
        return option
    if option is True:
        return Overlay()
    if callable(option) or (
        isinstance(option, Sequence) and not isinstance(option, (str, bytes)) and option
    ):
        return Overlay(cast(Any, option))
    raise InvalidArgumentError(
        "overlay must be True (episode, step, reward, return), False or None, a list of field "
        'names such as ["step", "reward", "x_position"], a callable values -> str, or an '
        f"rlvideo.overlay.Overlay; got {option!r}"
    )


def _lookup(info: Any, name: str) -> Any:
    if info is None:
        return None
    try:
        return info.get(name)
    except Exception:  # an info that refuses to be asked
        return None


def _as_uint8(frame: Any) -> npt.NDArray[np.uint8]:
    """``frame`` as a uint8 ``(H, W[, C])`` array: itself when it is one already."""
    if (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (3, 4)))
    ):
        return frame
    return FrameConverter()(frame)
