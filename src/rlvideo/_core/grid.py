"""Tile several env frames into one: the layout rule, and the tiling. Pure NumPy, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, isqrt

import numpy as np
import numpy.typing as npt

__all__ = ["Tiler", "grid_shape", "sb3_grid"]


def grid_shape(count: int, height: int, width: int, aspect: tuple[float, float]) -> tuple[int, int]:
    """Rows and columns for ``count`` tiles of ``height x width`` near the ``aspect`` ratio.

    Gymnasium's rule first: the exact factorisation ``rows x cols == count`` (rows up to
    ``sqrt(count)``) closest to the aspect ratio. Where that leaves one strip (a prime count
    such as 3, 5 or 7), a grid of at least two rows and two columns with a few empty tiles is
    used instead if its shape is closer. Two envs stay side by side, as in Gymnasium.

    Example:
        >>> grid_shape(2, 400, 600, (1, 1)), grid_shape(4, 400, 600, (1, 1))
        ((1, 2), (2, 2))
        >>> grid_shape(5, 400, 600, (1, 1)), grid_shape(7, 400, 600, (1, 1))
        ((3, 2), (4, 2))
    """
    target = aspect[0] / aspect[1]

    def miss(rows: int, cols: int) -> float:
        return abs((cols * width) / (rows * height) - target)

    exact = min(
        ((r, count // r) for r in range(1, isqrt(count) + 1) if count % r == 0),
        key=lambda shape: miss(*shape),
    )
    if exact[0] > 1 or count <= 1:
        return exact
    padded = [
        (rows, ceil(count / rows))
        for rows in range(2, ceil(count**0.5) + 2)
        if (rows - 1) * ceil(count / rows) < count  # no empty row
        and ceil(count / rows) > 1  # a real grid, not the other strip
    ]
    best = min(padded, key=lambda shape: miss(*shape), default=exact)
    return best if miss(*best) < miss(*exact) else exact


def sb3_grid(count: int) -> tuple[int, int]:
    """Rows and columns of Stable-Baselines3's ``tile_images``: ``ceil(sqrt(count))`` rows.

    Example:
        >>> sb3_grid(1), sb3_grid(2), sb3_grid(3), sb3_grid(5)
        ((1, 1), (2, 1), (2, 2), (3, 2))
    """
    rows = ceil(count**0.5)
    return rows, ceil(count / rows)


class Tiler:
    """Tile frames into one preallocated image (empty tiles stay black).

    Example:
        >>> tiler = Tiler((1, 1))
        >>> frames = [np.full((2, 3, 3), v, np.uint8) for v in (10, 20, 30)]
        >>> tiled = tiler(frames)
        >>> tiled.shape, tiled[0, 0, 0], tiled[0, 3, 0], tiled[2, 0, 0], tiled[3, 4, 0]
        ((4, 6, 3), np.uint8(10), np.uint8(20), np.uint8(30), np.uint8(0))
    """

    def __init__(self, aspect: tuple[float, float], grid: tuple[int, int] | None = None) -> None:
        self.aspect = aspect
        self.grid = grid  # rows and columns fixed (SB3's, :func:`sb3_grid`), else grid_shape's
        self.rows = self.cols = -1
        self._canvas: npt.NDArray[np.uint8] | None = None

    def __call__(self, frames: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
        """Return the image holding ``frames`` row by row; it is reused by the next call."""
        first = np.asarray(frames[0])
        height, width = first.shape[:2]
        if self._canvas is None or self._canvas.shape[2:] != first.shape[2:]:
            grid = self.grid or grid_shape(len(frames), height, width, self.aspect)
            self.rows, self.cols = grid
            shape = (self.rows * height, self.cols * width, *first.shape[2:])
            self._canvas = np.zeros(shape, np.uint8)
        canvas = self._canvas
        for index, frame in enumerate(frames):
            row, col = divmod(index, self.cols)
            canvas[row * height : (row + 1) * height, col * width : (col + 1) * width] = frame
        return canvas
