"""Benchmark scaling out: many writer processes, Ray workers, and an object-store destination.

What it measures, all in one run on this machine:

1. Writer processes: P processes (P=1 and P=8) each write the same F CartPole-v1 frames
   (600x400, rendered once, default F=300) into their own MP4 with ``rlvideo.VideoWriter``,
   all at once. Aggregate frames per second = P x F / wall seconds, from the moment every
   process has loaded its frames and imported rlvideo (they wait for a "go" line on stdin)
   until the last one has closed its file. Twice: with VideoWriter's default threading
   (``threads=None``: FFmpeg's threads plus colour conversion beside encoding, so one writer
   already uses more than one core) and with ``threads=1`` (one core per writer). On a
   C-core machine the aggregate cannot grow much past C x one single-threaded writer.
2. Ray rollouts: ``rlvideo.distributed.record_rollouts("CartPole-v1", balancing_policy,
   num_workers=4, episodes_per_worker=3, env_kwargs={"max_episode_steps": S},
   episode_trigger=lambda e: True)`` (default S=200; Ray's default of one CPU per task) against
   the same 12 episodes (same seeds, same policy, same RecordVideo options) run one after the
   other in one process. Time: until every video is final (``close()`` returned; for Ray, until
   ``record_rollouts`` returned, manifest written). ``ray.init`` (a local cluster with
   ``num_cpus`` = the machine's CPUs, no dashboard) is timed apart and not in the ratio: a
   training job pays it once.
3. Object store: ``rlvideo.save_video(frames, ...)`` of N frames (default 1000) into a local
   folder against ``s3://bucket/videos`` on a loopback S3 server (moto's
   ``ThreadedMotoServer`` on 127.0.0.1, started by this script; ``storage_options`` with its
   endpoint). Only when ``save_video`` takes ``storage_options``; else the section prints
   "skipped: object stores not available yet".

Method: as ``bench_save_video.py``: frames are rendered once (in a subprocess) into an ``.npy``
file and not timed; every timed run is a fresh Python process (for section 1: P fresh writer
processes) that imports everything before the clock starts; contenders are interleaved round by
round in a rotating order; each is repeated; tables show best and median, ratios use the best,
with the ratio of medians beside. Every video is decoded back with PyAV after the clock stops
and its frame count checked. "RSS MB" is a process's peak RSS (``ru_maxrss``), per writer in
section 1. Before each run, "others" is the share of the CPUs that other processes kept busy
over half a second: on a shared machine, a run that starts with others at 50% lost a core.

Run it from the repository root (about 2 minutes on 2 CPUs; --quick about 30 s):

    .venv/bin/python benchmarks/bench_scale.py
    .venv/bin/python benchmarks/bench_scale.py --quick        # smaller, 1 run each
    .venv/bin/python benchmarks/bench_scale.py --sections 2   # only Ray

The exit status is 0 (it is a measurement, not a test); it is 1 only if a contender crashed,
and then the crash's output is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import count_decoded, table  # benchmarks/ is on sys.path when run

FPS = 30
WORKERS, EPISODES = 4, 3
BUCKET = "rlvideo-bench"
SKIPPED_S3 = "skipped: object stores not available yet"
WRITERS = ("writers-1", "writers-8", "writers-1-t1", "writers-8-t1")
ROLLOUTS = ("serial", "ray", "ray-thread")
UPLOADS = ("local", "s3")
LABELS = {
    "writers-1": "1 writer process",
    "writers-8": "8 writer processes",
    "writers-1-t1": "1 writer process, threads=1",
    "writers-8-t1": "8 writer processes, threads=1",
    "serial": f"{WORKERS * EPISODES} episodes in one process",
    "ray": f"Ray, {WORKERS} workers x {EPISODES} episodes",
    "ray-thread": f"Ray, {WORKERS} workers x {EPISODES} episodes, encoder=thread",
    "local": "save_video to a local folder",
    "s3": "save_video to s3:// (moto on 127.0.0.1)",
}


# -- children -----------------------------------------------------------------------------------
def generate_frames(path: Path, count: int) -> dict[str, Any]:
    """Render ``count`` balanced CartPole frames into ``path`` (.npy), memory flat."""
    import gymnasium as gym
    import numpy as np

    from rlvideo.cli.demo import balancing_policy

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    first = env.render()
    frames = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(count, *first.shape))
    frames[0] = first
    for i in range(1, count):
        obs, _, terminated, truncated, _ = env.step(balancing_policy(obs))
        if terminated or truncated:
            obs, _ = env.reset()
        frames[i] = env.render()
    env.close()
    frames.flush()
    return {"shape": list(frames.shape)}


def run_writer(frames_path: Path, out: Path, threads: int | None) -> None:
    """One writer process: load, import, say "ready", wait for "go", write, report."""
    import numpy as np

    from rlvideo import VideoWriter

    frames = list(np.load(frames_path))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    cpu_before, start = os.times(), time.perf_counter()
    with VideoWriter(out, fps=FPS, threads=threads) as writer:
        for frame in frames:
            writer.write(frame)
    seconds = time.perf_counter() - start
    cpu = sum(a - b for a, b in zip(os.times()[:2], cpu_before[:2], strict=True))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": rss_mb}), flush=True)


def rollout_kwargs(steps: int) -> dict[str, Any]:
    return {
        "env_kwargs": {"max_episode_steps": steps},
        "episode_trigger": lambda episode: True,
    }


def run_rollouts(contender: str, out: Path, steps: int, result_path: Path) -> None:
    """Section 2: Ray's record_rollouts, or the same episodes in this process."""
    import gymnasium as gym

    from rlvideo import RecordVideo
    from rlvideo.cli.demo import balancing_policy

    options = rollout_kwargs(steps)
    init_seconds = 0.0
    ray_run = contender.startswith("ray")
    if ray_run:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        from rlvideo.distributed import record_rollouts

        start = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        init_seconds = time.perf_counter() - start
    cpu_before = os.times()
    start = time.perf_counter()
    if ray_run:
        record_rollouts(
            "CartPole-v1",
            balancing_policy,
            video_folder=out,
            num_workers=WORKERS,
            episodes_per_worker=EPISODES,
            seed=0,
            record_kwargs={"encoder": "thread"} if contender == "ray-thread" else None,
            **options,
        )
    else:  # what one worker does, for every worker's episodes in turn
        env = gym.make("CartPole-v1", render_mode="rgb_array", **options["env_kwargs"])
        env = RecordVideo(
            env,
            str(out),
            episode_trigger=options["episode_trigger"],
            name_prefix="serial",
            metadata=True,
        )
        try:
            for seed in range(WORKERS * EPISODES):
                obs, _ = env.reset(seed=seed)
                done = False
                while not done:
                    obs, _, terminated, truncated, _ = env.step(balancing_policy(obs))
                    done = terminated or truncated
        finally:
            env.close()
    seconds = time.perf_counter() - start
    cpu = sum(a - b for a, b in zip(os.times()[:4], cpu_before[:4], strict=True))
    if ray_run:
        ray.shutdown()
    videos = sorted(out.glob("*.mp4"))
    result = {
        "seconds": seconds,
        "init": init_seconds,
        "cpu": cpu,  # the driver and its waited-for children: not Ray's workers
        "videos": len(videos),
        "bytes": sum(p.stat().st_size for p in videos),
        "decoded": sum(count_decoded(p) for p in videos),
    }
    result_path.write_text(json.dumps(result))


def run_upload(contender: str, frames_path: Path, out: Path, endpoint: str, result: Path) -> None:
    """Section 3: save_video into a local folder or to the loopback S3 server."""
    import numpy as np

    from rlvideo import save_video

    frames = list(np.load(frames_path))
    options: dict[str, Any] = {}
    target: str | Path = out
    if contender == "s3":
        target = f"s3://{BUCKET}/{out.name}"
        options["storage_options"] = {
            "endpoint_url": endpoint,
            "key": "testing",
            "secret": "testing",
        }
    start = time.perf_counter()
    save_video(frames, target, episode_trigger=lambda i: True, fps=FPS, **options)
    seconds = time.perf_counter() - start
    if contender == "s3":  # fetch it back to count its frames
        import fsspec

        fs = fsspec.filesystem("s3", **options["storage_options"])
        out.mkdir(parents=True, exist_ok=True)
        fs.get(f"{BUCKET}/{out.name}/", str(out), recursive=True)
    videos = sorted(out.rglob("*.mp4"))
    result.write_text(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "videos": len(videos),
                "bytes": sum(p.stat().st_size for p in videos),
                "decoded": sum(count_decoded(p) for p in videos),
            }
        )
    )


# -- parent -------------------------------------------------------------------------------------
def child_command(*args: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), *args]


def spawn(args: list[str], log_path: Path, what: str) -> None:
    """Run this script in a fresh Python process; on failure raise with its output."""
    with log_path.open("w") as log:
        done = subprocess.run(child_command(*args), stdout=log, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {done.returncode}):\n{log_path.read_text()[-4000:]}"
        )


def run_writers(
    processes: int, threads: int | None, frames_path: Path, work: Path
) -> dict[str, Any]:
    """Start ``processes`` writers, let them load, then time them from "go" to the last exit."""
    out = work / f"writers-{processes}-{threads}"
    out.mkdir()
    children = []
    for index in range(processes):
        args = ["--writer", str(frames_path), "--out", str(out / f"w{index}.mp4")]
        args += ["--threads", str(threads or 0)]
        children.append(
            subprocess.Popen(
                child_command(*args),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"writer did not start: {line!r}\n{child.stderr.read()[-4000:]}")  # type: ignore[union-attr]
        start = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            stdout, stderr = child.communicate()
            if child.returncode != 0:
                raise RuntimeError(f"writer failed (exit {child.returncode}):\n{stderr[-4000:]}")
            reports.append(json.loads(stdout.strip().splitlines()[-1]))
        seconds = time.perf_counter() - start
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    videos = sorted(out.glob("*.mp4"))
    result = {
        "seconds": seconds,
        "cpu": sum(r["cpu"] for r in reports),
        "rss_mb": max(r["rss_mb"] for r in reports),
        "videos": len(videos),
        "bytes": sum(p.stat().st_size for p in videos),
        "decoded": sum(count_decoded(p) for p in videos),
    }
    shutil.rmtree(out, ignore_errors=True)
    return result


def busy_jiffies() -> int:
    """Non-idle CPU time of the whole machine so far, in clock ticks (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def background_load(seconds: float = 0.5) -> float:
    """Share of the machine's CPUs busy while this benchmark runs nothing (other users)."""
    before = busy_jiffies()
    time.sleep(seconds)
    used = (busy_jiffies() - before) / os.sysconf("SC_CLK_TCK")
    return used / (seconds * (os.cpu_count() or 1))


def run_contender(contender: str, args: argparse.Namespace, work: Path, run: int) -> dict[str, Any]:
    name = f"{contender}-{run}"
    if contender.startswith("writers-"):
        processes = int(contender.split("-")[1])
        threads = 1 if contender.endswith("-t1") else None
        return run_writers(processes, threads, args.frames_file, work)
    out, result = work / name, work / f"{name}.json"
    if contender in ROLLOUTS:
        child = ["--rollouts", contender, "--steps", str(args.steps)]
    else:
        child = ["--upload", contender, "--frames-file", str(args.upload_frames_file)]
        child += ["--endpoint", args.endpoint or ""]
    spawn([*child, "--out", str(out), "--result", str(result)], work / f"{name}.log", name)
    data: dict[str, Any] = json.loads(result.read_text())
    shutil.rmtree(out, ignore_errors=True)
    return data


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    times = [r["seconds"] for r in runs]
    summary = dict(runs[-1])
    summary.update(
        best=min(times),
        median=statistics.median(times),
        times=times,
        decoded_all=sorted({r["decoded"] for r in runs}),
    )
    if "init" in runs[0]:
        summary["init"] = min(r["init"] for r in runs)
    if "cpu" in runs[0]:
        summary["cpu"] = min(r["cpu"] for r in runs)
    return summary


def s3_supported() -> bool:
    """Whether save_video can write to an object store (takes ``storage_options``)."""
    from rlvideo import save_video

    return "storage_options" in inspect.signature(save_video).parameters


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A loopback S3 server (moto) with the benchmark's bucket; yields its endpoint URL."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        import s3fs

        fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing")
        fs.mkdir(BUCKET)
        yield endpoint
    finally:
        server.stop()


def versions() -> str:
    import av
    import gymnasium
    import numpy

    import rlvideo

    try:
        import ray

        ray_version = ray.__version__
    except ImportError:
        ray_version = "missing"
    return (
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"rlvideo {rlvideo.__version__}, PyAV {av.__version__}, gymnasium "
        f"{gymnasium.__version__}, ray {ray_version}, numpy {numpy.__version__}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one run of each")
    parser.add_argument("--frames", type=int, help="frames per writer process (default 300)")
    parser.add_argument("--steps", type=int, help="steps per Ray episode (default 200)")
    parser.add_argument("--upload-frames", type=int, help="frames for section 3 (default 1000)")
    parser.add_argument("--repeats", type=int, help="runs per contender (default 3)")
    parser.add_argument("--sections", default="123", help="which sections to run (default 123)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--writer", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rollouts", help=argparse.SUPPRESS)
    parser.add_argument("--upload", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--frames-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        run_writer(args.writer, args.out, args.threads or None)
        return 0
    if args.rollouts:
        run_rollouts(args.rollouts, args.out, args.steps, args.result)
        return 0
    if args.upload:
        run_upload(args.upload, args.frames_file, args.out, args.endpoint, args.result)
        return 0
    if args.generate:
        args.result.write_text(json.dumps(generate_frames(args.frames_file, args.generate)))
        return 0

    args.frames = args.frames or (100 if args.quick else 300)
    args.steps = args.steps or (50 if args.quick else 200)
    args.upload_frames = args.upload_frames or (300 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 3)
    if min(args.frames, args.steps, args.upload_frames, repeats) < 1:
        parser.error("sizes and --repeats must be >= 1")
    sections = set(args.sections)
    upload = "3" in sections and s3_supported()
    started = time.perf_counter()
    print(versions())
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stack = contextlib.ExitStack()
    try:
        contenders: list[str] = []
        if "1" in sections:
            args.frames_file = work / "frames.npy"
            generate = ["--generate", str(args.frames), "--frames-file", str(args.frames_file)]
            spawn(
                [*generate, "--result", str(work / "frames.json")], work / "frames.log", "rendering"
            )
            contenders += WRITERS
        if "2" in sections:
            contenders += ROLLOUTS
        args.endpoint = None
        if upload:
            args.upload_frames_file = work / "upload-frames.npy"
            generate = ["--generate", str(args.upload_frames)]
            generate += ["--frames-file", str(args.upload_frames_file)]
            spawn([*generate, "--result", str(work / "up.json")], work / "up.log", "rendering")
            args.endpoint = stack.enter_context(moto_server())
            contenders += UPLOADS
        print(
            f"runs: {repeats} per contender, each in fresh processes, interleaved in rotating "
            "order\n",
            flush=True,
        )
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
        for round_index in range(repeats):
            shift = round_index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                others = background_load()
                result = run_contender(contender, args, work, round_index)
                result["others"] = others
                runs[contender].append(result)
                print(
                    f"  run {round_index + 1}  {contender:<14} {result['seconds']:6.2f} s  "
                    f"(others: {others:4.0%} of the CPUs just before)",
                    flush=True,
                )
    except RuntimeError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report({c: summarize(r) for c, r in runs.items()}, args, sections, upload)
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    return 0


def report(
    results: dict[str, dict[str, Any]], args: argparse.Namespace, sections: set[str], upload: bool
) -> None:
    cpus = os.cpu_count() or 1
    markdown: list[list[str]] = []

    def ratio(top: str, bottom: str) -> str:
        best = results[top]["best"] / results[bottom]["best"]
        median = results[top]["median"] / results[bottom]["median"]
        return f"{best:.2f}x (median {median:.2f}x)"

    if "1" in sections:
        print(
            f"\n== 1. Writer processes: {args.frames} frames 600x400 each, VideoWriter, "
            f"{FPS} fps =="
        )
        headers = ["contender", "best s", "median s", "frames", "agg. fps", "CPU s", "RSS MB"]
        headers += ["decoded"]
        rows = []
        for name in WRITERS:
            r = results[name]
            frames = int(name.split("-")[1]) * args.frames
            rows.append(
                [
                    LABELS[name],
                    f"{r['best']:.2f}",
                    f"{r['median']:.2f}",
                    str(frames),
                    f"{frames / r['best']:.0f}",
                    f"{r['cpu']:.2f}",
                    f"{r['rss_mb']:.0f}",
                    "/".join(map(str, r["decoded_all"])),
                ]
            )
        print(table(headers, rows))
        for threads, suffix in (("default threads", ""), ("threads=1", "-t1")):
            one, eight = results[f"writers-1{suffix}"], results[f"writers-8{suffix}"]
            fps_one, fps_eight = args.frames / one["best"], 8 * args.frames / eight["best"]
            fps_median = (8 * args.frames / eight["median"]) / (args.frames / one["median"])
            print(
                f"  aggregate fps, 8 processes / 1 ({threads}): {fps_eight / fps_one:.2f}x "
                f"(median {fps_median:.2f}x) on {cpus} CPUs"
            )
            markdown.append(
                [
                    f"{LABELS[f'writers-1{suffix}']}, {args.frames} frames",
                    f"{one['best']:.2f}",
                    f"{fps_one:.0f} frames/s",
                    "1.00x",
                ]
            )
            markdown.append(
                [
                    f"{LABELS[f'writers-8{suffix}']}, {args.frames} frames each",
                    f"{eight['best']:.2f}",
                    f"{fps_eight:.0f} frames/s",
                    f"{fps_eight / fps_one:.2f}x the frames/s of 1",
                ]
            )
        checks = all(
            results[n]["decoded_all"] == [int(n.split("-")[1]) * args.frames] for n in WRITERS
        )
        print(f"  {'ok ' if checks else 'BAD'}  every video decodes to {args.frames} frames")

    if "2" in sections:
        steps = args.steps
        expected = WORKERS * EPISODES * (steps + 1)
        print(
            f"\n== 2. Rollouts: CartPole-v1, {WORKERS * EPISODES} episodes x {steps} steps, "
            "balancing policy, every episode recorded =="
        )
        headers = ["contender", "best s", "median s", "videos", "frames/s", "ray.init s"]
        headers += ["time / one process", "decoded"]
        rows = []
        for name in ROLLOUTS:
            r = results[name]
            rows.append(
                [
                    LABELS[name],
                    f"{r['best']:.2f}",
                    f"{r['median']:.2f}",
                    str(r["videos"]),
                    f"{r['decoded'] / r['best']:.0f}",
                    f"{r['init']:.2f}" if name.startswith("ray") else "-",
                    f"{r['best'] / results['serial']['best']:.2f}x",
                    "/".join(map(str, r["decoded_all"])),
                ]
            )
            markdown.append(
                [
                    f"{LABELS[name]}, {steps} steps each",
                    f"{r['best']:.2f}",
                    f"{r['decoded'] / r['best']:.0f} frames/s",
                    f"{r['best'] / results['serial']['best']:.2f}x the time of one process"
                    + (f" (+ ray.init {r['init']:.1f} s)" if name.startswith("ray") else ""),
                ]
            )
        print(table(headers, rows))
        for name in ROLLOUTS[1:]:
            print(
                f"  speed-up, {LABELS[name]}: {ratio('serial', name)} on {cpus} CPUs; "
                f"ray.init took {results[name]['init']:.2f} s more"
            )
        checks = all(results[n]["decoded_all"] == [expected] for n in ROLLOUTS)
        print(
            f"  {'ok ' if checks else 'BAD'}  all decode to {expected} frames "
            f"({WORKERS * EPISODES} videos of {steps + 1})"
        )

    if "3" in sections:
        print(f"\n== 3. Object store: save_video of {args.upload_frames} frames ==")
        if not upload:
            print(f"  {SKIPPED_S3}")
            markdown.append([LABELS["s3"], "-", "-", SKIPPED_S3])
        else:
            headers = ["contender", "best s", "median s", "fps", "size kB", "RSS MB", "decoded"]
            headers += ["time / local"]
            rows = []
            for name in UPLOADS:
                r = results[name]
                rows.append(
                    [
                        LABELS[name],
                        f"{r['best']:.2f}",
                        f"{r['median']:.2f}",
                        f"{args.upload_frames / r['best']:.0f}",
                        f"{r['bytes'] / 1000:.1f}",
                        f"{r['rss_mb']:.0f}",
                        "/".join(map(str, r["decoded_all"])),
                        f"{r['best'] / results['local']['best']:.2f}x",
                    ]
                )
                markdown.append(
                    [
                        f"{LABELS[name]}, {args.upload_frames} frames",
                        f"{r['best']:.2f}",
                        f"{args.upload_frames / r['best']:.0f} frames/s",
                        f"{r['best'] / results['local']['best']:.2f}x the local time",
                    ]
                )
            print(table(headers, rows))
            extra = results["s3"]["best"] - results["local"]["best"]
            print(f"  upload overhead: {ratio('s3', 'local')}, {extra * 1000:.0f} ms")

    print("\n== Markdown (README) ==\n")
    print(
        table(
            ["on " + f"{cpus} CPUs", "seconds", "throughput", "vs baseline"],
            markdown,
            markdown=True,
        )
    )
    print(
        f"\nBest of {len(next(iter(results.values()))['times'])} runs each, fresh processes, "
        f"interleaved, on {cpus} CPUs."
    )


if __name__ == "__main__":
    sys.exit(main())
