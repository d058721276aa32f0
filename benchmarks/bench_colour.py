"""Benchmark RGB -> YUV 4:2:0 conversions: cost, and how far each lands from what rlvideo writes.

rlvideo converts with FFmpeg's swscale (PyAV's ``VideoReformatter``, bilinear, BT.601 limited
range). This compares, on real env frames (CartPole 600x400, Pong 210x160, MiniGrid 160x160) and
on noise (the worst case for chroma):

- swscale with each interpolation flag (for a same-size conversion the flag only picks how
  chroma is subsampled), and swscale's BGR24 fast path (it has none for RGB24);
- OpenCV's ``cvtColor(COLOR_RGB2YUV_I420)``, when opencv is installed.

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
