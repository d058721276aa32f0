"""Which x264 preset, tune and threading is cheapest per frame size, at no more than 1.1x the file.

Frames (real, made once in this process):

- Pong 210x160: ``ALE/Pong-v5`` with ``render_mode="rgb_array"`` and random actions (seed 0),
  reset as episodes end;
- 84x84: the same Pong frames resized with ``cv2.INTER_AREA`` (the size Atari agents see);
- CartPole 600x400 (random actions, reset as episodes end), for reference.

For each size, every candidate encodes the same frames through :class:`rlvideo.VideoWriter`
(``options=`` overrides today's preset; ``threads=1`` as the background worker uses it). A
candidate is a preset (ultrafast .. medium), with or without today's ``x264-params``
(``mbtree=1:rc-lookahead=10:bframes=3:ref=2``; without: ``x264-params=""``), and a tune
(none, zerolatency, animation, stillimage). ``threads=auto`` runs FFmpeg's automatic
threading for a few candidates (the writer otherwise keeps frames below 320x240 on one
thread). Reported: CPU ms per frame
(``time.process_time``, every thread of this process, the best of R interleaved repeats),
wall ms per frame, and the file size against today's default (superfast + x264-params, crf 23).
The pick per size is the candidate with the least CPU whose file is at most 1.1x today's.

The conversion path (rgb24 -> yuv420p) is measured on its own: PyAV's ``VideoReformatter``
(what the writer uses, one per video) with each swscale interpolation flag, CPU us per frame
and the largest per-channel error after converting back to rgb24.

Workers (``--vector``): an 8-env per-env vector CartPole
(``gymnasium.make_vec("CartPole-v1", 8, vectorization_mode="sync", render_mode="rgb_array")``,
balanced by :func:`rlvideo.cli.demo.balancing_policy`, 500 vector steps, one episode per env,
``rlvideo.wrappers.vector.RecordVideo(..., per_env=True)``) recorded with its videos spread over
1 vs 2 encoder processes (``worker_count`` patched), against the render-only loop; interleaved
repeats in one process, whole run (until ``close()`` returned) and the loop before ``close()``.

Run: ``python benchmarks/bench_encoder_settings.py [--frames 300] [--repeats 3] [--markdown]``,
``python benchmarks/bench_encoder_settings.py --vector [--repeats 3] [--steps 500]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import count_decoded, table

BASE_PARAMS = "mbtree=1:rc-lookahead=10:bframes=3:ref=2"
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
TUNES = ("", "zerolatency", "animation", "stillimage")


def env_frames(env_id: str, count: int) -> list[np.ndarray]:
    """``count`` renders of ``env_id`` under random actions (seeded), reset as episodes end."""
    import gymnasium

    if env_id.startswith("ALE/"):
        import ale_py

        gymnasium.register_envs(ale_py)
    env = gymnasium.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    frames = []
    for _ in range(count):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frames.append(np.ascontiguousarray(env.render()))
        if terminated or truncated:
            env.reset()
    env.close()
    return frames


def resized(frames: list[np.ndarray], size: int) -> list[np.ndarray]:
    import cv2

    return [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]


def candidates() -> list[tuple[str, dict[str, str], bool]]:
    """(label, options, threaded): today's default first."""
    found: list[tuple[str, dict[str, str], bool]] = [
        ("today: superfast+params", {"preset": "superfast", "x264-params": BASE_PARAMS}, False),
        ("rlvideo's default now (per size)", {}, False),
    ]
    for preset in PRESETS:
        for params in (False, True):
            for tune in TUNES:
                if preset == "superfast" and params and not tune:
                    continue  # today's
                # "": none of today's x264-params (options only override the defaults)
                options = {"preset": preset, "x264-params": BASE_PARAMS if params else ""}
                if tune:
                    options["tune"] = tune
                label = preset + ("+params" if params else "") + (f" tune={tune}" if tune else "")
                found.append((label, options, False))
    for label, options in (
        ("today, threads=auto", {"preset": "superfast", "x264-params": BASE_PARAMS}),
        ("ultrafast, threads=auto", {"preset": "ultrafast", "x264-params": ""}),
        ("veryfast, threads=auto", {"preset": "veryfast", "x264-params": ""}),
    ):
        found.append((label, options, True))
    return found


def encode(frames: list[np.ndarray], folder: Path, options: dict[str, str], threaded: bool) -> Any:
    import rlvideo.io.writer as writer_module
    from rlvideo import VideoWriter

    path = folder / "out.mp4"
    saved = writer_module.THREADED_MIN_PIXELS
    if threaded:
        writer_module.THREADED_MIN_PIXELS = 0  # FFmpeg's automatic threads at any size
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        writer = VideoWriter(
            path, fps=30, options=options, overwrite=True, threads=None if threaded else 1
        )
        for frame in frames:
            writer.write(frame)
        writer.close()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        writer_module.THREADED_MIN_PIXELS = saved
    return cpu, wall, path.stat().st_size, path


def bench_size(
    name: str, frames: list[np.ndarray], repeats: int, markdown: bool, only: list[str]
) -> tuple[str, dict[str, str], bool]:
    found = [c for c in candidates() if not only or c[0] in only or c[0].startswith("today:")]
    best_cpu = {label: float("inf") for label, _, _ in found}
    best_wall = dict(best_cpu)
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        encode(frames[:30], folder, found[0][1], False)  # warm-up: imports, first open
        for _ in range(repeats):  # interleaved: each repeat runs every candidate once
            for label, options, threaded in found:
                cpu, wall, size, path = encode(frames, folder, options, threaded)
                best_cpu[label] = min(best_cpu[label], cpu)
                best_wall[label] = min(best_wall[label], wall)
                sizes[label] = size
        decoded = count_decoded(path)
        assert decoded == len(frames), (decoded, len(frames))
    today = found[0][0]
    rows = []
    for label, _, _ in sorted(found, key=lambda c: best_cpu[c[0]]):
        rows.append(
            [
                label,
                f"{best_cpu[label] / len(frames) * 1e3:.3f}",
                f"{best_wall[label] / len(frames) * 1e3:.3f}",
                f"{best_cpu[label] / best_cpu[today]:.2f}x",
                f"{sizes[label] / 1024:.1f}",
                f"{sizes[label] / sizes[today]:.2f}x",
            ]
        )
    height, width = frames[0].shape[:2]
    print(f"\n## {name} ({width}x{height}, {len(frames)} frames, best of {repeats})\n")
    headers = ["setting", "CPU ms/frame", "wall ms/frame", "CPU vs today", "kB", "size vs today"]
    print(table(headers, rows, markdown=markdown))
    fitting = [c for c in found if sizes[c[0]] <= 1.1 * sizes[today]]
    pick = min(fitting, key=lambda c: best_cpu[c[0]])
    print(
        f"\npick for {width}x{height}: {pick[0]} {pick[1]}: "
        f"{best_cpu[pick[0]] / best_cpu[today]:.2f}x today's CPU, "
        f"{sizes[pick[0]] / sizes[today]:.2f}x its size"
    )
    return pick


def bench_conversion(name: str, frames: list[np.ndarray], repeats: int, markdown: bool) -> None:
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    rows = []
    for flag in ("BILINEAR", "FAST_BILINEAR", "POINT", "BICUBIC", "AREA"):
        reformatter = VideoReformatter()
        back = VideoReformatter()
        interpolation = Interpolation[flag]
        best = float("inf")
        for _ in range(repeats):
            cpu = time.process_time()
            for frame in frames:
                source = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")
                reformatter.reformat(source, format="yuv420p", interpolation=interpolation)
            best = min(best, time.process_time() - cpu)
        error = 0
        for frame in frames[:50]:
            source = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")
            yuv = reformatter.reformat(source, format="yuv420p", interpolation=interpolation)
            rgb = back.reformat(yuv, format="rgb24").to_ndarray()
            error = max(error, int(np.abs(rgb.astype(int) - frame.astype(int)).max()))
        label = flag + (" (today: PyAV's default)" if flag == "BILINEAR" else "")
        rows.append([label, f"{best / len(frames) * 1e6:.0f}", str(error)])
    height, width = frames[0].shape[:2]
    print(f"\n### conversion rgb24 -> yuv420p, {name} ({width}x{height})\n")
    print(table(["swscale flag", "CPU us/frame", "max error"], rows, markdown=markdown))


def vector_run(workers: int | None, steps: int, folder: Path) -> tuple[float, float, float]:
    """(whole run, loop, CPU) seconds: render-only when ``workers`` is None, else recorded.

    CPU: this process's and its waited-for children's (the encoder processes) user + system.
    """
    import gymnasium as gym

    import rlvideo.recording._recorder as recorder_module
    from rlvideo.cli.demo import balancing_policy
    from rlvideo.wrappers.vector import RecordVideo

    env: Any = gym.make_vec(
        "CartPole-v1", num_envs=8, vectorization_mode="sync", render_mode="rgb_array",
        max_episode_steps=steps,
    )  # fmt: skip
    saved = recorder_module.worker_count
    if workers is not None:
        recorder_module.worker_count = lambda kind: workers  # type: ignore[assignment]
        env = RecordVideo(env, str(folder), per_env=True, episode_trigger=lambda e: True)
    try:
        cpu_before = os.times()
        start = time.perf_counter()
        observation, _ = env.reset(seed=0)
        if workers is None:
            env.render()
        for _ in range(steps):
            actions = np.array([balancing_policy(o) for o in observation])
            observation, *_ = env.step(actions)
            if workers is None:
                env.render()
        loop = time.perf_counter() - start
        env.close()
        whole = time.perf_counter() - start
        cpu_after = os.times()
        cpu = sum(cpu_after[i] - cpu_before[i] for i in range(4))
    finally:
        recorder_module.worker_count = saved
    if workers is not None:
        videos = sorted(folder.glob("*.mp4"))
        assert len(videos) == 8, videos
        assert all(count_decoded(v) == steps + 1 for v in videos)
        for video in videos:
            video.unlink()
    return whole, loop, cpu


def bench_vector(steps: int, repeats: int, markdown: bool) -> None:
    import pygame  # noqa: F401 (CartPole imports it at its first render: off the clock)

    runs: dict[str, list[tuple[float, float]]] = {
        "render-only": [],
        "1 worker": [],
        "2 workers": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        vector_run(1, 20, Path(tmp))  # warm-up
        for _ in range(repeats):
            for label, workers in (("render-only", None), ("1 worker", 1), ("2 workers", 2)):
                load = os.getloadavg()[0]
                runs[label].append(vector_run(workers, steps, Path(tmp)))
                whole, loop, cpu = runs[label][-1]
                print(
                    f"  {label}: whole {whole:.2f} s, loop {loop:.2f} s, CPU {cpu:.2f} s "
                    f"(load {load:.2f})"
                )
    base_whole = min(r[0] for r in runs["render-only"])
    base_loop = min(r[1] for r in runs["render-only"])
    rows = []
    for label, found in runs.items():
        whole, loop = min(r[0] for r in found), min(r[1] for r in found)
        median = sorted(r[0] for r in found)[len(found) // 2]
        cpu = min(r[2] for r in found)
        rows.append([
            label, f"{whole:.2f}", f"{whole / base_whole:.2f}x", f"{median:.2f}",
            f"{loop / base_loop:.2f}x", f"{cpu:.2f}",
        ])  # fmt: skip
    print(f"\n## 8-env per-env vector CartPole, {steps} steps, best of {repeats}\n")
    headers = ["run", "whole s", "whole vs render-only", "median whole s", "loop vs render-only"]
    headers.append("CPU s (least)")
    print(table(headers, rows, markdown=markdown))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--skip-cartpole", action="store_true")
    parser.add_argument("--vector", action="store_true", help="only the 1 vs 2 workers runs")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument(
        "--only", default="", help="';'-separated setting labels to run (today's always runs)"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f}, cores: {os.cpu_count()}")
    if args.vector:
        bench_vector(args.steps, args.repeats, args.markdown)
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        return
    pong = env_frames("ALE/Pong-v5", args.frames)
    sizes = [("Pong 84x84 (resized)", resized(pong, 84)), ("Pong", pong)]
    if not args.skip_cartpole:
        sizes.append(("CartPole", env_frames("CartPole-v1", max(args.frames // 3, 30))))
    picks = {}
    for name, frames in sizes:
        only = [label.strip() for label in args.only.split(";") if label.strip()]
        picks[name] = bench_size(name, frames, args.repeats, args.markdown, only)
        bench_conversion(name, frames, args.repeats, args.markdown)
    print("\n## picks")
    for name, (label, options, _) in picks.items():
        print(f"{name}: {label} {options}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
