"""How fast the encoder process drains its backlog: one thread, or two (issue 22).

When the env waits on the encoder (``close()``, or a full backlog), the worker may encode on
two threads: its own converts each frame to YUV (swscale) while a second runs x264
(``VideoWriter.write_converted(..., pipelined=True)``). This measures that choice on real
frames: N Pong frames (210x160, random actions, seed 0) encoded by one ``VideoWriter`` at
rlvideo's settings on one x264 thread, all inline, then all pipelined; rounds interleaved, on
the idle machine and beside ``--busy B`` pure-Python spinners (default 2). It prints the wall
and CPU seconds of each round and the best of each, which is what the worker's rule (two
threads only where the pacer finds a core to spare) rests on.

Run it from the repository root (about 30 s on 2 CPUs):

    .venv/bin/python benchmarks/bench_drain.py
    .venv/bin/python benchmarks/bench_drain.py --frames 2000 --rounds 5 --busy 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import BusyLoad  # benchmarks/ is on sys.path when run


def pong_frames(count: int) -> list[Any]:
    import ale_py
    import gymnasium as gym

    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5", render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    frames = []
    for _ in range(count):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frames.append(env.render())
        if terminated or truncated:
            env.reset()
    env.close()
    return frames


def drain(frames: list[Any], folder: Path, *, pipelined: bool) -> tuple[float, float]:
    """Wall and CPU seconds to encode ``frames`` into one video, as the worker does."""
    from rlvideo import VideoWriter
    from rlvideo._core.frames import FrameConverter

    convert = FrameConverter()
    arrays = [convert(frame) for frame in frames]  # the caller converts: the worker does not
    path = folder / f"drain-{'two' if pipelined else 'one'}.mp4"
    path.unlink(missing_ok=True)
    wall, cpu = time.perf_counter(), time.process_time()
    with VideoWriter(path, fps=30, threads=1) as writer:
        for array in arrays:
            writer.write_converted(array, pipelined=pipelined)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000, help="Pong frames (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per load (default 3)")
    parser.add_argument("--busy", type=int, default=2, help="spinners beside (default 2)")
    args = parser.parse_args()
    frames = pong_frames(args.frames)
    print(f"{args.frames} Pong frames (210x160), one VideoWriter, x264 on one thread")
    with tempfile.TemporaryDirectory() as tmp:
        for load in (0, args.busy):
            best: dict[bool, tuple[float, float]] = {}
            with BusyLoad(load):
                for round_ in range(args.rounds):
                    for pipelined in (False, True):
                        wall, cpu = drain(frames, Path(tmp), pipelined=pipelined)
                        how = "two threads" if pipelined else "one thread "
                        print(f"  busy {load}  round {round_ + 1}  {how}  wall {wall:.3f} s"
                              f"  CPU {cpu:.3f} s")  # fmt: skip
                        if pipelined not in best or wall < best[pipelined][0]:
                            best[pipelined] = (wall, cpu)
            (one, one_cpu), (two, two_cpu) = best[False], best[True]
            print(f"busy {load}: best wall one thread {one:.3f} s, two threads {two:.3f} s: "
                  f"{one / two:.2f}x the pace for {two_cpu / one_cpu:.2f}x the CPU")  # fmt: skip


if __name__ == "__main__":
    main()
