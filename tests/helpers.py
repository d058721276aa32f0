"""Read videos back with PyAV directly (not via rlvideo.probe): tests never grade themselves."""

from __future__ import annotations

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
