"""The messages between the caller and the encoder worker, and their form on the wire.

They are frozen dataclasses: a thread worker gets the objects themselves, a process worker the
bytes :func:`encode` makes of them. On the wire each message is a 5-byte header (kind, payload
length) and its payload. A frame is a fixed 24-byte record (video id, slot, height, width,
channels, duration) and freed slots an array of uint32: neither is pickled, so one system call
carries many; every other message is pickled.

Example:
    >>> inbox = bytearray(encode(WriteFrame(1, 3, (48, 64, 3), None)) + freed([0, 1]))
    >>> parse(inbox)
    [WriteFrame(video_id=1, slot=3, shape=(48, 64, 3), duration=None, pixels=None), SlotFree(slots=(0, 1))]
    >>> inbox
    bytearray(b'')
"""  # noqa: E501 (the doctest's line)

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from rlvideo._core.spec import WriterSpec

__all__ = [
    "AttachRing",
    "EncoderKind",
    "EndVideo",
    "Ending",
    "Hurry",
    "OpenVideo",
    "Reply",
    "Request",
    "SlotFree",
    "Stop",
    "VideoResult",
    "WriteFrame",
    "encode",
    "freed",
    "parse",
]

EncoderKind = Literal["process", "thread"]
"""Where videos are encoded: a worker process (the default) or a thread."""
Ending = Literal["close", "abort", "discard"]
"""How a video ends: its final name, ``.incomplete``, or deleted."""


@dataclass(frozen=True)
class VideoResult:
    """How one background video ended.

    Attributes:
        video_id: The id given to :meth:`BackgroundEncoder.open_video`.
        path: The final file; the ``.incomplete`` file when aborted; None when discarded or failed.
        frames: Frames the worker encoded.
        error: What went wrong, or None.
        kept_as: Where a failed video's frames were kept (``.incomplete``), or None.
    """

    video_id: int
    path: Path | None
    frames: int
    error: BaseException | None = None
    kept_as: Path | None = None


# -- the messages between caller and worker (they pickle: a process gets the same objects) ----
@dataclass(frozen=True)
class OpenVideo:
    """Start writing ``path`` with ``spec`` (checked by the caller)."""

    video_id: int
    path: str
    spec: WriterSpec


@dataclass(frozen=True)
class WriteFrame:
    """Encode the converted frame in ``slot`` (in shared memory; or ``pixels``, for a thread)."""

    video_id: int
    slot: int
    shape: tuple[int, ...]
    duration: float | None
    pixels: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class EndVideo:
    """Finish a video: ``"close"`` (final name), ``"abort"`` (incomplete) or ``"discard"``."""

    video_id: int
    how: Ending


@dataclass(frozen=True)
class AttachRing:
    """Frames now travel in the shared block ``name``, in slots of ``slot_bytes``.

    The process worker copies each frame out of its slot into a private backlog of at most
    ``backlog`` bytes of frames (one frame, whatever its size, when it is empty) and gives the
    slots back in batches: ``reply_every`` at a time, and whenever it has read everything it
    was sent.
    """

    name: str
    slot_bytes: int
    reply_every: int = 1
    backlog: int = 0


@dataclass(frozen=True)
class Hurry:
    """The caller waits for its videos (``close()``): encode at full pace (two threads if idle).

    It holds until the next frame comes: then the env records again and training comes first.
    """


@dataclass(frozen=True)
class Stop:
    """Keep every open video as incomplete and stop."""


@dataclass(frozen=True)
class SlotFree:
    """The worker is done with ``slots``: the caller may fill them again."""

    slots: tuple[int, ...]


Request = OpenVideo | WriteFrame | EndVideo | AttachRing | Hurry | Stop
"""What the caller sends the worker."""
Reply = SlotFree | VideoResult
"""What the worker sends back."""


# The wire: a 5-byte header (kind, payload length), then the payload.
_HEADER = struct.Struct("<BI")
_FRAME = struct.Struct("<IIIIId")  # video_id, slot, height, width, channels (0: gray), duration
_PICKLED, _FRAME_RECORD, _FREED = 1, 2, 3
_NO_DURATION = float("nan")


def encode(message: Request | Reply) -> bytes:
    """``message`` as bytes: a frame in shared memory as a fixed record, any other pickled."""
    if isinstance(message, WriteFrame) and message.pixels is None:
        height, width, *channels = message.shape
        duration = _NO_DURATION if message.duration is None else message.duration
        record = _FRAME.pack(
            message.video_id, message.slot, height, width, channels[0] if channels else 0, duration
        )
        return _HEADER.pack(_FRAME_RECORD, _FRAME.size) + record
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(_PICKLED, len(data)) + data


def freed(slots: list[int]) -> bytes:
    """A :class:`SlotFree` for ``slots`` as bytes: an array of uint32, not pickled."""
    return _HEADER.pack(_FREED, 4 * len(slots)) + struct.pack(f"<{len(slots)}I", *slots)


def parse(buffer: bytearray) -> list[Any]:
    """Take every complete message off the front of ``buffer`` (a partial one stays)."""
    found: list[Any] = []
    offset = 0
    while len(buffer) - offset >= _HEADER.size:
        kind, size = _HEADER.unpack_from(buffer, offset)
        start = offset + _HEADER.size
        if len(buffer) - start < size:
            break
        if kind == _FRAME_RECORD:
            video_id, slot, height, width, channels, duration = _FRAME.unpack_from(buffer, start)
            shape = (height, width, channels) if channels else (height, width)
            found.append(
                WriteFrame(video_id, slot, shape, None if duration != duration else duration)
            )
        elif kind == _FREED:
            found.append(SlotFree(struct.unpack_from(f"<{size // 4}I", buffer, start)))
        else:
            found.append(pickle.loads(buffer[start : start + size]))
        offset = start + size
    del buffer[:offset]
    return found
