"""Helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

from pathlib import Path


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
