"""RLlib: PPO on CartPole with 2 env runners, with and without rlvideo's callbacks.

Issue 24's benchmark, run in ``.venv-rllib`` (``make bench`` does)::

    .venv-rllib/bin/python benchmarks/bench_rllib.py [--repeats 3] [--iterations 3] [--busy 2]
        [--runners 2,1]

Four variants of one PPO config (CartPole-v1, ``num_env_runners=2``, one sub-env each,
``train_batch_size_per_learner=1000``, 2 epochs of 250-step minibatches: a loop where sampling,
not learning, takes most of the time, so recording costs the most it can), each timed over
``--iterations`` calls of ``algo.train()`` (building and stopping the algorithm are not timed):

- **none**: no callbacks;
- **rlvideo**: ``video_callbacks(folder, episode_trigger=lambda e: e % 5 == 0)``;
- **rlvideo replay**: the same with ``replay=True`` (the runners never render);
- **rllib example**: RLlib's own ``EnvRenderCallback``
  (``ray/rllib/examples/envs/env_rendering_and_recording.py``): it renders every step of
  every episode, resizes to 64x96 and ships the best and worst episode of each ``sample()`` to
  the driver as raw uint8 arrays.

The issue's case has 2 env runners; with ``--runners 2,1`` (the default) the same is measured
with one, which leaves a core of a 2-core machine to the encoders. Rounds interleave the
variants; the table gives each one's median time and its ratio to
**none**, alone and with ``--busy`` busy processes beside it. Ray runs its workers (the env
runners) at niceness 15, so busy processes at the default niceness would starve them whatever
they record (building the algorithm alone took over 2 minutes): the busy processes run at Ray's
niceness, as other Ray work on the node would. It also reports the bytes that reach
the driver per video (each record pickled, for rlvideo; each array's bytes, for the example).
"""

from __future__ import annotations

import argparse
import atexit
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from _common import BusyLoad, stop_all_loads, table  # benchmarks/ is on sys.path when run

HEADERS = ["variant", "runners", "machine", "seconds", "vs none", "each run", "videos/run"]


def build(variant: str, folder: Path, runners: int) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={"render_mode": "rgb_array"})
        .env_runners(num_env_runners=runners, num_envs_per_env_runner=1)
        .training(train_batch_size_per_learner=1000, minibatch_size=250, num_epochs=2)
        .debugging(seed=0, log_level="ERROR")
    )
    if variant == "rlvideo":
        from rlvideo.rllib import video_callbacks

        config = config.callbacks(video_callbacks(str(folder), lambda e: e % 5 == 0))
    elif variant == "rlvideo replay":
        from rlvideo.rllib import video_callbacks

        config = config.callbacks(video_callbacks(str(folder), lambda e: e % 5 == 0, replay=True))
    elif variant == "rllib example":
        from ray.rllib.examples.envs.env_rendering_and_recording import EnvRenderCallback

        config = config.callbacks(EnvRenderCallback)
    return config.build_algo()


def driver_bytes(variant: str, result: dict[str, Any]) -> list[int]:
    """The bytes each video of this result took on its way to the driver."""
    if variant.startswith("rlvideo"):
        from rlvideo.rllib import videos

        return [len(pickle.dumps(record)) for record in videos(result)]
    if variant == "rllib example":
        runners = result.get("env_runners", {})
        sizes = []
        for key in ("episode_videos_best", "episode_videos_worst"):
            items = runners.get(key)
            if items is None:
                continue
            for video in items if isinstance(items, (list, tuple)) else [items]:
                sizes.append(int(getattr(video, "nbytes", 0)))
        return sizes
    return []


def run(variant: str, iterations: int, work: Path, runners: int) -> tuple[float, list[int], int]:
    """Seconds for ``iterations`` train() calls; bytes per video; videos on disk."""
    folder = Path(tempfile.mkdtemp(dir=work))
    algo = build(variant, folder, runners)
    sizes: list[int] = []
    try:
        start = time.perf_counter()
        for _ in range(iterations):
            sizes += driver_bytes(variant, algo.train())
        seconds = time.perf_counter() - start
    finally:
        algo.stop()
    return seconds, sizes, len(list(folder.glob("*.mp4")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds per load (default 3)")
    parser.add_argument("--iterations", type=int, default=3, help="train() calls timed")
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside it")
    parser.add_argument(
        "--runners", default="2,1",
        help="env runner counts to run, comma-separated (default 2,1: the issue's case, then one "
        "runner, which leaves a core to the encoders on a 2-core machine)",
    )  # fmt: skip
    args = parser.parse_args()
    atexit.register(stop_all_loads)
    import ray

    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    variants = ["none", "rlvideo", "rlvideo replay", "rllib example"]
    rows = []
    sizes: dict[str, list[int]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for runners, load in [
            (int(r), load) for r in args.runners.split(",") for load in (0, args.busy)
        ]:
            times: dict[str, list[float]] = {v: [] for v in variants}
            videos: dict[str, int] = dict.fromkeys(variants, 0)
            with BusyLoad(load, nice=15):
                for _ in range(args.repeats):
                    for variant in variants:
                        seconds, found, files = run(variant, args.iterations, work, runners)
                        times[variant].append(seconds)
                        sizes[variant] += found
                        videos[variant] += files
            base = statistics.median(times["none"])
            first = len(rows)
            for variant in variants:
                median = statistics.median(times[variant])
                rows.append([
                    variant, str(runners), "idle" if load == 0 else f"{load} busy",
                    f"{median:.2f}", f"{median / base:.2f}x",
                    " ".join(f"{t:.1f}" for t in times[variant]),
                    str(videos[variant] // args.repeats),
                ])  # fmt: skip
            print(table(HEADERS, rows[first:]), flush=True)
    ray.shutdown()
    print()
    print(
        f"PPO CartPole-v1, {args.iterations} train() calls, median of "
        f"{args.repeats} (python {sys.version.split()[0]}, {os.cpu_count()} cores)"
    )
    print(table(HEADERS, rows))
    print()
    size_rows = []
    for variant in variants[1:]:
        found = sizes[variant]
        if found:
            size_rows.append([
                variant, str(len(found)), f"{statistics.mean(found):.0f}", str(max(found)),
            ])  # fmt: skip
    print("bytes that reach the driver per video")
    print(table(["variant", "videos", "mean", "max"], size_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
