"""Helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar


def count_decoded(path: Path) -> int:
    """Frames in a video, counted by decoding it with PyAV."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def table(headers: list[str], rows: list[list[str]], *, markdown: bool = False) -> str:
    """A plain-text table (first column left-aligned, the rest right-aligned), or markdown."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join(["---", *["---:"] * (len(headers) - 1)]) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([cells[0].ljust(widths[0]), *rest]).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def busy_jiffies() -> int:
    """Non-idle CPU time of the whole machine so far, in clock ticks (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


# Each spinner: pure-Python arithmetic until killed, or until its benchmark is gone (its parent
# changes), so a killed benchmark leaves no spinner behind.
SPINNER = """
import os
parent = os.getppid()
print("spinning", flush=True)
while os.getppid() == parent:
    x = 0
    for i in range(100_000):
        x = (x * 31 + i) % 1_000_003
"""


class BusyLoad:
    """``n`` busy processes (pure-Python spin loops) in one process group of their own.

    Started when the ``with`` block begins (it returns once each one spins), killed when it
    ends; :func:`stop_all_loads` (atexit, SIGTERM) kills any left.
    """

    groups: ClassVar[set[int]] = set()

    def __init__(self, n: int, *, nice: int = 0) -> None:
        self.n = n
        self.nice = nice  # the spinners' niceness (Ray runs its workers at 15)
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> BusyLoad:
        group = 0
        for _ in range(self.n):
            process = subprocess.Popen(
                [sys.executable, "-c", SPINNER],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, process_group=group,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
            )  # fmt: skip
            self.processes.append(process)
            if not group:
                group = process.pid
                BusyLoad.groups.add(group)
        for process in self.processes:
            assert process.stdout is not None
            process.stdout.readline()  # "spinning"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.processes:
            return
        group = self.processes[0].pid
        kill_group(group)
        BusyLoad.groups.discard(group)
        for process in self.processes:
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def kill_group(group: int) -> None:
    """Kill a process group (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def stop_all_loads() -> None:
    """Kill every busy load still running (atexit)."""
    for group in list(BusyLoad.groups):
        kill_group(group)
    BusyLoad.groups.clear()
