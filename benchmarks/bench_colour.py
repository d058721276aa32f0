"""Benchmark RGB -> YUV 4:2:0 conversions: cost, and how far each lands from what rlvideo writes.

rlvideo converts with FFmpeg's swscale (PyAV's ``VideoReformatter``, bilinear, BT.601 limited
range). This compares, on real env frames (CartPole 600x400, Pong 210x160, MiniGrid 160x160) and
on noise (the worst case for chroma):

- swscale with each interpolation flag (for a same-size conversion the flag only picks how
  chroma is subsampled), and swscale's BGR24 fast path (it has none for RGB24);
- OpenCV's ``cvtColor(COLOR_RGB2YUV_I420)``, when opencv is installed;
- OpenCV matching swscale's filter: swscale's bilinear 4:2:0 chroma is a horizontal pair
  average and a vertical [1, 3, 3, 1] / 8 (measured with impulses), so: luma from
  ``cvtColor(RGB2YUV_I420)``, chroma from a vertical [1, 2, 1] / 4 ``GaussianBlur``, a 2x
  ``INTER_LINEAR`` (pair average) ``resize``, full-range ``RGB2YCrCb`` and a LUT to limited range.
  It lands within a level or two; is it faster?

For each: milliseconds per frame (best of 5 x 50 calls) and the largest and mean difference from
today's output, per plane (Y, and U/V together), in levels of 0-255. "A level or two" is the bar
for a faster path to replace today's.

    .venv/bin/python benchmarks/bench_colour.py
"""

from __future__ import annotations

import os
import sys
import timeit
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table


def frames() -> dict[str, Any]:
    import gymnasium as gym
    import numpy as np

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    found: dict[str, Any] = {}
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    found["CartPole 600x400"] = env.render()
    try:
        import ale_py

        gym.register_envs(ale_py)
        env = gym.make("ALE/Pong-v5", render_mode="rgb_array")
        env.reset(seed=0)
        for _ in range(60):
            env.step(0)
        found["Pong 160x210"] = env.render()
    except ImportError:
        print("Pong skipped: pip install ale-py")
    try:
        import minigrid  # noqa: F401 (registers its envs)

        env = gym.make("MiniGrid-Empty-5x5-v0", render_mode="rgb_array")
        env.reset(seed=0)
        found["MiniGrid 160x160"] = env.render()
    except ImportError:
        print("MiniGrid skipped: pip install minigrid")
    found["noise 600x400"] = np.random.default_rng(0).integers(0, 256, (400, 600, 3), np.uint8)
    return found


def opencv_exact(cv2: Any, np: Any) -> Any:
    """The conversion above, with swscale's chroma filter; returns a yuv420p (I420) array."""
    scale = np.round(128 + (np.arange(256) - 128) * 224 / 255).clip(0, 255).astype(np.uint8)
    table = np.stack([np.arange(256, dtype=np.uint8), scale, scale], axis=1).reshape(256, 1, 3)

    def convert(image: Any) -> Any:
        height, width = image.shape[:2]
        out = cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420)  # its luma is right; chroma is not
        smooth = cv2.GaussianBlur(image, (1, 3), 0, borderType=cv2.BORDER_REPLICATE)
        half = cv2.resize(smooth, (width // 2, height // 2), interpolation=cv2.INTER_LINEAR)
        chroma = cv2.LUT(cv2.cvtColor(half, cv2.COLOR_RGB2YCrCb), table)
        quarter, flat = (height // 2) * (width // 2), out.reshape(-1)
        flat[height * width : height * width + quarter] = chroma[..., 2].reshape(-1)  # Cb
        flat[height * width + quarter :] = chroma[..., 1].reshape(-1)  # Cr
        return out

    return convert


def main() -> int:
    import av
    import numpy as np
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()

    def swscale(image: Any, source: str = "rgb24", interpolation: str | None = None) -> Any:
        frame = av.VideoFrame.from_numpy_buffer(image, format=source)
        return reformatter.reformat(frame, format="yuv420p", interpolation=interpolation)

    try:
        import cv2
    except ImportError:
        cv2 = None
        print("OpenCV skipped: pip install opencv-python-headless")
    else:
        cv2.setNumThreads(1)
        exact = opencv_exact(cv2, np)
    rows = []
    for name, frame in frames().items():
        height, width = frame.shape[0] & ~1, frame.shape[1] & ~1
        image = np.ascontiguousarray(frame[:height, :width])
        bgr = np.ascontiguousarray(image[..., ::-1])
        today = swscale(image).to_ndarray().astype(int)
        ways: dict[str, Any] = {
            "swscale bilinear (today)": lambda image=image: swscale(image),
            "swscale point": lambda image=image: swscale(image, interpolation="POINT"),
            "swscale area": lambda image=image: swscale(image, interpolation="AREA"),
            "swscale BGR24 fast path (BGR input)": lambda bgr=bgr: swscale(bgr, "bgr24"),
        }
        if cv2 is not None:
            ways["OpenCV cvtColor RGB2YUV_I420"] = lambda image=image: cv2.cvtColor(
                image, cv2.COLOR_RGB2YUV_I420
            )
            ways["OpenCV, swscale's chroma filter"] = lambda image=image: exact(image)
        for way, convert in ways.items():
            out = convert()
            planes = (out if isinstance(out, np.ndarray) else out.to_ndarray()).astype(int)
            gap = np.abs(planes - today)
            seconds = min(timeit.repeat(convert, number=50, repeat=5)) / 50
            rows.append([
                name, way, f"{seconds * 1e3:.3f}", str(gap[:height].max()),
                f"{gap[height:].max()} / {gap[height:].mean():.2f}",
            ])  # fmt: skip
    print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}; one thread per conversion")
    headers = ["frame", "conversion", "ms", "Y max diff", "U,V max / mean diff"]
    print(table(headers, rows, markdown="--markdown" in sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
