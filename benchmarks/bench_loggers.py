"""Benchmark the tracker hand-offs of ``rlvideo.loggers``: what they add to the env loop.

What it measures, all in one run on this machine: E CartPole-v1 episodes (600x400, 50 fps) of S
steps each (default 10 x 300; ``max_episode_steps=S``, kept balanced by
:func:`rlvideo.cli.demo.balancing_policy`), every episode recorded by ``rlvideo.RecordVideo``
(default process encoder), so E videos are handed off, E - 1 of them while the loop runs and the
last one in ``close()``. Contenders differ only in ``on_video_saved``:

- none: no hand-off (the baseline);
- ``WandbLogger()`` on an offline wandb run (``wandb.init(mode="offline")``);
- ``TensorBoardLogger(log_dir)``: rlvideo writes the event file, no torch;
- ``TensorBoardLogger(SummaryWriter(log_dir))``: through torch's writer;
- ``MLflowLogger()`` on an active MLflow run with a sqlite store (telemetry off: this machine
  has no network);
- and, for each tracker, its run (or writer) open with no hand-off: what the tracker itself
  costs the process (wandb's console capture, torch's import), apart from the hand-off.

For each: the env loop's wall seconds (from ``reset`` to the last ``step``; ``close()`` not
included) and its ratio to the baseline; the CPU seconds of the process over the loop; per-step
latency (the median, the 99th percentile and the slowest ``step``/``reset`` call); the time each
hand-off spent in the env's thread (the callback's own wall time, median and max over the
hand-offs in the loop); and the seconds ``close()`` took (it waits for the last video, and for
every background hand-off). Then it checks that every tracker got all E videos.

Method: each timed run is a fresh Python process that imports everything, and opens its
tracker's run, before the clock starts; contenders are interleaved round by round in a rotating
order (default 3 rounds); tables show the best run (the least disturbed on a shared machine) and
the median beside it. "others" is the CPU that processes outside the benchmark used meanwhile,
in % of the machine.

Run it from the repository root (about 2 minutes on 2 CPUs; --quick about 30 s):

    .venv/bin/python benchmarks/bench_loggers.py
    .venv/bin/python benchmarks/bench_loggers.py --quick    # 4 x 150 steps, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import table  # benchmarks/ is on sys.path when run

CONTENDERS = {
    "none": "no hand-off",
    "wandb": "WandbLogger() (offline run)",
    "wandb-idle": "  wandb run open, no hand-off",
    "tb-logdir": "TensorBoardLogger(log_dir), no torch",
    "tb-torch": "TensorBoardLogger(SummaryWriter)",
    "tb-idle": "  torch SummaryWriter open, no hand-off",
    "mlflow": "MLflowLogger() (sqlite)",
    "mlflow-idle": "  MLflow run open, no hand-off",
}
IDLE = {"wandb-idle": "wandb", "tb-idle": "tb-torch", "mlflow-idle": "mlflow"}


# -- children: one timed run of one contender -------------------------------------------------
class Timed:
    """An ``on_video_saved`` that times the hand-off it wraps, in the env's thread."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[float] = []
        self.in_loop = True
        self.loop_calls: list[float] = []

    def __call__(self, where: Any, meta: Any) -> None:
        start = time.perf_counter()
        self.inner(where, meta)
        elapsed = time.perf_counter() - start
        self.calls.append(elapsed)
        if self.in_loop:
            self.loop_calls.append(elapsed)

    def flush(self) -> None:
        self.inner.flush()


def run_child(kind: str, episodes: int, steps: int, work: Path, result_path: Path) -> None:
    import gymnasium as gym
    import pygame  # noqa: F401 (CartPole imports it at its first render: keep that off the clock)

    import rlvideo
    from rlvideo.cli.demo import balancing_policy

    os.chdir(work)
    finish: Any = None
    hand_off: Any = None
    count: Any = None
    idle = kind in IDLE
    kind = IDLE.get(kind, kind)
    if kind == "wandb":
        import wandb

        from rlvideo.loggers import WandbLogger

        run = wandb.init(mode="offline", dir=str(work), settings=wandb.Settings(silent=True))
        hand_off = WandbLogger()

        def finish() -> None:
            run.finish()

        def count() -> int:
            return len(list(Path(run.dir, "media", "videos").glob("*.mp4")))

    elif kind in ("tb-logdir", "tb-torch"):
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        from rlvideo.loggers import TensorBoardLogger

        writer: Any = str(work / "runs")
        if kind == "tb-torch":
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(work / "runs"))
        hand_off = TensorBoardLogger(writer)

        def finish() -> None:
            if hand_off is not None:
                hand_off.close()
            if kind == "tb-torch":
                writer.close()

        def count() -> int:
            events = EventAccumulator(str(work / "runs"), size_guidance={"images": 0})
            events.Reload()
            return len(events.Images("videos"))

    elif kind == "mlflow":
        import mlflow

        from rlvideo.loggers import MLflowLogger

        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # no network here: no retries
        mlflow.set_tracking_uri(f"sqlite:///{work}/mlflow.db")
        active = mlflow.start_run()
        hand_off = MLflowLogger()

        def finish() -> None:
            mlflow.end_run()

        def count() -> int:
            files = mlflow.MlflowClient().list_artifacts(active.info.run_id, "videos")
            return sum(f.path.endswith(".mp4") for f in files)

    if idle:
        hand_off = count = None
    timed = Timed(hand_off) if hand_off is not None else None
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=steps)
    env = rlvideo.RecordVideo(
        env, str(work / "videos"), episode_trigger=lambda e: True, on_video_saved=timed
    )
    latencies: list[float] = []
    cpu_before = os.times()
    start = time.perf_counter()
    for episode in range(episodes):
        tick = time.perf_counter()
        observation, _ = env.reset(seed=episode)
        latencies.append(time.perf_counter() - tick)
        while True:
            tick = time.perf_counter()
            observation, _, terminated, truncated, _ = env.step(balancing_policy(observation))
            latencies.append(time.perf_counter() - tick)
            if terminated or truncated:
                break
    loop = time.perf_counter() - start
    cpu = sum(a - b for a, b in zip(os.times()[:2], cpu_before[:2], strict=True))
    if timed is not None:
        timed.in_loop = False
    tick = time.perf_counter()
    env.close()
    close = time.perf_counter() - tick
    if finish is not None:
        finish()
    ordered = sorted(latencies)
    result = {
        "loop": loop,
        "cpu": cpu,
        "close": close,
        "steps": len(latencies),
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "hand_offs": len(timed.calls) if timed else 0,
        "in_loop": len(timed.loop_calls) if timed else 0,
        "hand_off_ms": statistics.median(timed.loop_calls) * 1e3
        if timed and timed.loop_calls
        else 0,
        "hand_off_max_ms": max(timed.loop_calls) * 1e3 if timed and timed.loop_calls else 0,
        "videos": len(list((work / "videos").glob("*.mp4"))),
        "tracked": count() if count is not None else 0,
    }
    result_path.write_text(json.dumps(result))


# -- parent -----------------------------------------------------------------------------------
def busy_jiffies() -> int:
    """Non-idle CPU time of the whole machine so far, in clock ticks (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


def run_contender(kind: str, episodes: int, steps: int, work: Path, index: int) -> dict[str, Any]:
    folder = work / f"{kind}-{index}"
    folder.mkdir()
    result_path = folder / "result.json"
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--episodes",
               str(episodes), "--steps", str(steps), "--work", str(folder)]  # fmt: skip
    ours_before, busy_before = sum(os.times()[:4]), busy_jiffies()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    window = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    others = (busy_jiffies() - busy_before) / os.sysconf("SC_CLK_TCK")
    others -= sum(os.times()[:4]) - ours_before
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["others"] = max(0.0, others) / (window * (os.cpu_count() or 1))
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 x 150 steps, one round")
    parser.add_argument("--episodes", type=int, help="episodes, one video each (default 10)")
    parser.add_argument("--steps", type=int, help="steps per episode (default 300)")
    parser.add_argument("--rounds", type=int, help="runs per contender (default 3)")
    parser.add_argument("--only", help="comma-separated contenders: " + ",".join(CONTENDERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    episodes = args.episodes or (4 if args.quick else 10)
    steps = args.steps or (150 if args.quick else 300)
    if args.child:
        run_child(args.child, episodes, steps, args.work, args.work / "result.json")
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    kinds = args.only.split(",") if args.only else list(CONTENDERS)
    if not set(kinds) <= set(CONTENDERS):
        parser.error(f"--only takes {', '.join(CONTENDERS)}")
    if "none" not in kinds:
        kinds.insert(0, "none")

    import platform

    import av

    import rlvideo

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; rlvideo "
        f"{rlvideo.__version__}, PyAV {av.__version__}; {versions()}"
    )
    print(
        f"{episodes} CartPole episodes x {steps} steps, each recorded (600x400, 50 fps); "
        f"{rounds} round(s), each contender a fresh process, interleaved\n",
        flush=True,
    )
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    work = Path(tempfile.mkdtemp(prefix="bench-loggers-"))
    try:
        for round_index in range(rounds):
            shift = round_index % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                result = run_contender(kind, episodes, steps, work, round_index)
                runs[kind].append(result)
                print(
                    f"  run {round_index + 1}  {kind:<10} loop {result['loop']:6.2f} s  close "
                    f"{result['close']:5.2f} s  hand-off in loop {result['hand_off_ms']:7.3f} ms "
                    f"(max {result['hand_off_max_ms']:7.3f})  others {result['others']:4.0%}",
                    flush=True,
                )
    except RuntimeError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = min(r["loop"] for r in runs["none"])
    base_median = statistics.median(r["loop"] for r in runs["none"])
    rows = []
    for kind in kinds:
        results = runs[kind]
        best = min(results, key=lambda r: r["loop"])
        median = statistics.median(r["loop"] for r in results)
        no_hand_off = kind == "none" or kind in IDLE
        rows.append([
            CONTENDERS[kind],
            f"{best['loop']:.2f}",
            f"{best['loop'] / base:.3f}x ({median / base_median:.3f}x)",
            f"{best['cpu']:.2f}",
            f"{best['p50_ms']:.2f} / {best['p99_ms']:.2f} / {best['max_ms']:.1f}",
            "-" if no_hand_off else f"{best['in_loop']}",
            "-" if no_hand_off else f"{best['hand_off_ms']:.3f} / {best['hand_off_max_ms']:.3f}",
            f"{statistics.median(r['close'] for r in results):.2f}",
            f"{best['videos']}" + ("" if no_hand_off else f" / {best['tracked']}"),
        ])  # fmt: skip
    headers = [
        "hand-off", "loop s (best)", "loop / none (median)", "CPU s", "step ms p50/p99/max",
        "hand-offs in loop", "in-thread ms median/max", "close s", "videos / tracked",
    ]  # fmt: skip
    print()
    print(table(headers, rows))
    print()
    print(table(headers, rows, markdown=True))
    loggers = [k for k in kinds if k != "none" and k not in IDLE]
    missing = [k for k in loggers if any(r["tracked"] != episodes for r in runs[k])]
    worst = max((min(r["loop"] for r in runs[k]) / base for k in loggers), default=1.0)
    in_thread = max((r["hand_off_max_ms"] for k in loggers for r in runs[k]), default=0.0)
    print(
        f"\nverdict: the slowest hand-off's env loop is {worst:.3f}x the loop without one "
        f"(best runs); the longest any hand-off held the env's thread: {in_thread:.1f} ms, once "
        f"per video ({steps} steps); every tracker got all {episodes} videos: {not missing}"
        + (f" (missing: {', '.join(missing)})" if missing else "")
    )
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 0


def versions() -> str:
    found = []
    for name in ("wandb", "tensorboard", "torch", "mlflow"):
        try:
            module = __import__(name)
            found.append(f"{name} {module.__version__}")
        except ImportError:
            found.append(f"{name} missing")
    return ", ".join(found)


if __name__ == "__main__":
    sys.exit(main())
