"""The progress bar of ``rlvideo record``: steps, and which episode it is in."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A bar that counts steps (it moves during long episodes) and says which episode it is in.

    Without tqdm (the ``progress`` extra) it does nothing. While it shows, log records are
    written above it (tqdm.write), never onto its line.
    """

    def __init__(self, total_episodes: int) -> None:
        self.total = total_episodes
        self.bar: Any = None
        self._redirect: Any = None
        try:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm
        except ModuleNotFoundError:  # the bar is a nicety: without the extra, run without it
            return
        self._redirect = logging_redirect_tqdm()
        self._redirect.__enter__()
        self.bar = tqdm(
            unit="step", file=sys.stderr, desc=self._desc(0), mininterval=0.2,
            bar_format="{desc}: {n_fmt} steps [{elapsed}, {rate_fmt}]",
        )  # fmt: skip

    def _desc(self, done: int) -> str:
        return f"episode {min(done + 1, self.total)}/{self.total}" if self.total else ""

    def steps(self, count: int = 1) -> None:
        """Count ``count`` more steps."""
        if self.bar is not None:
            self.bar.update(count)

    def episodes(self, done: int) -> None:
        """Say that ``done`` episodes have ended (the bar names the next)."""
        if self.bar is not None:
            self.bar.set_description_str(self._desc(done), refresh=False)

    def close(self) -> None:
        """Close the bar; log records go to the handlers they went to before."""
        if self.bar is not None:
            self.bar.close()
            self._redirect.__exit__(None, None, None)
