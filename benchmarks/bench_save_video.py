"""Benchmark rlvideo's ``save_video`` against Gymnasium's (moviepy) and a bare PyAV loop.

What it measures, all in one run on this machine:

1. Episode video: N CartPole-v1 frames (600x400, seeded, a simple balancing policy, episodes
   reset as needed; default N=1000) written as one MP4 at 30 fps by

   - ``rlvideo.save_video(frames, folder, episode_trigger=lambda i: True, fps=30)``;
   - ``gymnasium.utils.save_video.save_video`` with the same arguments (moviepy piping raw
     frames to an ffmpeg process, libx264 preset medium);
   - ``mediapy.write_video(path, frames, fps=30)`` at mediapy's defaults (h264 through an
     ffmpeg process: imageio-ffmpeg's binary, as this machine has no system ffmpeg);
   - ``imageio.v3.imwrite(path, frames, plugin="pyav", codec="libx264", fps=30)``;
   - OpenCV's ``cv2.VideoWriter`` with ``mp4v`` (MPEG-4 Part 2: the pip wheel has no H.264
     encoder), RGB frames converted to BGR as it wants them;
   - a bare PyAV loop at rlvideo's own encoder settings: a plain (non-fragmented) MP4, libx264
     with ``rlvideo._core.codecs.encoder_settings("mp4")`` options, thread_type AUTO, yuv420p,
     ``VideoFrame.from_numpy_buffer(frame, format="rgb24")``;
   - x264 alone: the same encoder and settings fed frames converted to yuv420p before the
     clock starts. This is the floor: what encoding costs when nothing else does.

   For each: wall seconds (until the file is finalized), frames per second, CPU seconds (the
   process and its ffmpeg children), file size, peak RSS, and how many frames PyAV decodes back.
2. Step clips: the same frames with ``step_trigger=lambda s: s % 10 == 0, video_length=50``
   (frames 1..N-1 are steps 0..N-2: 100 clips for N=1000, the last few shorter than 50 frames
   because the episode ends), rlvideo against Gymnasium's ``save_video``.
3. The targets, PASS/FAIL, and a Markdown table for the README.

Method: the frames are rendered once (in a subprocess) into an ``.npy`` file in a temporary
folder and are not timed. Every timed run is a fresh Python process that loads the frames as a
list of arrays (what an env's render list looks like), imports its library, then starts the
clock; so peak RSS is per contender. Contenders are interleaved round by round in a rotating
order, so slow drift of the machine hits all of them. Each is repeated: the tables show best and
median, and ratios use the best (the least disturbed run on a shared machine), with the ratio of
medians beside it. "RSS MB" is the process's peak RSS, which includes the frames themselves
(N x 600 x 400 x 3 bytes, 720 MB for N=1000); "+RSS MB" is its growth during the timed part
(over the peak after loading the frames and importing). moviepy's ffmpeg subprocess is not in
either (its CPU time is in "CPU s").

Run it from the repository root (about 1.5 minutes on 2 CPUs; --quick about 10 s):

    .venv/bin/python benchmarks/bench_save_video.py
    .venv/bin/python benchmarks/bench_save_video.py --quick      # 300 frames, 1 run each
    .venv/bin/python benchmarks/bench_save_video.py --repeats 9 --step-repeats 5

The exit status is 0 even when a target fails (it is a measurement, not a test); it is 1 only
if a contender crashed, and then the crash's output is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import count_decoded, table  # benchmarks/ is on sys.path when run

FPS = 30
WIDTH, HEIGHT = 600, 400
STEP_EVERY = 10
STEP_LENGTH = 50

EPISODE = ("rlvideo", "gymnasium", "mediapy", "imageio", "opencv", "pyav", "x264")
STEPS = ("rlvideo-steps", "gymnasium-steps")
LABELS = {
    "rlvideo": "rlvideo save_video",
    "gymnasium": "Gymnasium save_video (moviepy)",
    "mediapy": "mediapy write_video (ffmpeg process)",
    "imageio": "imageio v3 imwrite, pyav plugin",
    "opencv": "OpenCV VideoWriter (mp4v: no H.264 in the wheel)",
    "pyav": "bare PyAV loop",
    "x264": "x264 alone on pre-converted YUV (floor)",
    "rlvideo-steps": "rlvideo save_video",
    "gymnasium-steps": "Gymnasium save_video (moviepy)",
}

# description, (numerator, denominator) of the measured ratio, target, higher is better
TARGETS = (
    ("rlvideo >= 2x faster than Gymnasium (episode video)", ("gymnasium", "rlvideo"), 2.0, True),
    ("rlvideo time <= 1.05x bare PyAV (episode video)", ("rlvideo", "pyav"), 1.05, False),
    ("rlvideo CPU <= 1.3x x264 alone (episode video)", ("rlvideo", "x264"), 1.3, False),
    ("step clips >= 5x faster than Gymnasium", ("gymnasium-steps", "rlvideo-steps"), 5.0, True),
)
SIZE_TARGET = ("rlvideo file size <= 1.1x Gymnasium's (episode video)", 1.1)


# -- children: frame generation and one timed run of one contender --------------------------
def generate_frames(path: Path, count: int, seed: int) -> dict[str, Any]:
    """Render ``count`` CartPole frames into ``path`` (.npy), one at a time (memory flat)."""
    import gymnasium as gym
    import numpy as np

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    first = env.render()
    frames = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, *first.shape))
    frames[0] = first
    episodes = 1
    for i in range(1, count):
        action = int(obs[2] + 0.5 * obs[3] > 0)  # push toward where the pole falls
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
        frames[i] = env.render()
    env.close()
    frames.flush()
    return {"shape": list(frames.shape), "episodes": episodes}


def encode_at_our_settings(video_frames: Any, path: Path, size: tuple[int, int], fps: int) -> None:
    """A plain MP4 (no checks, no remux) at rlvideo's encoder settings, thread_type AUTO."""
    import av

    from rlvideo._core.codecs import encoder_settings

    settings = encoder_settings("mp4")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(settings.codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = settings.pixel_format
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.options = dict(settings.options)
        for index, video_frame in enumerate(video_frames):
            video_frame.pts = index
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _size(frames: list[Any]) -> tuple[int, int]:
    height, width = frames[0].shape[:2]
    return width, height


def write_bare_pyav(frames: list[Any], path: Path, fps: int) -> None:
    """A bare PyAV loop: RGB frames in, converted by the encoder's reformat as they go."""
    import av

    video_frames = (av.VideoFrame.from_numpy_buffer(f, format="rgb24") for f in frames)
    encode_at_our_settings(video_frames, path, _size(frames), fps)


def write_x264_alone(frames: list[Any], path: Path, fps: int) -> Any:
    """Prepare the floor: every frame converted to yuv420p before the clock; returns the run."""
    import av

    converted = [
        av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")
        for frame in frames
    ]

    def run() -> None:
        encode_at_our_settings(converted, path, _size(frames), fps)

    return run


def write_mediapy(frames: list[Any], path: Path, fps: int) -> None:
    """mediapy's own defaults (h264 through an ffmpeg process; imageio-ffmpeg's binary)."""
    import mediapy

    mediapy.write_video(path, frames, fps=fps)


def write_imageio(frames: list[Any], path: Path, fps: int) -> None:
    """imageio's pyav plugin, libx264 at its defaults (preset medium, crf 23)."""
    import imageio.v3 as iio

    iio.imwrite(path, frames, plugin="pyav", codec="libx264", fps=fps)


def write_opencv(frames: list[Any], path: Path, fps: int) -> None:
    """OpenCV's VideoWriter: BGR frames in, mp4v (MPEG-4 Part 2), the pip wheel's only MP4 codec."""
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError("cv2.VideoWriter could not open an mp4v writer")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def _episode(out_dir: Path) -> Path:
    return out_dir / "rl-video-episode-0.mp4"


def run_child(contender: str, frames_path: Path, out_dir: Path, result_path: Path) -> None:
    import numpy as np

    array = np.load(frames_path)
    frames = list(array)  # views, one per frame

    # import before the clock starts, for every contender alike
    if contender.startswith("rlvideo"):
        from rlvideo import save_video as rlvideo_save_video
    elif contender.startswith("gymnasium"):
        from gymnasium.utils.save_video import save_video as gym_save_video
    elif contender == "mediapy":
        import imageio_ffmpeg
        import mediapy

        mediapy.set_ffmpeg(imageio_ffmpeg.get_ffmpeg_exe())  # no system ffmpeg here
    elif contender == "imageio":
        import imageio.v3  # noqa: F401
    elif contender == "opencv":
        import cv2  # noqa: F401
    else:
        import av  # noqa: F401

        import rlvideo._core.codecs  # noqa: F401
    floor = None
    if contender == "x264":  # the conversion is done before the clock, so it is not counted
        floor = write_x264_alone(frames, _episode(out_dir), FPS)
    steps = {"step_trigger": lambda s: s % STEP_EVERY == 0, "video_length": STEP_LENGTH}
    out_dir.mkdir(parents=True)

    ready_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = os.times()
    start = time.perf_counter()
    if contender == "rlvideo":
        rlvideo_save_video(frames, out_dir, episode_trigger=lambda i: True, fps=FPS)
    elif contender == "gymnasium":
        gym_save_video(frames, str(out_dir), episode_trigger=lambda i: True, fps=FPS)
    elif contender == "pyav":
        write_bare_pyav(frames, _episode(out_dir), FPS)
    elif contender == "x264":
        assert floor is not None
        floor()
    elif contender == "mediapy":
        write_mediapy(frames, _episode(out_dir), FPS)
    elif contender == "imageio":
        write_imageio(frames, _episode(out_dir), FPS)
    elif contender == "opencv":
        write_opencv(frames, _episode(out_dir), FPS)
    elif contender == "rlvideo-steps":
        rlvideo_save_video(frames, out_dir, fps=FPS, **steps)
    elif contender == "gymnasium-steps":
        gym_save_video(frames, str(out_dir), fps=FPS, **steps)
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    seconds = time.perf_counter() - start
    cpu_after = os.times()  # includes moviepy's ffmpeg processes, which were waited for
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before decoding the outputs

    files = sorted(p for p in out_dir.iterdir() if p.is_file())
    videos = [p for p in files if p.suffix == ".mp4"]
    result = {
        "seconds": seconds,
        "cpu": sum(a - b for a, b in zip(cpu_after[:4], cpu_before[:4], strict=True)),
        "frames": len(frames),
        "rss_mb": peak_kb / 1024,
        "growth_mb": (peak_kb - ready_kb) / 1024,
        "files": len(files),
        "videos": len(videos),
        "bytes": sum(p.stat().st_size for p in files),
        "decoded": sum(count_decoded(p) for p in videos),
    }
    result_path.write_text(json.dumps(result))


# -- parent -----------------------------------------------------------------------------------
def spawn(args: list[str], log_path: Path, what: str) -> None:
    """Run this script in a fresh Python process; on failure raise with its output."""
    command = [sys.executable, os.path.abspath(__file__), *args]
    with log_path.open("w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {done.returncode}):\n{log_path.read_text()[-4000:]}"
        )


def run_contender(contender: str, frames_path: Path, work: Path, run: int) -> dict[str, Any]:
    name = f"{contender}-{run}"
    child = ["--child", contender, "--frames-file", str(frames_path)]
    child += ["--out", str(work / name), "--result", str(work / f"{name}.json")]
    spawn(child, work / f"{name}.log", f"{contender} run {run + 1}")
    result: dict[str, Any] = json.loads((work / f"{name}.json").read_text())
    shutil.rmtree(work / name, ignore_errors=True)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    times = [r["seconds"] for r in runs]
    summary = dict(runs[-1])
    summary.update(
        best=min(times),
        median=statistics.median(times),
        times=times,
        cpu=min(r["cpu"] for r in runs),
        rss_mb=max(r["rss_mb"] for r in runs),
        growth_mb=max(r["growth_mb"] for r in runs),
        decoded_all=sorted({r["decoded"] for r in runs}),
        bytes_all=sorted({r["bytes"] for r in runs}),
    )
    return summary


def versions() -> str:
    import av
    import gymnasium
    import moviepy
    import numpy

    import rlvideo

    try:
        import imageio_ffmpeg

        moviepy_ffmpeg = imageio_ffmpeg.get_ffmpeg_version()
    except Exception:  # moviepy may be set up with a system ffmpeg instead
        moviepy_ffmpeg = "?"
    avcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return (
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"rlvideo {rlvideo.__version__}, PyAV {av.__version__} (libavcodec {avcodec}), "
        f"gymnasium {gymnasium.__version__}, moviepy {moviepy.__version__} "
        f"(ffmpeg {moviepy_ffmpeg}), numpy {numpy.__version__}"
    )


def seconds_list(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:.2f}" for t in times) + "]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 frames, one run of each")
    parser.add_argument("--frames", type=int, help="frames to render (default 1000)")
    parser.add_argument("--repeats", type=int, help="runs per episode contender (default 7)")
    parser.add_argument("--step-repeats", type=int, help="runs per step contender (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="CartPole seed (default 0)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frames-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.frames_file, args.out, args.result)
        return 0
    if args.generate:
        info = generate_frames(args.frames_file, args.generate, args.seed)
        args.result.write_text(json.dumps(info))
        return 0

    count = args.frames or (300 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 7)
    step_repeats = args.step_repeats or (1 if args.quick else 3)
    if count < 2 or repeats < 1 or step_repeats < 1:
        parser.error("need --frames >= 2, --repeats >= 1 and --step-repeats >= 1")
    started = time.perf_counter()
    print(versions())
    work = Path(tempfile.mkdtemp(prefix="bench-save-video-"))
    try:
        frames_path = work / "frames.npy"
        generate = ["--generate", str(count), "--seed", str(args.seed)]
        generate += ["--frames-file", str(frames_path), "--result", str(work / "frames.json")]
        spawn(generate, work / "frames.log", "rendering the frames")
        info = json.loads((work / "frames.json").read_text())
        print(
            f"frames: {'x'.join(map(str, info['shape']))} uint8, CartPole-v1 seed {args.seed}, "
            f"{info['episodes']} episode(s); rendered in {time.perf_counter() - started:.1f} s "
            "(not timed)"
        )
        print(
            f"runs: {repeats} per episode contender, {step_repeats} per step contender, each a "
            "fresh process, interleaved in rotating order\n",
            flush=True,
        )
        contenders = [*EPISODE, *STEPS]
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
        for round_index in range(max(repeats, step_repeats)):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                wanted = step_repeats if contender in STEPS else repeats
                if round_index >= wanted:
                    continue
                result = run_contender(contender, frames_path, work, round_index)
                runs[contender].append(result)
                print(
                    f"  run {round_index + 1}  {contender:<16} {result['seconds']:6.2f} s",
                    flush=True,
                )
    except RuntimeError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report({c: summarize(r) for c, r in runs.items()}, count)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    return 0


def report(results: dict[str, dict[str, Any]], count: int) -> None:
    rl, gym = results["rlvideo"], results["gymnasium"]
    rl_steps = results["rlvideo-steps"]
    clips_expected = len(range(1, count, STEP_EVERY))
    frames_expected = sum(min(STEP_LENGTH, count - f) for f in range(1, count, STEP_EVERY))

    def runs_note(name: str) -> str:
        n = len(results[name]["times"])
        return f"best of {n}" if n > 1 else "1 run"

    print(f"\n== Episode video: {count} frames {WIDTH}x{HEIGHT}, {FPS} fps ==")
    headers = ["contender", "best s", "median s", "fps", "CPU s", "size kB", "RSS MB"]
    headers += ["+RSS MB", "decoded", "time / rlvideo"]
    rows = []
    for name in EPISODE:
        r = results[name]
        rows.append(
            [
                f"{LABELS[name]} ({runs_note(name)})",
                f"{r['best']:.2f}",
                f"{r['median']:.2f}",
                f"{count / r['best']:.0f}",
                f"{r['cpu']:.2f}",
                f"{r['bytes'] / 1000:.1f}",
                f"{r['rss_mb']:.0f}",
                f"{r['growth_mb']:.0f}",
                "/".join(map(str, r["decoded_all"])),
                f"{r['best'] / rl['best']:.2f}x",
            ]
        )
    print(table(headers, rows))
    for name in EPISODE:
        print(f"  {name} seconds: {seconds_list(results[name]['times'])}")

    print(
        f"\n== Step clips: step_trigger=lambda s: s % {STEP_EVERY} == 0, "
        f"video_length={STEP_LENGTH} ({clips_expected} clips, {frames_expected} frames) =="
    )
    headers = ["contender", "best s", "median s", "clips", "ms/clip", "CPU s", "total kB"]
    headers += ["RSS MB", "+RSS MB", "decoded", "time / rlvideo"]
    rows = []
    for name in STEPS:
        r = results[name]
        rows.append(
            [
                f"{LABELS[name]} ({runs_note(name)})",
                f"{r['best']:.2f}",
                f"{r['median']:.2f}",
                f"{r['videos']}",
                f"{1000 * r['best'] / max(r['videos'], 1):.0f}",
                f"{r['cpu']:.2f}",
                f"{r['bytes'] / 1000:.1f}",
                f"{r['rss_mb']:.0f}",
                f"{r['growth_mb']:.0f}",
                "/".join(map(str, r["decoded_all"])),
                f"{r['best'] / rl_steps['best']:.2f}x",
            ]
        )
    print(table(headers, rows))
    for name in STEPS:
        print(f"  {name} seconds: {seconds_list(results[name]['times'])}")

    print("\n== Targets (ratios of best times; ratio of medians in brackets) ==")
    passed = 0
    for description, (top, bottom), target, higher in TARGETS:
        value = results[top]["best"] / results[bottom]["best"]
        median = results[top]["median"] / results[bottom]["median"]
        ok = value >= target if higher else value <= target
        passed += ok
        sign = ">=" if higher else "<="
        print(
            f"  {'PASS' if ok else 'FAIL'}  {description:<52} {value:5.2f}x "
            f"(median {median:.2f}x; target {sign} {target}x)"
        )
    description, limit = SIZE_TARGET
    size_ratio = rl["bytes"] / gym["bytes"]
    ok = size_ratio <= limit
    passed += ok
    print(
        f"  {'PASS' if ok else 'FAIL'}  {description:<52} {size_ratio:5.2f}x "
        f"({rl['bytes']} / {gym['bytes']} bytes; target <= {limit}x)"
    )
    print(f"  {passed}/{len(TARGETS) + 1} targets met")
    checks = {
        f"rlvideo episode video decodes to {count} frames": rl["decoded_all"] == [count],
        f"bare PyAV episode video decodes to {count} frames": (
            results["pyav"]["decoded_all"] == [count]
        ),
        f"rlvideo wrote {clips_expected} step clips, {frames_expected} frames": (
            rl_steps["videos"] == clips_expected and rl_steps["decoded_all"] == [frames_expected]
        ),
    }
    for description, ok in checks.items():
        print(f"  {'ok  ' if ok else 'BAD '}  {description}")
    gym_steps = results["gymnasium-steps"]
    print(
        f"  note  Gymnasium's episode video decodes to {'/'.join(map(str, gym['decoded_all']))} "
        f"frames; its {gym_steps['videos']} step clips to {gym_steps['decoded']} frames"
    )

    print("\n== Markdown (README) ==\n")
    headers = [
        f"{count} CartPole frames, {WIDTH}x{HEIGHT}, {FPS} fps",
        "seconds",
        "frames/s",
        "file kB",
        "peak RSS MB",
        "decoded frames",
        "time vs rlvideo",
    ]
    rows = []
    for name in (*EPISODE, *STEPS):
        r = results[name]
        first = rl if name in EPISODE else rl_steps
        what = "episode video" if name in EPISODE else f"{r['videos']} step clips"
        rows.append(
            [
                f"{LABELS[name]}: {what}",
                f"{r['best']:.2f}",
                f"{r['decoded'] / r['best']:.0f}",
                f"{r['bytes'] / 1000:.0f}",
                f"{r['rss_mb']:.0f}",
                f"{r['decoded']}",
                f"{r['best'] / first['best']:.2f}x",
            ]
        )
    print(table(headers, rows, markdown=True))
    print(
        f"\nBest of {len(rl['times'])} (episode) and {len(rl_steps['times'])} (step clips) runs, "
        f"each in a fresh process, on {os.cpu_count()} CPUs. Peak RSS includes the "
        f"{count * WIDTH * HEIGHT * 3 / 1e6:.0f} MB of frames held in memory; moviepy's ffmpeg "
        "process is not counted in it."
    )


if __name__ == "__main__":
    sys.exit(main())
