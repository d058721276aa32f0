"""Benchmark the hand-off: what a frame costs the env's thread on its way to the encoder.

For each frame size (84x84 gray as Atari preprocesses it, 210x160 Atari, 600x400 CartPole,
1280x720), N frames go through ``rlvideo.recording._encoder.BackgroundEncoder.write`` (what every
wrapper calls per frame) with a pause between frames long enough for the encoder to keep up
(a busy wait, as an env computes: a sleep's wake-ups would be measured instead), so
the caller never waits for a free slot and what is measured is the hand-off alone: the frame
check, the copy into shared memory (process) or a private copy (thread), the message, and
reading what the worker reports. The figure is the caller's CPU time per frame
(``time.process_time``), with the CPU of the same loop without the writes subtracted; the wall
time of ``write`` itself is given beside it (median and p99).
With the thread encoder, the process's CPU includes the encoding thread's: only its wall time
per ``write`` is the hand-off's. The frames are moving gradients, compressible like a game's.
Every video is decoded afterwards and must hold the N frames.

Run it from the repository root (about a minute; --quick about 15 s):

    .venv/bin/python benchmarks/bench_handoff.py
    .venv/bin/python benchmarks/bench_handoff.py --quick --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import count_decoded, table  # noqa: E402

SIZES = {"84x84 gray": (84, 84, 0), "210x160": (210, 160, 3), "600x400": (400, 600, 3),
         "1280x720": (720, 1280, 3)}  # fmt: skip
PAUSE = {"84x84 gray": 0.002, "210x160": 0.003, "600x400": 0.006, "1280x720": 0.02}


def child(size: str, kind: str, frames: int, out: Path) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    import numpy as np

    from rlvideo._core.spec import WriterSpec
    from rlvideo.recording._encoder import BackgroundEncoder

    height, width, channels = SIZES[size]
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1)
    base = base.astype(np.uint8) if channels else base[..., 0].astype(np.uint8)
    pool = [np.roll(base, 4 * i, axis=1) for i in range(8)]  # moving, compressible: like a game
    pause = PAUSE[size]

    def loop(write: bool) -> tuple[float, list[float]]:
        spans: list[float] = []
        cpu = time.process_time()
        for index in range(frames):
            if write:
                start = time.perf_counter()
                encoder.write(1, pool[index % 8])
                encoder.poll()  # the wrappers poll every step
                spans.append(time.perf_counter() - start)
            until = time.perf_counter() + pause  # the env's work: a busy wait, not a sleep
            while time.perf_counter() < until:
                pass
        return time.process_time() - cpu, spans

    encoder = BackgroundEncoder(kind=kind)  # type: ignore[arg-type]
    encoder.open_video(1, out, WriterSpec.build(fps=30, overwrite=True))
    encoder.write(1, pool[0])  # the worker starts and the ring is made before the clock
    time.sleep(0.5)
    bare, _ = loop(write=False)
    busy, spans = loop(write=True)
    encoder.close_video(1)
    encoder.shutdown()
    spans.sort()
    return {
        "us_cpu": (busy - bare) / frames * 1e6,
        "us_median": statistics.median(spans) * 1e6,
        "us_p99": spans[int(len(spans) * 0.99)] * 1e6,
        "decoded": count_decoded(out),
        "expected": frames + 1,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames")
    parser.add_argument("--frames", type=int, help="frames per run (default 1000; quick 300)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell; best is shown")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    frames = args.frames or (300 if args.quick else 1000)
    if args.child:
        size, kind, out = json.loads(args.child)
        print(json.dumps(child(size, kind, frames, Path(out))))
        return 0
    repeats = 1 if args.quick else args.repeats
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            cells = []
            for kind in ("process", "thread"):
                runs = []
                for _ in range(repeats):
                    out = Path(folder) / f"{kind}.mp4"
                    done = subprocess.run(
                        [sys.executable, __file__, "--frames", str(frames),
                         "--child", json.dumps([size, kind, str(out)])],
                        capture_output=True, text=True, cwd=ROOT,
                        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                    )  # fmt: skip
                    if done.returncode:
                        print(done.stderr, file=sys.stderr)
                        return 1
                    runs.append(json.loads(done.stdout.splitlines()[-1]))
                best = min(runs, key=lambda run: run["us_cpu"])
                failed |= any(run["decoded"] != run["expected"] for run in runs)
                spans = f"{best['us_median']:.0f} / {best['us_p99']:.0f}"
                cells += [f"{best['us_cpu']:.0f}", spans]
            rows.append([size, *cells])
    print(
        f"hand-off per frame, {frames} frames per run, best of {repeats} by CPU "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)"
    )
    headers = ["frame", "process: CPU us", "process: write() us median / p99",
               "thread: CPU us (encoding included)", "thread: write() us median / p99"]  # fmt: skip
    print(table(headers, rows, markdown=args.markdown))
    if failed:
        print("a video did not hold every frame written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
