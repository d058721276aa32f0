"""Read videos back with PyAV directly (not via rlvideo.probe): tests never grade themselves."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt


@dataclass
class Decoded:
    frames: list[npt.NDArray[np.uint8]]
    width: int
    height: int
    fps: float
    codec: str
    pix_fmt: str
    times: list[float]  # presentation time of each frame, seconds

    @property
    def count(self) -> int:
        return len(self.frames)


def decode(path: str | Path) -> Decoded:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * frame.time_base))
        ctx = stream.codec_context
        return Decoded(
            frames, ctx.width, ctx.height, float(stream.average_rate or 0), ctx.name,
            str(ctx.pix_fmt), times,
        )  # fmt: skip


def rms(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def gradient_frames(count: int, height: int = 48, width: int = 64) -> list[npt.NDArray[np.uint8]]:
    """Smooth, distinct frames: lossy codecs keep them within a small RMS error."""
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = x * 180 // max(width - 1, 1) + (3 * i) % 70  # no wrap-around edge
        frame[..., 1] = (y * 255 // max(height - 1, 1)) % 256
        frame[..., 2] = (40 + 13 * i) % 256
        frames.append(frame)
    return frames


def solid(value: int, height: int = 48, width: int = 64) -> npt.NDArray[np.uint8]:
    return np.full((height, width, 3), value, np.uint8)


def folder_names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# -- frames that say which they are, and a disk that fills up (tests/test_fault_matrix.py) -------
CODES = 64  # code_frame(i) and code_frame(i + 64) are the same frame


def code_frame(i: int, height: int = 48, width: int = 64) -> npt.NDArray[np.uint8]:
    """A solid frame whose colour encodes ``i % 64``: three base-4 digits, 60 levels apart."""
    digits = [(i % CODES) // 4**d % 4 for d in range(3)]
    return np.tile(np.array([40 + 60 * d for d in digits], np.uint8), (height, width, 1))


def code_of(frame: npt.NDArray[np.uint8]) -> int:
    """The ``i % 64`` that :func:`code_frame` drew ``frame`` from; -1 for no such frame.

    Every pixel must be within 12 levels of the code's colour (lossy codecs stay well within).
    """
    mean = frame.reshape(-1, 3).mean(axis=0)
    digits = np.clip(np.rint((mean - 40) / 60), 0, 3)
    colour = 40 + 60 * digits
    if np.abs(frame.astype(np.int16) - colour.astype(np.int16)).max() > 12:
        return -1
    return int(digits @ np.array([1, 4, 16]))


def fill_disk_after(frames: int) -> None:
    """Make the disk full once ``frames`` frames went into encoders in this process.

    From then on the file size limit (``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored) is the size
    the video being written had: FFmpeg's own writes to it, and to any new file larger than
    that, fail with ``EFBIG`` as they would with ``ENOSPC`` on a full disk. Whatever a muxer
    still held in memory never reaches the disk. Call it from the main thread.
    """
    import resource
    import signal

    from rlvideo.io import writer as encoder

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    submit = encoder._Output.submit
    count = 0

    def submit_then_fill(self: encoder._Output, frame: object, pipelined: bool = False) -> None:
        nonlocal count
        submit(self, frame, pipelined)  # type: ignore[arg-type]
        count += 1
        if count == frames:
            if self._queue is not None:  # the encoder thread's frames reach the file first
                self._queue.join()
            hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.partial.stat().st_size, hard))

    encoder._Output.submit = submit_then_fill  # type: ignore[method-assign]


@contextlib.contextmanager
def moto_s3() -> Iterator[int]:
    """A loopback S3 server (moto's, on 127.0.0.1) at a free port, for a ``with`` block."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield port
    finally:
        server.stop()
