"""Read a frame from any array library as a NumPy array, never importing that library. Pure.

torch tensors, JAX arrays, CuPy arrays, PIL images and anything with ``__dlpack__``,
``__array__`` or ``__array_interface__`` are
read without rlvideo depending on them: a library is only ever looked up in ``sys.modules``,
where it already is if the frame exists.

- CPU data is read in place (zero-copy): torch through ``Tensor.numpy()``, the rest through
  ``np.asarray`` or ``np.from_dlpack``.
- Device data (a CUDA tensor, a JAX array on a GPU) crosses to the host once. A torch tensor on
  a device is first made ``uint8``, ``(H, W, C)`` and contiguous *on the device*
  (:func:`torch_device_to_uint8`), so the one device-to-host copy is the finished frame, a
  quarter of a float frame's bytes.
- A PIL image is read through ``np.asarray`` when it is RGB or gray; any other mode (palette,
  RGBA, CMYK, ...) is first converted to RGB by its own ``convert`` (:func:`pil_pixels`).
- ``bfloat16`` has no NumPy dtype: its bits come back as ``uint16`` with
  :attr:`HostFrame.bfloat16` set, for :mod:`rlvideo._core.frames` to convert.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo.errors import InvalidFrameError

__all__ = [
    "HostFrame",
    "library_of",
    "on_device",
    "pil_pixels",
    "to_host",
    "torch_device_to_uint8",
    "transpose_hint",
]


@dataclass(frozen=True)
class HostFrame:
    """A frame's data as a NumPy array in host memory.

    Attributes:
        array: The data; for ``bfloat16`` frames, their bits as ``uint16``.
        bfloat16: Whether ``array`` holds ``bfloat16`` bits.
    """

    array: npt.NDArray[Any]
    bfloat16: bool = False


def library_of(obj: Any) -> str:
    """The array library ``obj`` comes from: ``"numpy"``, ``"torch"``, ``"jax"``, ``"cupy"``, ...

    Example:
        >>> library_of(np.zeros(3)), library_of([1, 2])
        ('numpy', 'builtins')
    """
    if isinstance(obj, np.ndarray):
        return "numpy"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):  # subclasses too (Parameter, ...)
        return "torch"
    root = type(obj).__module__.split(".")[0]
    return "jax" if root == "jaxlib" else root


def on_device(obj: Any) -> bool:
    """Whether ``obj`` is a torch tensor whose data is not in host memory (CUDA, MPS, XPU)."""
    device = getattr(obj, "device", None)
    return library_of(obj) == "torch" and getattr(device, "type", "cpu") != "cpu"


def transpose_hint(obj: Any, axes: str = "1, 2, 0") -> str:
    """How to reorder a frame's axes in its own library (torch's ``transpose`` takes two).

    Example:
        >>> transpose_hint(np.zeros((3, 4, 4)))
        'frame.transpose(1, 2, 0)'
    """
    library = library_of(obj)
    if library == "torch":
        return f"frame.permute({axes})"
    if library == "jax":
        return f"jnp.transpose(frame, ({axes}))"
    return f"frame.transpose({axes})"


def _check_torch(tensor: Any, index: int) -> None:
    if getattr(tensor, "requires_grad", False):
        raise InvalidFrameError(
            f"frame {index} is a torch tensor that requires grad. Record frame.detach() "
            "(rlvideo does not detach for you: the frame would keep its autograd graph alive)."
        )


def to_host(frame: Any, index: int) -> HostFrame:
    """``frame``'s data as a NumPy array, in place where the data is on the host already.

    Args:
        frame: A NumPy array, torch tensor (CPU or device), JAX array, CuPy array, or anything
            with ``__dlpack__`` or ``__array__``.
        index: The frame's index, for the messages.

    Raises:
        InvalidFrameError: For a tensor that requires grad, or an object with no array form.

    Example:
        >>> frame = np.zeros((2, 2, 3), np.uint8)
        >>> to_host(frame, 0).array is frame
        True
    """
    if isinstance(frame, np.ndarray):
        return _checked(frame)
    library = library_of(frame)
    try:
        if library == "PIL":
            return HostFrame(pil_pixels(frame))
        if library == "torch":
            _check_torch(frame, index)
            tensor = frame.cpu() if on_device(frame) else frame  # the one device-to-host copy
            torch = sys.modules["torch"]
            if tensor.dtype == torch.bfloat16:
                return HostFrame(tensor.view(torch.int16).numpy().view(np.uint16), bfloat16=True)
            return HostFrame(tensor.numpy())
        if library == "cupy" and hasattr(frame, "get"):
            return _checked(frame.get())  # one device-to-host copy
        if hasattr(frame, "__array__") or not hasattr(frame, "__dlpack__"):
            return _checked(np.asarray(frame))  # JAX: in place on the CPU, one copy from a GPU
        return _checked(np.from_dlpack(frame))
    except InvalidFrameError:
        raise
    except Exception as exc:  # an object with no array form, a device NumPy cannot read
        raise InvalidFrameError(
            f"frame {index} of type {type(frame).__name__} cannot be read as an array ({exc}). "
            "Pass a NumPy array, a torch tensor, a JAX array, or anything with __dlpack__ or "
            "__array__ on the CPU."
        ) from exc


_PIL_AS_IS = frozenset({"RGB", "L", "1", "I", "I;16", "F"})
"""PIL modes whose array is the image (``1`` is bool; ``I``, ``I;16``, ``F`` are checked values)."""


def pil_pixels(image: Any) -> npt.NDArray[Any]:
    """A PIL image's pixels as an array: RGB and gray as they are, every other mode as RGB.

    ``np.asarray`` of a palette image gives its palette indices, and of CMYK or YCbCr four or
    three channels that are no RGB; Pillow converts those (and drops an alpha, as every frame's
    is dropped here). Pillow itself is never imported: the image's own ``convert`` does it.

    Example:
        >>> class Image:  # a stand-in for PIL.Image.Image, whose module is PIL.Image
        ...     mode = "P"
        ...     def convert(self, mode):
        ...         return np.zeros((2, 3, 3), np.uint8)
        >>> pil_pixels(Image()).shape
        (2, 3, 3)
    """
    return np.asarray(image if image.mode in _PIL_AS_IS else image.convert("RGB"))


def _checked(array: npt.NDArray[Any]) -> HostFrame:
    if array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16, as JAX gives it
        return HostFrame(array.view(np.uint16), bfloat16=True)
    return HostFrame(array)


def torch_device_to_uint8(
    tensor: Any,
    *,
    channels_first: bool,
    float_range: tuple[float, float],
    index: int,
    check_values: Callable[[float, float, str, int, bool], None],
) -> npt.NDArray[np.uint8]:
    """Convert a torch frame on its device, then copy it to the host once: ``(H, W, C)`` uint8.

    Values are checked as on the host (``check_values(low, high, dtype, index, is_float)``
    raises for NaN, infinities and values out of range), so a frame gets the same error
    wherever its data lives. (Tested on a tensor that reports a CUDA device:
    ``tests/test_frame_kinds.py``.)
    """
    torch = sys.modules["torch"]
    _check_torch(tensor, index)
    if channels_first:
        tensor = tensor.permute(1, 2, 0)
    dtype = tensor.dtype
    if dtype == torch.bool:
        tensor = tensor.to(torch.uint8) * 255
    elif dtype != torch.uint8:
        name = str(dtype).removeprefix("torch.")
        values = tensor.float() if dtype.is_floating_point else tensor
        low, high = (float(value) for value in torch.aminmax(values))
        check_values(low, high, name, index, dtype.is_floating_point)
        if dtype.is_floating_point:
            lowest, highest = float_range
            scaled = (values - lowest) * (255.0 / (highest - lowest))
            tensor = scaled.round_().clamp_(0, 255).to(torch.uint8)
        else:
            tensor = tensor.to(torch.uint8)
    host: npt.NDArray[np.uint8] = tensor.contiguous().cpu().numpy()  # the one copy to the host
    return host
