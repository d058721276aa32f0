"""Benchmark the overlay: what burning in episode/step/reward/return adds to a frame's cost.

The bar (issue 13): at 600x400 (CartPole) the overlay adds at most 10% to the encode cost of a
frame. Measured on real CartPole frames (a random policy, rendered once up front), in one run:

- encode: CPU per frame of the background worker's encoder (``VideoWriter``, ``threads=1``,
  the recorder's default settings), raw frames;
- overlay + encode: the same loop drawing the overlay (episode, step, reward, return) on
  each frame just before it is written, as the recorder does: ``band``, ``Overlay()``'s
  default, copies the frame under a band of text (the encoder then has the band's rows more
  to encode); ``box``, ``Overlay(position="top-left")``, copies the frame and shades a box in
  its corner. "of which overlay" is the drawing's own share.

The ratio is (overlay + encode) / encode. 84x84 and 1920x1080 (the frame upscaled) are shown
for scale. CPU time (``time.process_time``) of the overlay, ``write`` and ``close``, the
frame "rendered" (copied into a buffer) untimed before each; best of 5 interleaved runs.

    .venv/bin/python benchmarks/bench_overlay.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import count_decoded, table


def cartpole_frames(count: int) -> list[Any]:
    import gymnasium as gym

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    frames = []
    while len(frames) < count:
        frames.append(env.render())
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    return frames


def resized(frames: list[Any], height: int, width: int) -> list[Any]:
    from PIL import Image

    return [__import__("numpy").asarray(Image.fromarray(f).resize((width, height))) for f in frames]


def values(count: int) -> list[dict[str, Any]]:
    return [
        {"episode": i // 40, "step": i % 40, "reward": 1.0, "return": float(i % 40)}
        for i in range(count)
    ]


def encode_cpu(frames: list[Any], folder: Path, overlay: Any = None) -> tuple[float, float]:
    """CPU seconds per frame to encode ``frames`` as the background worker does, and of that,
    the overlay's share (drawn on each frame just before it is written, as the recorder does).
    """
    from rlvideo._core.spec import WriterSpec
    from rlvideo.io.writer import VideoWriter

    spec = WriterSpec.build(format="mp4", fps=30, overwrite=True).replace(threads=1)
    path = folder / "bench.mp4"
    per_frame = values(len(frames))
    drawing = spent = 0.0
    shape = frames[0].shape if overlay is None else overlay.output_shape(frames[0].shape, {})
    canvas = np.empty(shape, np.uint8)  # the recorder's buffer, reused from frame to frame
    rendered = np.empty_like(frames[0])  # what env.render() just wrote: warm in the caches
    writer = VideoWriter.from_spec(str(path), spec)
    for frame, frame_values in zip(frames, per_frame, strict=True):
        np.copyto(rendered, frame)  # the env's render, not timed
        start = time.process_time()
        given = rendered
        if overlay is not None:
            given = overlay(rendered, frame_values, out=canvas)
            drawing += time.process_time() - start
        writer.write(given)
        spent += time.process_time() - start
    start = time.process_time()
    writer.close()
    spent += time.process_time() - start
    assert count_decoded(path) == len(frames)
    return spent / len(frames), drawing / len(frames)


def main() -> None:
    count = int(os.environ.get("BENCH_FRAMES", "150"))
    base = cartpole_frames(count)
    per_frame = values(count)
    sizes = {
        "84x84": resized(base, 84, 84),
        "600x400 (CartPole)": base,
        "1920x1080": resized(base[: max(30, count // 5)], 1080, 1920),
    }
    from rlvideo.overlay import Overlay

    overlays = {"band": Overlay(), "box": Overlay(position="top-left")}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, frames in sizes.items():
            for overlay in overlays.values():
                overlay(frames[0], per_frame[0])  # the font is loaded once per size
            raws: list[float] = []
            drawns: dict[str, list[tuple[float, float]]] = {name: [] for name in overlays}
            for _ in range(5):  # interleaved, so a busy moment hits all
                raws.append(encode_cpu(frames, Path(folder))[0])
                for name, overlay in overlays.items():
                    drawns[name].append(encode_cpu(frames, Path(folder), overlay))
            raw = min(raws)
            for name in overlays:
                drawn, drawing = min(drawns[name])
                rows.append(
                    [
                        label, name, str(len(frames)), f"{raw * 1e3:.2f}", f"{drawn * 1e3:.2f}",
                        f"{drawing * 1e3:.3f}", f"{drawn / raw:.3f}",
                    ]
                )  # fmt: skip
    columns = ["frames", "overlay", "n", "encode ms", "overlay + encode ms"]
    print(table([*columns, "of which overlay ms", "ratio"], rows))


if __name__ == "__main__":
    main()
