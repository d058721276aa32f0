"""Check frames and turn them into arrays the encoder takes without copying.

Pure NumPy, no I/O. The rules, applied to every frame:

- ``uint8`` ``(H, W, 3)`` RGB passes through untouched (zero-copy), views included, as long as
  each row's pixels are contiguous and rows run top-down; any other view (bottom-up, mirrored,
  BGR-as-a-view, column-major) is copied once.
- ``(H, W)`` and ``(H, W, 1)`` are grayscale; ``(H, W, 4)`` is RGBA and its alpha is dropped
  (videos here have no transparency).
- ``float`` frames must be finite and in ``[0, 1]``; they are scaled by 255 and rounded.
- ``bool`` frames become 0 and 255.
- Other integer dtypes must hold values in ``[0, 255]``; they are cast to ``uint8``.
- Every frame must have the shape of the first one.
- With ``pad_to_even`` (MP4 and WebM, whose yuv420p needs even sizes) an odd width or height
  is padded by repeating the last column or row, so every pixel is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo.errors import InvalidFrameError

__all__ = [
    "Frame",
    "FrameConverter",
    "PixelLayout",
    "frame_sequence",
    "is_frame",
    "layout_of_converted",
]

Frame = npt.NDArray[np.uint8]
"""One RGB image, ``(height, width, 3)`` of ``uint8``."""


@dataclass(frozen=True)
class PixelLayout:
    """What every frame of one video looks like once converted.

    Attributes:
        height: Height in pixels, after padding.
        width: Width in pixels, after padding.
        pixel_format: FFmpeg's name for the converted array: ``"rgb24"``, ``"rgba"`` or ``"gray"``.
        source_shape: The shape of the frames as given.
    """

    height: int
    width: int
    pixel_format: str
    source_shape: tuple[int, ...]


_FORMAT_BY_CHANNELS = {1: "gray", 3: "rgb24", 4: "rgba"}


def is_frame(obj: Any) -> bool:
    """Whether ``obj`` can be one image: an array, or anything with an array form.

    What a wrapper asks of ``env.render()``'s result before recording it: a list (the
    ``rgb_array_list`` render mode) or None is not a frame. Whether a frame's shape and values
    can become video is :class:`FrameConverter`'s to say.

    Example:
        >>> is_frame(np.zeros((4, 4, 3), np.uint8)), is_frame([np.zeros((4, 4, 3))]), is_frame(None)
        (True, False, False)
    """
    if isinstance(obj, (list, tuple, str, bytes, bytearray, memoryview)) or obj is None:
        return False
    return isinstance(obj, np.ndarray) or hasattr(obj, "__array__") or hasattr(obj, "__dlpack__")


def frame_sequence(
    frames: Any,
    *,
    caller: str = "frames",
    empty: str = "frames is empty: there is nothing to record",
) -> Sequence[Any]:
    """The frames of a video as a sequence: a list as it is, an ``(N, H, W[, C])`` array as views.

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
        array = np.asarray(frames)
        if array.ndim == 3 and array.shape[-1] in (3, 4):
            raise InvalidFrameError(
                f"{caller} is one image of shape {array.shape}, not a sequence of frames. Pass "
                "a list of frames or an (N, height, width, 3) array (image[None] for a "
                "one-frame video)."
            )
        if array.ndim not in (3, 4):
            raise InvalidFrameError(
                f"{caller} has shape {array.shape}; expected (N, height, width, 3), "
                "(N, height, width) or a list of frames"
            )
        frames = list(array)  # views, not copies: one per frame
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


def layout_of_converted(array: npt.NDArray[np.uint8]) -> PixelLayout:
    """The layout of an array that :class:`FrameConverter` returned (padded already).

    Example:
        >>> layout_of_converted(np.zeros((4, 6), np.uint8))
        PixelLayout(height=4, width=6, pixel_format='gray', source_shape=(4, 6))
    """
    channels = array.shape[2] if array.ndim == 3 else 1
    return PixelLayout(array.shape[0], array.shape[1], _FORMAT_BY_CHANNELS[channels], array.shape)


class FrameConverter:
    """Validate and convert the frames of one video, remembering the first frame's shape.

    Args:
        pad_to_even: Pad odd widths and heights to even by repeating the edge pixels.

    Example:
        >>> import numpy as np
        >>> convert = FrameConverter(pad_to_even=True)
        >>> array = convert(np.zeros((5, 7, 3), np.uint8))
        >>> array.shape, convert.layout.pixel_format
        ((6, 8, 3), 'rgb24')
        >>> frame = np.full((4, 6), 0.5)
        >>> FrameConverter()(frame)[0, 0]
        np.uint8(128)
        >>> convert(np.zeros((5, 7, 4), np.uint8))
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidFrameError: frame 1 has shape (5, 7, 4); frame 0 was (5, 7, 3). Every frame of a video needs the same shape: resize or crop it first.
    """  # noqa: E501 (doctest output stays on one line)

    def __init__(self, *, pad_to_even: bool = False) -> None:
        self._pad_to_even = pad_to_even
        self._layout: PixelLayout | None = None
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
            frame: An array-like image (see the module docstring for the accepted kinds).

        Returns:
            ``(H, W, 3)``, ``(H, W, 4)`` or ``(H, W)`` uint8, padded to even when asked.

        Raises:
            InvalidFrameError: If the frame cannot become video; the message says how to fix it.
        """
        index = self.count
        array = _as_array(frame, index)
        layout = self._layout
        if layout is None:  # fixed only once a frame converts: a rejected one fixes nothing
            layout = self._layout_for(array, index)
        elif array.shape != layout.source_shape:
            raise InvalidFrameError(
                f"frame {index} has shape {array.shape}; frame 0 was {layout.source_shape}. "
                "Every frame of a video needs the same shape: resize or crop it first."
            )
        array = _to_uint8(array, index)
        self._layout = layout
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if not _rows_are_packed(array):
            array = np.ascontiguousarray(array)
        if self._pad_to_even and (array.shape[0] % 2 or array.shape[1] % 2):
            array = _pad_edges_to_even(array)
        self.count += 1
        return array

    def _layout_for(self, array: npt.NDArray[Any], index: int) -> PixelLayout:
        channels = array.shape[2] if array.ndim == 3 else 1
        height, width = array.shape[:2]
        if height == 0 or width == 0:
            raise InvalidFrameError(
                f"frame {index} has shape {array.shape}: an image needs at least one pixel"
            )
        if self._pad_to_even:
            height, width = height + height % 2, width + width % 2
        return PixelLayout(height, width, _FORMAT_BY_CHANNELS[channels], array.shape)


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


def _as_array(frame: Any, index: int) -> npt.NDArray[Any]:
    try:
        array = np.asarray(frame)
    except Exception as exc:  # torch CUDA tensors, objects with no array form
        raise InvalidFrameError(
            f"frame {index} of type {type(frame).__name__} cannot be read as an array ({exc}). "
            "Pass a NumPy array; for a torch tensor use tensor.cpu().numpy()."
        ) from exc
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        hint = "Pass (height, width, 3) RGB, (height, width, 4) RGBA or (height, width) gray."
        if array.ndim == 3 and array.shape[0] in (1, 3, 4):
            hint = "It looks channels-first: use frame.transpose(1, 2, 0)."
        elif array.ndim == 4:
            hint = "That is a batch of frames: pass it as the list of frames, not as one frame."
        raise InvalidFrameError(f"frame {index} has shape {array.shape}. {hint}")
    return array


def _to_uint8(array: npt.NDArray[Any], index: int) -> npt.NDArray[np.uint8]:
    kind = array.dtype.kind
    if array.dtype == np.uint8:
        unchanged: npt.NDArray[np.uint8] = array
        return unchanged
    if kind == "b":
        expanded: npt.NDArray[np.uint8] = array.view(np.uint8) * np.uint8(255)
        return expanded
    if kind == "f":
        if not np.isfinite(array).all():
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise InvalidFrameError(
                f"frame {index} ({array.dtype}) holds {bad} NaN or infinite values. "
                "Float frames must be finite, in [0, 1]: use np.nan_to_num(frame) first."
            )
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise InvalidFrameError(
                f"frame {index} ({array.dtype}) has values in [{low:g}, {high:g}]; float frames "
                "must lie in [0, 1]. Scale it (frame / 255 for 0-255 data) or np.clip(frame, 0, 1)."
            )
        scaled: npt.NDArray[np.uint8] = np.rint(array * 255.0).astype(np.uint8)
        return scaled
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InvalidFrameError(
                f"frame {index} ({array.dtype}) has values in [{low}, {high}]; integer frames must "
                "lie in [0, 255]. Rescale it, e.g. (frame >> 8).astype(np.uint8) for 16-bit data."
            )
        cast: npt.NDArray[np.uint8] = array.astype(np.uint8)
        return cast
    raise InvalidFrameError(
        f"frame {index} has dtype {array.dtype}; expected uint8, bool, an integer type holding "
        "0-255, or float in [0, 1]."
    )


def _pad_edges_to_even(array: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = array.shape[:2]
    padded = np.empty((height + height % 2, width + width % 2, *array.shape[2:]), np.uint8)
    padded[:height, :width] = array
    if width % 2:
        padded[:height, width] = array[:, width - 1]
    if height % 2:
        padded[height] = padded[height - 1]
    return padded
