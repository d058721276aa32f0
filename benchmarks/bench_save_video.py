"""Benchmark rlvideo's ``save_video`` against Gymnasium's (moviepy) and a bare PyAV loop.

What it measures, all in one run on this machine:

1. Episode video: N CartPole-v1 frames (600x400, seeded, a simple balancing policy; default
   N=1000) written as one MP4 at 30 fps by

   - ``rlvideo.save_video(frames, folder, episode_trigger=lambda i: True, fps=30)``,
   - ``gymnasium.utils.save_video.save_video`` with the same arguments (moviepy + ffmpeg),
   - a bare PyAV loop at rlvideo's own encoder settings (plain MP4, libx264 with
     ``rlvideo.codecs.encoder_settings("mp4")``, threads AUTO, yuv420p): the floor.

   For each: wall seconds (file finalized), frames per second, file size, peak RSS of the
   process, and how many frames PyAV decodes back from the file.
2. Step clips: the same frames with ``step_trigger=lambda s: s % 10 == 0, video_length=50``
   (100 clips of 50 frames for N=1000), rlvideo against Gymnasium's ``save_video``.

The frames are rendered once and saved to an ``.npy`` file in a temporary folder; they are not
timed. Every timed run happens in a fresh subprocess (so peak RSS is per contender), contenders
are interleaved round by round in a rotating order, and each is repeated (best and median are
reported; ratios use the best, which is the least noisy on a shared machine). Imports happen
before the clock starts. The RSS column includes the frames themselves (N x 600 x 400 x 3 bytes,
about 720 MB for N=1000); "+RSS" is the growth over the process's peak after loading them.

Run it from the repository root:

    .venv/bin/python benchmarks/bench_save_video.py            # full run, about 3-5 minutes
    .venv/bin/python benchmarks/bench_save_video.py --quick    # 300 frames, 1 repeat, < 1 min

It prints a table per part, the targets with PASS/FAIL, and a Markdown table for the README.
The exit status is 0 even when a target fails (it is a measurement, not a test); it is 1 only
if a contender crashed.
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

FPS = 30
WIDTH, HEIGHT = 600, 400
STEP_EVERY = 10
STEP_LENGTH = 50

EPISODE = ("rlvideo", "gymnasium", "pyav")
STEPS = ("rlvideo-steps", "gymnasium-steps")
LABELS = {
    "rlvideo": "rlvideo save_video",
    "gymnasium": "Gymnasium save_video (moviepy)",
    "pyav": "bare PyAV loop (floor)",
    "rlvideo-steps": "rlvideo save_video",
    "gymnasium-steps": "Gymnasium save_video (moviepy)",
}

# (description, value name, target, higher is better)
TARGETS = (
    ("rlvideo >= 2x faster than Gymnasium (episode video)", "speedup_vs_gym", 2.0, True),
    ("rlvideo file size <= 1.1x Gymnasium's", "size_vs_gym", 1.1, False),
    ("rlvideo time <= 1.05x bare PyAV", "time_vs_pyav", 1.05, False),
    ("step clips >= 5x faster than Gymnasium", "steps_speedup_vs_gym", 5.0, True),
)


# -- frames -----------------------------------------------------------------------------------
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
        action = int(obs[2] + 0.5 * obs[3] > 0)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
        frames[i] = env.render()
    env.close()
    frames.flush()
    shape = frames.shape
    del frames
    return {"shape": list(shape), "episodes": episodes}


# -- child: one timed run of one contender ----------------------------------------------------
def write_bare_pyav(frames: list[Any], path: Path, fps: int) -> None:
    """The floor: rlvideo's encoder settings, a plain MP4, no checks, no remux."""
    import av

    from rlvideo.codecs import encoder_settings

    settings = encoder_settings("mp4")
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(settings.codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = settings.pixel_format
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.options = dict(settings.options)
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_numpy_buffer(frame, format="rgb24")
            video_frame.pts = index
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def count_decoded(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def run_child(contender: str, frames_path: Path, out_dir: Path, result_path: Path) -> None:
    import numpy as np

    array = np.load(frames_path)
    frames = list(array)  # views, one per frame: what an env's render list looks like
    loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    if contender.startswith("rlvideo"):
        from rlvideo import save_video as rlvideo_save_video
    elif contender.startswith("gymnasium"):
        from gymnasium.utils.save_video import save_video as gym_save_video
    else:
        import av  # noqa: F401 (imported before the clock starts, like the others)

        import rlvideo.codecs  # noqa: F401
    out_dir.mkdir(parents=True)

    start = time.perf_counter()
    if contender == "rlvideo":
        rlvideo_save_video(frames, out_dir, episode_trigger=lambda i: True, fps=FPS)
    elif contender == "gymnasium":
        gym_save_video(frames, str(out_dir), episode_trigger=lambda i: True, fps=FPS)
    elif contender == "pyav":
        write_bare_pyav(frames, out_dir / "rl-video-episode-0.mp4", FPS)
    elif contender == "rlvideo-steps":
        rlvideo_save_video(
            frames,
            out_dir,
            step_trigger=lambda s: s % STEP_EVERY == 0,
            video_length=STEP_LENGTH,
            fps=FPS,
        )
    elif contender == "gymnasium-steps":
        gym_save_video(
            frames,
            str(out_dir),
            step_trigger=lambda s: s % STEP_EVERY == 0,
            video_length=STEP_LENGTH,
            fps=FPS,
        )
    else:
        raise SystemExit(f"unknown contender {contender!r}")
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before decoding the outputs

    files = sorted(p for p in out_dir.iterdir() if p.is_file())
    result = {
        "seconds": seconds,
        "frames": len(frames),
        "peak_rss_mb": peak_kb / 1024,
        "growth_rss_mb": (peak_kb - loaded_kb) / 1024,
        "files": len(files),
        "names": [p.name for p in files if p.suffix == ".mp4"],
        "bytes": sum(p.stat().st_size for p in files),
        "decoded": sum(count_decoded(p) for p in files if p.suffix == ".mp4"),
    }
    result_path.write_text(json.dumps(result))


# -- parent -----------------------------------------------------------------------------------
def spawn(contender: str, frames_path: Path, work: Path, run: int) -> dict[str, Any]:
    out_dir = work / f"{contender}-{run}"
    result_path = work / f"{contender}-{run}.json"
    log_path = work / f"{contender}-{run}.log"
    command = [
        sys.executable,
        __file__,
        "--child",
        contender,
        "--frames-file",
        str(frames_path),
        "--out",
        str(out_dir),
        "--result",
        str(result_path),
    ]
    with log_path.open("w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not result_path.exists():
        tail = log_path.read_text()[-3000:]
        raise RuntimeError(f"{contender} run {run} failed (exit {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    shutil.rmtree(out_dir, ignore_errors=True)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    times = [r["seconds"] for r in runs]
    last = runs[-1]
    return {
        "best": min(times),
        "median": statistics.median(times),
        "times": times,
        "fps": last["frames"] / min(times),
        "bytes": last["bytes"],
        "files": last["files"],
        "decoded": last["decoded"],
        "decoded_all": sorted({r["decoded"] for r in runs}),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "growth_rss_mb": max(r["growth_rss_mb"] for r in runs),
        "names": last["names"],
    }


def versions() -> str:
    import av
    import gymnasium
    import moviepy
    import numpy

    import rlvideo

    try:
        import imageio_ffmpeg

        moviepy_ffmpeg = imageio_ffmpeg.get_ffmpeg_version()
    except Exception:  # moviepy may use a system ffmpeg instead
        moviepy_ffmpeg = "?"
    avcodec = ".".join(map(str, av.library_versions["libavcodec"]))
    return (
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs ({platform.machine()}), "
        f"rlvideo {rlvideo.__version__}, PyAV {av.__version__} (libavcodec {avcodec}), "
        f"gymnasium {gymnasium.__version__}, moviepy {moviepy.__version__} "
        f"(ffmpeg {moviepy_ffmpeg}), numpy {numpy.__version__}"
    )


def table(headers: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 frames, 1 repeat")
    parser.add_argument("--frames", type=int, help="frames to render (default 1000)")
    parser.add_argument("--repeats", type=int, help="timed runs per contender (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--frames-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.frames_file, args.out, args.result)
        return 0

    count = args.frames or (300 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 3)
    if count < 2 or repeats < 1:
        parser.error("need --frames >= 2 and --repeats >= 1")
    clips_expected = len(range(0, count - 1, STEP_EVERY))
    started = time.perf_counter()
    print(versions())
    work = Path(tempfile.mkdtemp(prefix="bench-save-video-"))
    try:
        frames_path = work / "frames.npy"
        t0 = time.perf_counter()
        info = generate_frames(frames_path, count, args.seed)
        shape = "x".join(map(str, info["shape"]))
        print(
            f"frames: {shape} uint8 from CartPole-v1 (seed {args.seed}, {info['episodes']} "
            f"episodes), rendered in {time.perf_counter() - t0:.1f} s (not timed below)"
        )
        print(
            f"each contender: {repeats} run(s), each in a fresh process; rounds interleaved\n",
            flush=True,
        )

        contenders = [*EPISODE, *STEPS]
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
        for round_index in range(repeats):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                result = spawn(contender, frames_path, work, round_index)
                runs[contender].append(result)
                print(
                    f"  round {round_index + 1}/{repeats}  {contender:<16} "
                    f"{result['seconds']:7.2f} s",
                    flush=True,
                )
        results = {c: summarize(r) for c, r in runs.items()}
    except RuntimeError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report(results, count, repeats, clips_expected)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    return 0


def report(results: dict[str, Any], count: int, repeats: int, clips_expected: int) -> None:
    rl, gym, bare = results["rlvideo"], results["gymnasium"], results["pyav"]
    rl_steps, gym_steps = results["rlvideo-steps"], results["gymnasium-steps"]
    values = {
        "speedup_vs_gym": gym["best"] / rl["best"],
        "size_vs_gym": rl["bytes"] / gym["bytes"],
        "time_vs_pyav": rl["best"] / bare["best"],
        "steps_speedup_vs_gym": gym_steps["best"] / rl_steps["best"],
    }
    best_of = f"best of {repeats}" if repeats > 1 else "1 run"

    print(f"\n== Episode video: {count} frames {WIDTH}x{HEIGHT} at {FPS} fps ({best_of}) ==")
    headers = [
        "contender",
        "best s",
        "median s",
        "fps",
        "size kB",
        "peak RSS MB",
        "+RSS MB",
        "decoded",
        "x rlvideo time",
    ]
    rows = []
    for name in EPISODE:
        r = results[name]
        decoded = "/".join(map(str, r["decoded_all"]))
        rows.append(
            [
                LABELS[name],
                f"{r['best']:.2f}",
                f"{r['median']:.2f}",
                f"{r['fps']:.0f}",
                f"{r['bytes'] / 1000:.1f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['growth_rss_mb']:.0f}",
                f"{decoded}/{count}",
                f"{r['best'] / rl['best']:.2f}",
            ]
        )
    print(table(headers, rows))
    print("all times (s): " + "; ".join(f"{n} {fmt(results[n]['times'])}" for n in EPISODE))

    clips = f"{clips_expected} clips of <= {STEP_LENGTH} frames"
    print(f"\n== Step clips: step_trigger=s % {STEP_EVERY} == 0, video_length={STEP_LENGTH} ==")
    print(f"   ({clips} from the same {count} frames, {best_of})")
    headers_steps = [
        "contender",
        "best s",
        "median s",
        "clips",
        "ms/clip",
        "total kB",
        "peak RSS MB",
        "decoded",
        "x rlvideo time",
    ]
    frames_expected = sum(min(STEP_LENGTH, count - s) for s in range(1, count, STEP_EVERY))
    rows_steps = []
    for name in STEPS:
        r = results[name]
        rows_steps.append(
            [
                LABELS[name],
                f"{r['best']:.2f}",
                f"{r['median']:.2f}",
                f"{r['files']}",
                f"{1000 * r['best'] / max(r['files'], 1):.0f}",
                f"{r['bytes'] / 1000:.1f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['decoded']}/{frames_expected}",
                f"{r['best'] / rl_steps['best']:.2f}",
            ]
        )
    print(table(headers_steps, rows_steps))
    print("all times (s): " + "; ".join(f"{n} {fmt(results[n]['times'])}" for n in STEPS))

    print("\n== Targets ==")
    passed = 0
    for description, key, target, higher in TARGETS:
        value = values[key]
        ok = value >= target if higher else value <= target
        passed += ok
        sign = ">=" if higher else "<="
        print(f"  {'PASS' if ok else 'FAIL'}  {description:<52} {value:6.2f}x ({sign} {target}x)")
    checks = {
        f"rlvideo episode decodes to {count} frames": rl["decoded_all"] == [count],
        f"bare PyAV episode decodes to {count} frames": bare["decoded_all"] == [count],
        f"rlvideo writes {clips_expected} step clips, {frames_expected} frames": (
            rl_steps["files"] == clips_expected and rl_steps["decoded"] == frames_expected
        ),
    }
    for description, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {description}")
    print(
        f"  (Gymnasium's episode decodes to {'/'.join(map(str, gym['decoded_all']))} frames; "
        f"its step clips to {gym_steps['decoded']} frames in {gym_steps['files']} files)"
    )
    print(f"  {passed}/{len(TARGETS)} targets met")

    print("\n== Markdown (README) ==\n")
    md_rows = []
    for name in EPISODE:
        r = results[name]
        md_rows.append(
            [
                f"{LABELS[name]}, episode video",
                f"{r['best']:.2f}",
                f"{r['fps']:.0f}",
                f"{r['bytes'] / 1000:.0f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['decoded']}",
                f"{r['best'] / rl['best']:.2f}x",
            ]
        )
    for name in STEPS:
        r = results[name]
        md_rows.append(
            [
                f"{LABELS[name]}, {r['files']} step clips",
                f"{r['best']:.2f}",
                f"{r['decoded'] / r['best']:.0f}",
                f"{r['bytes'] / 1000:.0f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['decoded']}",
                f"{r['best'] / rl_steps['best']:.2f}x",
            ]
        )
    md_headers = [
        f"{count} CartPole frames {WIDTH}x{HEIGHT}, {FPS} fps",
        "seconds",
        "frames/s",
        "size kB",
        "peak RSS MB",
        "decoded frames",
        "time vs rlvideo",
    ]
    print(table(md_headers, md_rows, markdown=True))
    print(
        f"\n{best_of}, each run in a fresh process, {os.cpu_count()} CPUs. Peak RSS includes "
        f"the {count * WIDTH * HEIGHT * 3 / 1e6:.0f} MB of frames held in memory."
    )


def fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:.2f}" for t in times) + "]"


if __name__ == "__main__":
    sys.exit(main())
