"""Benchmark ``rlvideo._core.frames.FrameConverter`` per kind of frame: time and copies per frame.

What it measures: ``FrameConverter(pad_to_even=True)`` (what MP4 and WebM recording uses) on
one frame of each kind, at 480x480 and at 84x84 (Atari-sized), in this process:

- NumPy: uint8 HWC RGB; a cropped view (rows with gaps between them); a bottom-up view
  (``frame[::-1]``, what MuJoCo's renderer returns); gray ``(H, W)``; RGBA; bool; int64 holding
  0-255; float32, float16 and bfloat16 (``ml_dtypes.bfloat16``, which JAX depends on) in
  [0, 1]; channels-first ``(3, H, W)`` uint8 and float32.
- torch CPU tensors: uint8 HWC, float32 CHW, float16 HWC, bfloat16 HWC.
- JAX (CPU) arrays: uint8 HWC, float32 HWC.

For each kind:

- "ms": the median wall time of one conversion, over repeated calls on the same converter
  (the shape check after the first frame included), after 3 untimed warm-up calls. Repeats:
  at least ``--min-repeats`` and until ``--budget`` seconds were spent on that kind (with
  ``--quick``: 5 and 0.02 s).
- "copies": frame-sized buffers the conversion allocated: the peak of ``tracemalloc``'s traced
  bytes during one conversion (after a warm-up call) divided by the output frame's ``nbytes``;
  0 when the output shares memory with the input (``np.shares_memory``). NumPy reports its
  data buffers to tracemalloc; torch's and XLA's allocators do not, so work done inside torch
  or JAX is not counted (a conversion that calls ``tensor.float()`` looks cheaper than it is).
  The output itself counts when it is new: a single cast is 1.0, a float pipeline that goes
  through float64 shows 8+ (and a 1-channel output makes the ratio larger still).
- "out": the output's shape and whether it is a view of the input.

A kind the converter does not take prints ``refused: <first line of its error>`` instead of a
time. The script only uses ``FrameConverter(pad_to_even=...)`` and its call, so it keeps working
as the converter learns new kinds. For reference it also times NumPy's own ways into a tensor:
``np.asarray(tensor)`` and ``np.from_dlpack(tensor)`` for torch and JAX arrays.

torch and JAX are imported only when their rows are reached (``JAX_PLATFORMS=cpu`` unless set);
when one is missing its rows print why they were skipped.

Run it from the repository root (about 20 s on 2 CPUs; --quick about 5 s):

    .venv/bin/python benchmarks/bench_frames.py
    .venv/bin/python benchmarks/bench_frames.py --quick
    .venv/bin/python benchmarks/bench_frames.py --sizes 480 --markdown

The exit status is 0 even when kinds are refused (it is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import table  # benchmarks/ is on sys.path when run


class UnavailableError(Exception):
    """A kind whose library is missing: its row says why, it is not a failure."""


# -- the frames -------------------------------------------------------------------------------
def _rgb(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)


def _unit(size: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.random(shape or (size, size, 3), dtype=np.float32)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise UnavailableError(f"torch not installed ({exc})") from None
    return torch


def _jax() -> Any:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax.numpy as jnp
    except ImportError as exc:
        raise UnavailableError(f"jax not installed ({exc})") from None
    return jnp


def _bfloat16() -> Any:
    try:
        import ml_dtypes
    except ImportError as exc:
        raise UnavailableError(f"ml_dtypes not installed (it comes with jax) ({exc})") from None
    return ml_dtypes.bfloat16


def _cropped(size: int) -> np.ndarray:
    return _rgb(size + 32)[16:-16, 16:-16]


def _jax_array(array: np.ndarray) -> Any:
    jnp = _jax()
    out = jnp.asarray(array)
    out.block_until_ready()
    return out


# name -> make(size): the frame as given to the converter
KINDS: dict[str, Callable[[int], Any]] = {
    "numpy uint8 HWC": _rgb,
    "numpy cropped view": _cropped,
    "numpy bottom-up view": lambda s: _rgb(s)[::-1],
    "numpy gray (H, W)": lambda s: _rgb(s)[:, :, 0].copy(),
    "numpy RGBA": lambda s: np.random.default_rng(0).integers(0, 256, (s, s, 4), np.uint8),
    "numpy bool": lambda s: _rgb(s) > 127,
    "numpy int64 0-255": lambda s: _rgb(s).astype(np.int64),
    "numpy float32 [0,1]": _unit,
    "numpy float16 [0,1]": lambda s: _unit(s).astype(np.float16),
    "numpy bfloat16 [0,1]": lambda s: _unit(s).astype(_bfloat16()),
    "numpy uint8 (3, H, W)": lambda s: np.ascontiguousarray(_rgb(s).transpose(2, 0, 1)),
    "numpy float32 (3, H, W)": lambda s: _unit(s, (3, s, s)),
    "torch uint8 HWC": lambda s: _torch().from_numpy(_rgb(s)),
    "torch float32 CHW": lambda s: _torch().from_numpy(_unit(s, (3, s, s))),
    "torch float16 HWC": lambda s: _torch().from_numpy(_unit(s)).half(),
    "torch bfloat16 HWC": lambda s: _torch().from_numpy(_unit(s)).bfloat16(),
    "jax uint8 HWC": lambda s: _jax_array(_rgb(s)),
    "jax float32 HWC": lambda s: _jax_array(_unit(s)),
}

# name -> (make(size), convert): NumPy's own ways to read a tensor, for reference
REFERENCES: dict[str, tuple[Callable[[int], Any], Callable[[Any], Any]]] = {
    "np.asarray(torch uint8 HWC)": (KINDS["torch uint8 HWC"], np.asarray),
    "np.from_dlpack(torch uint8 HWC)": (KINDS["torch uint8 HWC"], np.from_dlpack),
    "np.asarray(torch float32 CHW)": (KINDS["torch float32 CHW"], np.asarray),
    "np.from_dlpack(torch float32 CHW)": (KINDS["torch float32 CHW"], np.from_dlpack),
    "torch bfloat16 .float().numpy()": (KINDS["torch bfloat16 HWC"], lambda t: t.float().numpy()),
    "np.asarray(jax uint8 HWC)": (KINDS["jax uint8 HWC"], np.asarray),
    "np.from_dlpack(jax uint8 HWC)": (KINDS["jax uint8 HWC"], np.from_dlpack),
}


# -- measuring --------------------------------------------------------------------------------
WARM_UP = 3  # untimed calls before timing


@dataclass
class Result:
    ms: float | None = None
    copies: float | None = None
    out: str = ""
    note: str = ""  # "refused: ...", "skipped: ..."


def _numpy_view(obj: Any) -> np.ndarray | None:
    """The input's memory as NumPy sees it, without copying; None when that needs a copy."""
    if isinstance(obj, np.ndarray):
        return obj
    for read in (lambda o: o.numpy(), np.from_dlpack, np.asarray):
        try:
            view = read(obj)
        except Exception:
            continue
        if isinstance(view, np.ndarray) and (view.base is not None or not view.flags.owndata):
            return view
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _time(call: Callable[[], Any], min_repeats: int, budget: float) -> float:
    for _ in range(WARM_UP):  # thread pools and caches: the first calls can take 100x longer
        call()
    times: list[float] = []
    spent_from = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - spent_from < budget:
        start = time.perf_counter_ns()
        call()
        times.append((time.perf_counter_ns() - start) / 1e6)
        if len(times) >= 100_000:
            break
    return statistics.median(times)


def _traced_peak(call: Callable[[], Any]) -> tuple[int, Any]:
    """Peak traced bytes above the start during ``call()``, and what it returned."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        out = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, out


def _copies(out: Any, source: Any, peak: int) -> tuple[float, str]:
    array = out if isinstance(out, np.ndarray) else np.asarray(out)
    view = _numpy_view(source)
    shared = view is not None and np.shares_memory(array, view)
    shape = "x".join(map(str, array.shape)) + ("" if array.dtype == np.uint8 else f" {array.dtype}")
    if shared:
        return 0.0, f"{shape} view"
    return peak / max(array.nbytes, 1), shape


def measure_kind(make: Callable[[int], Any], size: int, args: argparse.Namespace) -> Result:
    from rlvideo._core.frames import FrameConverter

    try:
        frame = make(size)
    except UnavailableError as exc:
        return Result(note=f"skipped: {exc}")
    convert = FrameConverter(pad_to_even=True)
    try:
        convert(frame)  # the first frame fixes the layout; also the warm-up
    except Exception as exc:
        return Result(note=f"refused: {_first_line(exc)}")
    ms = _time(lambda: convert(frame), args.min_repeats, args.budget)
    peak, out = _traced_peak(lambda: convert(frame))
    copies, shape = _copies(out, frame, peak)
    return Result(ms, copies, shape)


def measure_reference(
    make: Callable[[int], Any], read: Callable[[Any], Any], size: int, args: argparse.Namespace
) -> Result:
    try:
        source = make(size)
    except UnavailableError as exc:
        return Result(note=f"skipped: {exc}")
    try:
        read(source)
    except Exception as exc:
        return Result(note=f"fails: {_first_line(exc)}")
    ms = _time(lambda: read(source), args.min_repeats, args.budget)
    peak, out = _traced_peak(lambda: read(source))
    copies, shape = _copies(out, source, peak)
    return Result(ms, copies, shape)


# -- report -----------------------------------------------------------------------------------
def versions() -> str:
    import av

    import rlvideo

    parts = [
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs",
        f"rlvideo {rlvideo.__version__}, numpy {np.__version__}, PyAV {av.__version__}",
    ]
    for name in ("torch", "jax", "ml_dtypes"):
        module = sys.modules.get(name)
        if module is not None:
            parts.append(f"{name} {getattr(module, '__version__', '?')}")
    return "; ".join(parts)


def rows_for(results: dict[int, Result], sizes: list[int]) -> list[str]:
    cells: list[str] = []
    notes: list[str] = []
    for size in sizes:
        result = results[size]
        if result.ms is None:
            cells += ["-", "-"]
            if result.note not in notes:
                notes.append(result.note)
        else:
            cells += [f"{result.ms:.3f}", f"{result.copies:.2f}"]
    out = " / ".join(dict.fromkeys(results[s].out for s in sizes if results[s].out))
    return [*cells, out, "; ".join(notes)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a fast run")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[480, 84], help="square sizes (default 480 84)"
    )
    parser.add_argument("--min-repeats", type=int, help="calls per kind, at least (default 30)")
    parser.add_argument("--budget", type=float, help="seconds per kind and size (default 0.3)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    args.min_repeats = args.min_repeats or (5 if args.quick else 30)
    args.budget = args.budget if args.budget is not None else (0.02 if args.quick else 0.3)
    if args.min_repeats < 1 or args.budget < 0 or any(s < 1 for s in args.sizes):
        parser.error("need --min-repeats >= 1, --budget >= 0 and sizes >= 1")

    started = time.perf_counter()
    sizes = args.sizes
    headers = ["kind"]
    for size in sizes:
        headers += [f"ms {size}", f"copies {size}"]
    headers += ["out", "note"]

    kind_rows = []
    for name, make in KINDS.items():
        results = {size: measure_kind(make, size, args) for size in sizes}
        kind_rows.append([name, *rows_for(results, sizes)])
        print(f"  measured {name}", file=sys.stderr, flush=True)
    reference_rows = []
    for name, (make, read) in REFERENCES.items():
        results = {size: measure_reference(make, read, size, args) for size in sizes}
        reference_rows.append([name, *rows_for(results, sizes)])

    print(versions())
    print(
        f"FrameConverter(pad_to_even=True), square frames {', '.join(map(str, sizes))}; median "
        f"of >= {args.min_repeats} calls and >= {args.budget:g} s per cell; copies = peak "
        "traced bytes / output nbytes (0: a view of the input)\n"
    )
    print(table(headers, kind_rows, markdown=args.markdown))
    print("\nFor reference, NumPy's own ways into a tensor (not rlvideo):\n")
    print(table(headers, reference_rows, markdown=args.markdown))
    print(f"\ntotal benchmark time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
