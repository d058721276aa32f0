"""Triggers: which episodes or steps get recorded.

A trigger is any callable ``int -> bool``. :func:`capped_cubic_video_schedule` is gym's
default; the others cover what users otherwise write as lambdas, with a readable ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["capped_cubic_video_schedule", "every_n"]


def capped_cubic_video_schedule(episode_id: int) -> bool:
    """Gym's default episode trigger: the cubes below 1000, then every 1000th episode.

    That is episodes 0, 1, 8, 27, ..., 729, 1000, 2000, 3000, ... (gym's docstring also
    lists 4, which is not a cube and never fired).

    Args:
        episode_id: The episode index, counted from 0.

    Returns:
        True if that episode should be recorded.

    Example:
        >>> [i for i in range(1000) if capped_cubic_video_schedule(i)]
        [0, 1, 8, 27, 64, 125, 216, 343, 512, 729]
        >>> [i for i in range(1000, 4001) if capped_cubic_video_schedule(i)]
        [1000, 2000, 3000, 4000]
    """
    if episode_id < 1000:
        return bool(round(episode_id ** (1.0 / 3)) ** 3 == episode_id)
    return episode_id % 1000 == 0


@dataclass(frozen=True)
class every_n:  # noqa: N801 (a callable used like a function: lower case reads better)
    """A trigger firing every ``n``-th index, starting at ``offset``.

    Args:
        n: The period, at least 1.
        offset: The first index that fires.

    Example:
        >>> trigger = every_n(10)
        >>> [i for i in range(35) if trigger(i)]
        [0, 10, 20, 30]
        >>> every_n(0)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: every_n needs n >= 1, got 0
    """

    n: int
    offset: int = 0

    def __post_init__(self) -> None:
        from rlvideo.errors import InvalidArgumentError

        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n < 1:
            raise InvalidArgumentError(f"every_n needs n >= 1, got {self.n!r}")

    def __call__(self, index: int) -> bool:
        """Return True if ``index`` is ``offset`` plus a multiple of ``n``."""
        return index >= self.offset and (index - self.offset) % self.n == 0
