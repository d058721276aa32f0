"""Replay files on disk: ``<stem>.replay.npz`` beside the video (issue 23, started).

A replay file is a NumPy ``.npz`` with no object arrays (read with ``allow_pickle=False``): its
``header`` is a 0-d string of JSON (:class:`~rlvideo._core.replay.ReplayHeader`), every other
entry an array (the actions of each segment, the step digests, ...). It is written to a hidden
file and published whole, like every file rlvideo writes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo._core.replay import ReplayHeader
from rlvideo.errors import InvalidArgumentError
from rlvideo.io._files import write_file

__all__ = ["read_replay", "write_replay"]


def write_replay(
    path: str | Path,
    header: ReplayHeader,
    arrays: Mapping[str, npt.ArrayLike],
    *,
    overwrite: bool | None = True,
) -> Path:
    """Write a replay file: ``header`` and ``arrays``, compressed, published whole.

    Example:
        >>> from rlvideo._core.replay import ReplayHeader
        >>> header = ReplayHeader(env={"id": "CartPole-v1"}, video={}, writer={}, segments=[])
        >>> path = write_replay("v.replay.npz", header, {"actions_0": np.array([0, 1, 1])})
        >>> read_replay(path)[1]["actions_0"].tolist()
        [0, 1, 1]
    """
    if "header" in arrays:
        raise InvalidArgumentError('"header" is the file\'s own entry: name the array otherwise')
    buffer = io.BytesIO()
    values = {name: np.asarray(value) for name, value in arrays.items()}
    if any(value.dtype == object for value in values.values()):
        raise InvalidArgumentError("a replay file holds no object arrays: convert them first")
    np.savez_compressed(buffer, header=np.array(header.to_json()), **values)  # type: ignore[arg-type]
    return write_file(Path(path), buffer.getvalue(), overwrite=overwrite)


def read_replay(path: str | Path) -> tuple[ReplayHeader, dict[str, npt.NDArray[Any]]]:
    """The header and the arrays of the replay file ``path``.

    Raises:
        InvalidArgumentError: If it is no rlvideo replay file, or one of a newer format.
        FileNotFoundError: If there is no file at ``path``.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if "header" not in data.files:
                raise InvalidArgumentError(f"{path} is no rlvideo replay file: it has no header")
            header = ReplayHeader.from_json(str(data["header"]))
            arrays = {name: data[name] for name in data.files if name != "header"}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InvalidArgumentError(f"{path} is no rlvideo replay file: {exc}") from exc
    return header, arrays
