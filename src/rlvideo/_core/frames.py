"""Check frames of any array library and turn them into arrays the encoder takes. Pure.

No I/O, and no import of torch or JAX (:mod:`rlvideo._core.interop` reads their arrays). The rules,
applied to every frame:

- **Libraries**: NumPy arrays, torch tensors (CPU, or CUDA and other devices: converted there
  and copied to the host once), JAX arrays, PIL images (any mode: palette, RGBA, CMYK are
  converted to RGB by Pillow), and anything with ``__dlpack__``, ``__array__`` or
  ``__array_interface__``.
  A torch tensor that requires grad is refused: record ``frame.detach()``.
- **Layout**: ``(H, W, C)`` with C = 3 (RGB), 4 (RGBA: alpha dropped, videos here have no
  transparency) or 1, and ``(H, W)`` (gray). Channels-first ``(C, H, W)`` is read when it is
  unambiguous: C is 1 or 3 (or 4, see below), smaller than H and W, and the last axis is
  *not* 1, 3 or 4. A shape
  that fits both, such as ``(3, 4, 4)``, is read channels-last. A leading axis of one,
  ``(1, H, W, 3)`` or ``(1, C, H, W)``, is dropped.
- **Not images**, refused on a video's first frame with the fix: a 4-channel frame, either
  layout, is RGBA only if its fourth channel is a constant alpha; otherwise it is a stack of
  four frames (Atari's ``FrameStackObservation`` ``(4, H, W)``, SB3's ``VecFrameStack``
  ``(H, W, 4)``), and the advice is to record the newest (``obs[-1]``, ``frame[..., -1]``) or
  the env's ``render()``. A bool array with channels is on/off layers (MinAtar's state), not
  RGB. MiniGrid's symbolic observation is what :func:`is_minigrid_symbolic` says it is, exactly
  MiniGrid's encoding; a small or dark image is not taken for it.
- **Values**: ``uint8`` passes through untouched. ``float`` frames (float16, bfloat16,
  float32, float64) must be finite and in ``float_range``, ``[0, 1]`` by default
  (``float_range=(0, 255)`` reads 0-255 floats); they are scaled to 0-255 and rounded.
  ``bool`` gray frames become 0 and 255; other integer dtypes must hold values in ``[0, 255]``.
- **Copies**: at most one per frame. ``uint8`` ``(H, W, 3)`` is zero-copy, views included, as
  long as each row's pixels are contiguous and rows run top-down; any other view (bottom-up,
  as MuJoCo renders, mirrored, BGR-as-a-view, channels-first) is copied once, and a float,
  bool or integer frame is converted in one pass into its ``uint8`` copy.
- Every frame must have the shape of the first one.
- With ``pad_to_even`` (MP4 and WebM, whose yuv420p needs even sizes) an odd width or height
  is padded by repeating the last column or row, so every pixel is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from math import isfinite, prod
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo._core.interop import (
    library_of,
    on_device,
    to_host,
    torch_device_to_uint8,
    transpose_hint,
)
from rlvideo.errors import InvalidArgumentError, InvalidFrameError

__all__ = [
    "DEFAULT_FLOAT_RANGE",
    "Frame",
    "FrameConverter",
    "PixelLayout",
    "check_float_range",
    "frame_sequence",
    "is_frame",
    "is_minigrid_symbolic",
    "layout_of_converted",
]

Frame = npt.NDArray[np.uint8]
"""One RGB image, ``(height, width, 3)`` of ``uint8``."""

DEFAULT_FLOAT_RANGE = (0.0, 1.0)
"""The values a float frame's black and white have, unless ``float_range`` says otherwise."""


@dataclass(frozen=True)
class PixelLayout:
    """What every frame of one video looks like once converted.

    Attributes:
        height: Height in pixels, after padding.
        width: Width in pixels, after padding.
        pixel_format: FFmpeg's name for the converted array: ``"rgb24"``, ``"rgba"`` or ``"gray"``.
        source_shape: The shape of the frames as given.
        channels_first: Whether the frames as given are ``(C, H, W)``.
    """

    height: int
    width: int
    pixel_format: str
    source_shape: tuple[int, ...]
    channels_first: bool = False


_FORMAT_BY_CHANNELS = {1: "gray", 3: "rgb24", 4: "rgba"}
_CHANNELS = (1, 3, 4)


def check_float_range(value: Any) -> tuple[float, float]:
    """``value`` as the ``(black, white)`` of float frames, or a clear error.

    Example:
        >>> check_float_range((0, 255))
        (0.0, 255.0)
        >>> check_float_range((1, 0))
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: float_range must be two finite numbers (black, white) with black < white, like (0, 1) or (0, 255); got (1, 0)
    """  # noqa: E501 (doctest output stays on one line)
    try:
        low, high = (float(v) for v in value)
        valid = isfinite(low) and isfinite(high) and low < high
    except (TypeError, ValueError):
        valid = False
    if not valid or isinstance(value, (str, bytes)):
        raise InvalidArgumentError(
            "float_range must be two finite numbers (black, white) with black < white, like "
            f"(0, 1) or (0, 255); got {value!r}"
        )
    return low, high


_ARRAY_FORMS = ("__array__", "__array_interface__", "__array_struct__", "__dlpack__")
"""What makes an object an array for NumPy or DLPack: a PIL image has ``__array_interface__``."""


def is_frame(obj: Any) -> bool:
    """Whether ``obj`` can be one image: an array, or anything with an array form.

    What every wrapper asks of ``env.render()``'s result before recording it, and what
    ``save_video`` asks of its argument: the same test, so a render any of them takes (a NumPy
    array, a tensor, a PIL image) every one takes. A list (the ``rgb_array_list`` render mode)
    or None is not a frame. Whether a frame's shape and values can become video is
    :class:`FrameConverter`'s to say.

    Example:
        >>> is_frame(np.zeros((4, 4, 3), np.uint8)), is_frame([np.zeros((4, 4, 3))]), is_frame(None)
        (True, False, False)
    """
    if isinstance(obj, (list, tuple, str, bytes, bytearray, memoryview)) or obj is None:
        return False
    return isinstance(obj, np.ndarray) or any(hasattr(obj, form) for form in _ARRAY_FORMS)


def frame_sequence(
    frames: Any,
    *,
    caller: str = "frames",
    empty: str = "frames is empty: there is nothing to record",
) -> Sequence[Any]:
    """The frames of a video as a sequence: a list as it is, an array of frames as views.

    An array (or tensor) of frames is ``(N, H, W, C)``, ``(N, C, H, W)`` (the ``(T, C, H, W)``
    that wandb and TensorBoard take), ``(N, H, W)`` gray, or ``(1, T, C, H, W)``. Its frames
    are views of it (on their device, for a tensor): nothing is copied here.

    Args:
        frames: A list (or other sequence) of frames, an array of frames, or an iterable.
        caller: Who asks, for the messages: ``"frames"`` (save_video), ``"show()"``.
        empty: The message when there are no frames.

    Raises:
        InvalidFrameError: For one image instead of frames, an array of the wrong rank, or no
            frames at all.

    Example:
        >>> len(frame_sequence(np.zeros((5, 4, 4, 3), np.uint8)))
        5
        >>> frame_sequence(np.zeros((4, 4, 3), np.uint8))
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidFrameError: frames is one image of shape (4, 4, 3), not a sequence of frames. Pass a list of frames or an (N, height, width, 3) array (image[None] for a one-frame video).
    """  # noqa: E501 (doctest output stays on one line)
    if is_frame(frames) and not isinstance(frames, Sequence):
        shape = _shape_of(frames)
        if len(shape) == 5 and shape[0] == 1:  # (1, T, C, H, W): one video, as wandb takes it
            frames, shape = frames[0], shape[1:]
        if (len(shape) == 3 and shape[-1] in (3, 4)) or library_of(frames) == "PIL":
            raise InvalidFrameError(
                f"{caller} is one image of shape {shape}, not a sequence of frames. Pass "
                "a list of frames or an (N, height, width, 3) array (image[None] for a "
                "one-frame video)."
            )
        if len(shape) not in (3, 4):
            hint = " (a batch of videos: pass one of them, videos[i])" if len(shape) == 5 else ""
            raise InvalidFrameError(
                f"{caller} has shape {shape}{hint}; expected (N, height, width, 3), "
                "(N, 3, height, width), (N, height, width) or a list of frames"
            )
        frames = list(frames)  # views, not copies: one per frame
    elif not isinstance(frames, Sequence):
        if not isinstance(frames, Iterable):
            raise InvalidFrameError(
                f"{caller} must be a list, an (N, H, W, C) array or an iterable of frames, "
                f"got {type(frames).__name__}"
            )
        frames = list(frames)
    if len(frames) == 0:
        raise InvalidFrameError(empty)
    sequence: Sequence[Any] = frames
    return sequence


def _shape_of(obj: Any) -> tuple[int, ...]:
    shape = getattr(obj, "shape", None)
    return tuple(int(n) for n in shape) if shape is not None else np.shape(obj)


_UINT8 = np.dtype(np.uint8)


def _shape_passed_as_is(layout: PixelLayout) -> tuple[int, ...]:
    """The shape of a contiguous uint8 frame that converts to itself; () if none does.

    Example:
        >>> _shape_passed_as_is(layout_of_converted(np.zeros((4, 6, 3), np.uint8)))
        (4, 6, 3)
        >>> _shape_passed_as_is(layout_of_converted(np.zeros((4, 6, 1), np.uint8)))
        ()
    """
    shape = layout.source_shape
    image = (layout.height, layout.width)
    if layout.channels_first or shape[:2] != image or not 2 <= len(shape) <= 3:
        return ()
    return shape if len(shape) == 2 or shape[2] > 1 else ()


def layout_of_converted(array: npt.NDArray[np.uint8]) -> PixelLayout:
    """The layout of an array that :class:`FrameConverter` returned (padded already).

    Example:
        >>> layout_of_converted(np.zeros((4, 6), np.uint8))
        PixelLayout(height=4, width=6, pixel_format='gray', source_shape=(4, 6), channels_first=False)
    """  # noqa: E501 (doctest output stays on one line)
    channels = array.shape[2] if array.ndim == 3 else 1
    return PixelLayout(array.shape[0], array.shape[1], _FORMAT_BY_CHANNELS[channels], array.shape)


class FrameConverter:
    """Validate and convert the frames of one video, remembering the first frame's layout.

    Args:
        pad_to_even: Pad odd widths and heights to even by repeating the edge pixels.
        float_range: The values of black and white in float frames: ``(0, 1)``, or
            ``(0, 255)`` for floats holding 0-255 data.

    Example:
        >>> import numpy as np
        >>> convert = FrameConverter(pad_to_even=True)
        >>> array = convert(np.zeros((5, 7, 3), np.uint8))
        >>> array.shape, convert.layout.pixel_format
        ((6, 8, 3), 'rgb24')
        >>> frame = np.full((4, 6), 0.5)
        >>> FrameConverter()(frame)[0, 0]
        np.uint8(128)
        >>> FrameConverter()(np.full((3, 4, 6), 0.5, np.float16)).shape  # channels-first
        (4, 6, 3)
        >>> FrameConverter(float_range=(0, 255))(np.full((4, 6, 3), 200.0))[0, 0, 0]
        np.uint8(200)
        >>> convert(np.zeros((5, 7, 4), np.uint8))
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidFrameError: frame 1 has shape (5, 7, 4); frame 0 was (5, 7, 3). Every frame of a video needs the same shape: resize or crop it first.
    """  # noqa: E501 (doctest output stays on one line)

    def __init__(
        self, *, pad_to_even: bool = False, float_range: tuple[float, float] = DEFAULT_FLOAT_RANGE
    ) -> None:
        self._pad_to_even = pad_to_even
        self._float_range = check_float_range(float_range)
        self._layout: PixelLayout | None = None
        self._as_is: tuple[int, ...] = ()  # a uint8 array of this shape converts to itself
        self.count = 0
        """How many frames were converted so far."""

    @property
    def layout(self) -> PixelLayout:
        """The layout fixed by the first frame; an error before any frame was converted."""
        if self._layout is None:
            raise InvalidFrameError("no frame was given yet, so the video has no size")
        return self._layout

    def __call__(self, frame: Any) -> npt.NDArray[np.uint8]:
        """Return ``frame`` as a ``uint8`` array with contiguous rows, ready for the encoder.

        Args:
            frame: An image of any array library (see the module docstring for the kinds).

        Returns:
            ``(H, W, 3)``, ``(H, W, 4)`` or ``(H, W)`` uint8, padded to even when asked.

        Raises:
            InvalidFrameError: If the frame cannot become video; the message says how to fix it.
        """
        if (  # the common case after the first frame: the frame as it is, checked cheaply
            self._as_is
            and type(frame) is np.ndarray
            and frame.dtype is _UINT8
            and frame.shape == self._as_is
            and frame.flags.c_contiguous
        ):
            self.count += 1
            return frame
        index = self.count
        device = on_device(frame)
        host = None if device else to_host(frame, index)
        given = frame if host is None else host.array
        shape = _shape_of(given)
        layout = self._layout
        if layout is None:  # fixed only once a frame converts: a rejected one fixes nothing
            layout = self._layout_for(shape, frame, index)
        elif shape != layout.source_shape:
            raise InvalidFrameError(
                f"frame {index} has shape {shape}; frame 0 was {layout.source_shape}. "
                "Every frame of a video needs the same shape: resize or crop it first."
            )
        if len(shape) == 4:  # (1, H, W, C) or (1, C, H, W)
            given = given[0]
        if self._layout is None:
            _refuse_non_images(given, layout, index, bfloat16=host is not None and host.bfloat16)
        if host is None:
            array = torch_device_to_uint8(
                given, channels_first=layout.channels_first, float_range=self._float_range,
                index=index, check_values=partial(_check_values, float_range=self._float_range),
            )  # fmt: skip
        else:
            array = self._to_uint8(given, host.bfloat16, layout.channels_first, index)
        if self._layout is None:
            self._as_is = _shape_passed_as_is(layout)
        self._layout = layout
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if not _rows_are_packed(array):
            array = np.ascontiguousarray(array)
        if self._pad_to_even and (array.shape[0] % 2 or array.shape[1] % 2):
            array = _pad_edges_to_even(array)
        self.count += 1
        return array

    def _layout_for(self, shape: tuple[int, ...], frame: Any, index: int) -> PixelLayout:
        image = shape[1:] if len(shape) == 4 and shape[0] == 1 else shape
        channels_first = _is_channels_first(image, frame, index)
        if channels_first:
            image = (*image[1:], image[0])
        channels = image[2] if len(image) == 3 else 1
        height, width = image[:2]
        if height == 0 or width == 0:
            raise InvalidFrameError(
                f"frame {index} has shape {shape}: an image needs at least one pixel"
            )
        if self._pad_to_even:
            height, width = height + height % 2, width + width % 2
        return PixelLayout(height, width, _FORMAT_BY_CHANNELS[channels], shape, channels_first)

    def _to_uint8(
        self, array: npt.NDArray[Any], bfloat16: bool, channels_first: bool, index: int
    ) -> npt.NDArray[np.uint8]:
        """``array`` as ``(H, W[, C])`` uint8: itself (a view) for uint8, else one new array.

        Values are checked on the whole frame first, then converted in one pass; a
        channels-first frame plane by plane (each plane is contiguous: 5x faster than NumPy's
        copy of the transposed view).
        """
        view = array.transpose(1, 2, 0) if channels_first else array
        if view.dtype == np.uint8 and (not channels_first or _rows_are_packed(view)):
            unchanged: npt.NDArray[np.uint8] = view
            return unchanged
        convert = self._checked_conversion(array, bfloat16, index)
        out = np.empty(view.shape, np.uint8)
        if channels_first:
            for channel in range(array.shape[0]):
                convert(array[channel], out[:, :, channel])
        else:
            convert(array, out)
        return out

    def _checked_conversion(
        self, array: npt.NDArray[Any], bfloat16: bool, index: int
    ) -> Callable[[npt.NDArray[Any], Frame], None]:
        """Check ``array``'s values; return what writes (part of) it as uint8 into ``out``."""
        kind = array.dtype.kind
        if bfloat16 or array.dtype == np.float16:
            table = _checked_half_table(array.view(np.uint16), bfloat16, self._float_range, index)
            return lambda part, out: _look_up(table, part.view(np.uint16), out)
        if kind == "b":
            return lambda part, out: np.multiply(part.view(np.uint8), np.uint8(255), out=out)
        if kind == "f":
            low, high = float(array.min()), float(array.max())
            if not (isfinite(low) and isfinite(high)):
                bad = int(array.size - np.count_nonzero(np.isfinite(array)))
                _check_values(low, high, str(array.dtype), index, True, self._float_range, bad)
            _check_values(low, high, str(array.dtype), index, True, self._float_range)
            return lambda part, out: _scale_floats(part, self._float_range, out)
        if kind in "iu":
            low, high = int(array.min()), int(array.max())
            _check_values(low, high, str(array.dtype), index, False, self._float_range)
            return lambda part, out: np.copyto(out, part, casting="unsafe")
        if array.dtype == np.uint8:
            return lambda part, out: np.copyto(out, part)
        raise InvalidFrameError(
            f"frame {index} has dtype {array.dtype}; expected uint8, bool, an integer type "
            "holding 0-255, or float in [0, 1]."
        )


def _check_values(
    low: float,
    high: float,
    dtype: str,
    index: int,
    is_float: bool,
    float_range: tuple[float, float],
    nonfinite: int | None = None,
) -> None:
    """Raise for values a frame of ``dtype`` may not hold (NaN, out of range)."""
    if is_float:
        black, white = float_range
        if not (isfinite(low) and isfinite(high)):
            count = "" if nonfinite is None else f"{nonfinite} "
            raise InvalidFrameError(
                f"frame {index} ({dtype}) holds {count}NaN or infinite values. Float frames "
                f"must be finite, in [{black:g}, {white:g}]: use np.nan_to_num(frame) first."
            )
        if low < black or high > white:
            advice = (
                "Pass float_range=(0, 255) for 0-255 data, scale it, "
                if (black, white) == DEFAULT_FLOAT_RANGE and low >= 0 and high <= 255
                else "Scale it (frame / 255 for 0-255 data, or float_range=...) "
            )
            raise InvalidFrameError(
                f"frame {index} ({dtype}) has values in [{low:g}, {high:g}]; float frames "
                f"must lie in [{black:g}, {white:g}]. {advice}or np.clip(frame, {black:g}, "
                f"{white:g})."
            )
    elif low < 0 or high > 255:
        raise InvalidFrameError(
            f"frame {index} ({dtype}) has values in [{low:g}, {high:g}]; integer frames must "
            "lie in [0, 255]. Rescale it, e.g. (frame >> 8).astype(np.uint8) for 16-bit data."
        )


def _is_channels_first(shape: tuple[int, ...], frame: Any, index: int) -> bool:
    """Whether an image of ``shape`` is ``(C, H, W)``; an error for shapes that are no image."""
    if len(shape) == 2:
        return False
    if len(shape) == 3 and shape[2] in _CHANNELS:
        return False  # channels-last wins where both would fit: (3, 4, 4) is 3x4 RGBA
    if len(shape) == 3 and shape[0] in _CHANNELS and shape[0] < min(shape[1:]):
        return True
    if len(shape) == 3:
        hint = (
            "Pass (height, width, 3) RGB, (height, width, 4) RGBA, (height, width) gray, or "
            f"the same channels-first: (3, height, width); {transpose_hint(frame)} reorders "
            "the axes."
        )
    elif len(shape) == 4:
        hint = (
            f"That is a batch of {shape[0]} frames: pass it as the list of frames, not as one "
            "frame, or pick one (frames[i])."
        )
    else:
        hint = "Pass (height, width, 3) RGB, (height, width, 4) RGBA or (height, width) gray."
    raise InvalidFrameError(f"frame {index} has shape {shape}. {hint}")


def _refuse_non_images(frame: Any, layout: PixelLayout, index: int, *, bfloat16: bool) -> None:
    """Refuse, on a video's first frame, the arrays that look like images and are not.

    ``frame`` is the image as given (NumPy, or a tensor on its device), its leading axis of one
    dropped; ``bfloat16`` says that a NumPy ``frame`` holds bfloat16 bits. Refused: a bool
    array with channels (on/off layers, like MinAtar's state); a 4-channel array, either
    layout, whose fourth channel is no constant alpha (a stack of 4 frames); and MiniGrid's
    symbolic observation (:func:`is_minigrid_symbolic`).
    """
    dtype = _dtype_name(frame)
    if not dtype.startswith(("bool", "int", "uint", "float", "bfloat")):
        return  # no image either, but its dtype's message is clearer: the conversion says it
    channels_first = layout.channels_first
    shape = layout.source_shape
    channels = 1 if frame.ndim == 2 else frame.shape[0 if channels_first else 2]
    layer = "frame[k]" if channels_first else "frame[..., k]"
    if channels > 1 and dtype == "bool":
        raise InvalidFrameError(
            f"frame {index} has shape {shape} of bool: on/off layers (MinAtar's state, one mask "
            "per channel), not an image. Record the env's own frames: make it with "
            f"render_mode='rgb_array' and record env.render(); or record one layer, {layer}, "
            "as a black-and-white frame."
        )
    if channels == 4 and not _constant(frame[3] if channels_first else frame[..., 3]):
        what, stacker, newest, rgb = (
            ("plane", "Atari's FrameStackObservation", "obs[-1]", "frame[:3]")
            if channels_first
            else ("channel", "SB3's VecFrameStack", "frame[..., -1]", "frame[..., :3]")
        )
        raise InvalidFrameError(
            f"frame {index} has shape {shape} and its fourth {what} is no constant alpha: it "
            f"looks like a stack of 4 frames ({stacker}), not an RGBA image. Record one of "
            f"them ({newest}, the newest), or better the env's own frames: make it with "
            "render_mode='rgb_array' and record env.render(). If it is RGBA with transparency, "
            f"drop the alpha: {rgb}."
        )
    if not channels_first and not bfloat16 and is_minigrid_symbolic(frame):
        raise InvalidFrameError(
            f"frame {index} has shape {shape} and holds what MiniGrid's encoding does (object, "
            "colour and state per cell): it looks like MiniGrid's symbolic observation, not an "
            "image. Record env.render() of an env made with render_mode='rgb_array', or "
            "observe pixels with minigrid.wrappers.RGBImgObsWrapper."
        )


def _dtype_name(frame: Any) -> str:
    """The name of ``frame``'s dtype in NumPy's words (``"uint8"``, ``"bool"``), for any library.

    Example:
        >>> _dtype_name(np.zeros(2, bool)), _dtype_name([1])
        ('bool', '')
    """
    return str(getattr(frame, "dtype", "")).removeprefix("torch.")


def _constant(plane: Any) -> bool:
    """Whether every value of ``plane`` (NumPy or a tensor on its device) is the same."""
    return float(plane.min()) == float(plane.max())


_MINIGRID_OBJECTS, _MINIGRID_COLOURS = 10, 5  # unseen 0, empty 1, ... agent 10; red 0 ... grey 5
_MINIGRID_DOOR, _MINIGRID_AGENT = 4, 10  # the only cells with a state: 0-2 and a direction 0-3


def is_minigrid_symbolic(frame: Any) -> bool:
    """Whether ``frame`` is exactly what MiniGrid's symbolic observation can be.

    MiniGrid observes an odd square ``(view, view, 3)`` of integers (7x7 by default), one
    ``(object, colour, state)`` per cell, as ``Grid.encode`` writes it: object 0-10, colour
    0-5; an unseen (0) or empty (1) cell has colour 0 and state 0; only a door (4) has a state
    (0-2: open, closed, locked), and the agent (10, in ``FullyObsWrapper``'s grids) its
    direction (0-3); at least the agent's own cell is seen. A real image almost never obeys
    all of this (a gray pixel of any shade but black breaks it), so a dark or tiny image is
    not taken for one; an all-black image is an image.

    Example:
        >>> obs = np.zeros((7, 7, 3), np.uint8)
        >>> obs[:, :, 0] = 1  # empty cells
        >>> obs[0, :] = (2, 5, 0)  # a grey wall
        >>> is_minigrid_symbolic(obs), is_minigrid_symbolic(np.ones((3, 3, 3), np.uint8))
        (True, False)
    """
    shape = _shape_of(frame)
    if len(shape) != 3 or shape[2] != 3 or shape[0] != shape[1] or shape[0] < 3 or not shape[0] % 2:
        return False
    if _dtype_name(frame).rstrip("0123456789") not in ("int", "uint"):
        return False
    cells = to_host(frame, 0).array.astype(np.int64)
    if int(cells.min()) < 0 or int(cells.max()) > _MINIGRID_OBJECTS:
        return False
    kind, colour, state = cells[..., 0], cells[..., 1], cells[..., 2]
    blank = kind <= 1
    door = kind == _MINIGRID_DOOR
    return not (
        (colour > _MINIGRID_COLOURS).any()
        or (blank & ((colour != 0) | (state != 0))).any()
        or ((state != 0) & ~door & (kind != _MINIGRID_AGENT)).any()
        or (door & (state > 2)).any()
        or (state > 3).any()
        or not kind.any()
    )


def _rows_are_packed(array: npt.NDArray[np.uint8]) -> bool:
    """Whether the encoder can read ``array`` in place: packed pixels, rows top-down.

    Rows may have gaps between them (a cropping slice is free), but each row's pixels must be
    contiguous and rows must go forward in memory: a bottom-up view (``frame[::-1]``, what
    MuJoCo's renderer and dm_control return) has a negative row stride, which FFmpeg refuses.

    Example:
        >>> frame = np.zeros((4, 6, 3), np.uint8)
        >>> [_rows_are_packed(view) for view in (frame, frame[1:3, 2:5], frame[::-1])]
        [True, True, False]
    """
    pixel = array.shape[2] if array.ndim == 3 else 1
    packed = array.strides[-1] == 1 and (array.ndim == 2 or array.strides[1] == pixel)
    return packed and array.strides[0] >= array.shape[1] * pixel


_BLOCK_ITEMS = 1 << 15  # float values scaled per block: the scratch stays in the CPU cache


def _scale_floats(
    view: npt.NDArray[np.floating[Any]], float_range: tuple[float, float], out: Frame
) -> None:
    """Write ``view`` scaled from ``float_range`` to 0-255 and rounded into ``out``.

    Row blocks go through one small float32 scratch buffer, so the only frame-sized array made
    is ``out``: one pass over the data, where ``np.rint(frame * 255).astype(np.uint8)`` makes
    three frame-sized temporaries.
    """
    black, white = float_range
    scale = 255.0 / (white - black)
    block = min(_BLOCK_ITEMS, max(1, view.size // 8))  # the scratch: at most half the output
    rows = max(1, block // max(1, prod(view.shape[1:])))
    scratch = np.empty((min(rows, view.shape[0]), *view.shape[1:]), np.float32)
    for start in range(0, view.shape[0], rows):
        part = view[start : start + rows]
        tmp = scratch[: part.shape[0]]
        if black:
            np.subtract(part, black, out=tmp, dtype=np.float32, casting="same_kind")
            np.multiply(tmp, scale, out=tmp)
        else:
            np.multiply(part, scale, out=tmp, dtype=np.float32, casting="same_kind")
        np.rint(tmp, out=tmp)
        np.copyto(out[start : start + rows], tmp, casting="unsafe")


@dataclass(frozen=True)
class _HalfTable:
    """Every 16-bit float's pixel, for one float kind and range: a lookup instead of math.

    NumPy computes float16 in software (a 480x480 frame took 17.6 ms, float32 0.5 ms), and has
    no bfloat16 at all; a 64 KiB table turns either into ``uint8`` in one gather.
    """

    pixels: Frame  # pixel of each bit pattern (0 where invalid)
    values: npt.NDArray[np.float32]  # value of each bit pattern
    invalid: npt.NDArray[np.bool_]  # NaN, infinite or out of range
    valid_below: int  # every pattern below this one is valid (a fast check on the maximum)


_HALF_TABLES: dict[tuple[bool, tuple[float, float]], _HalfTable] = {}


def _half_table(bfloat16: bool, float_range: tuple[float, float]) -> _HalfTable:
    key = (bfloat16, float_range)
    table = _HALF_TABLES.get(key)
    if table is None:
        patterns = np.arange(1 << 16, dtype=np.uint32)
        if bfloat16:  # the top half of a float32
            values = (patterns << 16).view(np.float32)
        else:
            values = patterns.astype(np.uint16).view(np.float16).astype(np.float32)
        black, white = float_range
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(values) & (values >= black) & (values <= white)
        scaled = np.rint((np.where(valid, values, black) - black) * (255.0 / (white - black)))
        pixels = np.clip(scaled, 0, 255).astype(np.uint8)
        valid_below = int(np.argmin(valid)) if not valid.all() else 1 << 16
        table = _HalfTable(pixels, values, ~valid, valid_below)
        _HALF_TABLES[key] = table
    return table


def _checked_half_table(
    bits: npt.NDArray[np.uint16], bfloat16: bool, float_range: tuple[float, float], index: int
) -> _HalfTable:
    """The table for a float16 or bfloat16 frame (as its bits), once its values are checked."""
    table = _half_table(bfloat16, float_range)
    if int(bits.max()) >= table.valid_below and table.invalid.take(bits).any():
        values = table.values.take(bits)  # NaN and infinities propagate to the min or max
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        dtype = "bfloat16" if bfloat16 else "float16"
        low, high = float(values.min()), float(values.max())
        _check_values(low, high, dtype, index, True, float_range, bad)
    return table


def _look_up(table: _HalfTable, bits: npt.NDArray[np.uint16], out: Frame) -> None:
    """Write the pixels of ``bits`` into ``out``, by row blocks (take() widens indices)."""
    block = min(_BLOCK_ITEMS, max(2048, bits.size // 32))
    rows = max(1, block // max(1, prod(bits.shape[1:])))
    for start in range(0, bits.shape[0], rows):  # "wrap": every uint16 is a valid index
        part = bits[start : start + rows]
        np.take(table.pixels, part, out=out[start : start + rows], mode="wrap")


def _pad_edges_to_even(array: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = array.shape[:2]
    padded = np.empty((height + height % 2, width + width % 2, *array.shape[2:]), np.uint8)
    padded[:height, :width] = array
    if width % 2:
        padded[:height, width] = array[:, width - 1]
    if height % 2:
        padded[height] = padded[height - 1]
    return padded
