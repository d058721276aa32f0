"""What ``rlvideo record`` and ``rlvideo demo`` print: the videos' table and the episodes' stats."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from rlvideo._core.units import format_number
from rlvideo.io.manifest import read_sidecar
from rlvideo.storage import Destination, is_url

__all__ = ["EpisodeStats", "num", "print_summary", "read_sidecars", "video_name"]


class EpisodeStats:
    """Every episode's return and length, per sub-env: what the summary reports.

    Only the first ``episodes`` of each sub-env count (a vector env's faster sub-envs run on
    until the slowest is done; those extra episodes are cut short and not kept).
    """

    def __init__(self, num_envs: int, episodes: int) -> None:
        self.episodes = episodes
        self.returns: list[list[float]] = [[] for _ in range(num_envs)]
        self.lengths: list[list[int]] = [[] for _ in range(num_envs)]

    def add(self, env: int, episode_return: float, length: int) -> bool:
        """Count an episode of sub-env ``env``; False if it is past the count (ignored)."""
        if len(self.returns[env]) >= self.episodes:
            return False
        self.returns[env].append(episode_return)
        self.lengths[env].append(length)
        return True

    @property
    def done(self) -> int:
        """Episodes counted so far, over all sub-envs."""
        return sum(len(r) for r in self.returns)

    def length(self, env: int | None, episode: int) -> int | None:
        """The length of a counted episode (sub-env 0 for a tiled video), if it finished."""
        lengths = self.lengths[env or 0]
        return lengths[episode] if 0 <= episode < len(lengths) else None

    def summary(self) -> str:
        """Mean +- std of return and length over every episode run, and per sub-env.

        Example:
            >>> run = EpisodeStats(2, 2)
            >>> for env, ret, n in [(0, 10, 10), (1, 20, 20), (0, 30, 30), (1, 40, 40)]:
            ...     _ = run.add(env, ret, n)
            >>> print(run.summary())
            all 4 episodes (2 on each of 2 sub-envs): return 25 ± 11.18 (min 10, max 40), length 25 ± 11.18
              sub-env 0: return 20 ± 10, length 20 ± 10
              sub-env 1: return 30 ± 10, length 30 ± 10
        """  # noqa: E501 (the doctest shows whole lines)
        returns = [r for env in self.returns for r in env]
        lengths = [n for env in self.lengths for n in env]
        if not returns:
            return "no episode finished"
        count = len(self.returns)
        scope = f" ({self.episodes} on each of {count} sub-envs)" if count > 1 else ""
        lines = [
            f"all {len(returns)} episode(s){scope}: return {_mean_std(returns)} "
            f"(min {num(min(returns))}, max {num(max(returns))}), length {_mean_std(lengths)}"
        ]
        if count > 1:
            lines += [
                f"  sub-env {k}: return {_mean_std(r)}, length {_mean_std(n)}"
                for k, (r, n) in enumerate(zip(self.returns, self.lengths, strict=True)) if r
            ]  # fmt: skip
        return "\n".join(lines).replace("episode(s)", "episodes" if len(returns) > 1 else "episode")


def num(value: float) -> str:
    """A number for people: at most two decimals, no trailing zeros (``40``, ``23.46``)."""
    return format_number(value, decimals=2)


def _mean_std(values: Sequence[float]) -> str:
    import numpy as np

    return f"{num(float(np.mean(values)))} ± {num(float(np.std(values)))}"


def video_name(saved: Path | str) -> str:
    """The file name of a saved video: a Path's name, or a URL's last part."""
    if isinstance(saved, str) and is_url(saved):
        return saved.rstrip("/").rsplit("/", 1)[-1]
    return Path(saved).name


def read_sidecars(paths: Sequence[Path | str], destination: Destination) -> list[dict[str, Any]]:
    """The sidecars of the videos saved at ``paths`` in ``destination`` (those it has)."""
    found = (read_sidecar(destination, video_name(path)) for path in paths)
    return [fields for fields in found if fields is not None]


def print_summary(
    metas: list[dict[str, Any]], run: EpisodeStats | None = None, *, video_length: int = 0
) -> None:
    """The videos' table: episode, return, length, file (and sub-env, for per-env videos).

    A video that holds only part of its episode (``--video-length``, a step trigger) shows the
    return of its own steps, labelled ``(clip)``, with a note under the table.
    """
    if not metas:
        return
    with_env = any(m.get("env_index") is not None for m in metas)
    clips = False
    rows = [(["env"] if with_env else []) + ["episode", "return", "length", "file"]]
    for m in sorted(metas, key=lambda m: (m.get("env_index") or 0, m.get("episode", 0))):
        given = m.get("episode_return", 0)  # null: not a number (vector rewards)
        episode_return = num(math.nan if given is None else float(given))
        whole = run.length(m.get("env_index"), m.get("episode", 0)) if run is not None else None
        if m.get("kind") == "step" or (whole is not None and m.get("steps", 0) < whole):
            episode_return, clips = f"{episode_return} (clip)", True
        row = [
            str(m.get("episode", "")),
            episode_return,
            str(m.get("steps", "")),
            video_name(m["path"]),
        ]
        rows.append(([str(m.get("env_index"))] if with_env else []) + row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if clips:
        limit = f" (--video-length {video_length})" if video_length else ""
        click.echo(
            f"(clip): the return and length of the video's own steps{limit}, not of its whole "
            "episode"
        )
