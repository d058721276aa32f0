"""The manifest: one JSON index of every finished video in a folder and its metadata.

``manifest.json`` is ``{"videos": [sidecar, ...]}``: each entry is a video's
:class:`~rlvideo._core.metadata.VideoMetadata` sidecar, one per file name, sorted by path, and only
for videos still in the folder. As in the sidecars, each ``path`` is the video's name, relative
to the folder (older manifests held absolute paths; they are rewritten when merged).
``rlvideo record``, ``rlvideo demo`` and :func:`rlvideo.distributed.record_rollouts` keep it up
to date; ``merge_manifest(folder)`` rebuilds it from the sidecars at any time (after an RLlib
run, or several runs into one folder).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from rlvideo._core.metadata import (
    VideoMetadata,
    parse_sidecar,
    read_json,
    resolve_video_path,
    sidecar_path,
    video_name,
)
from rlvideo._core.naming import is_finished_video_name
from rlvideo.errors import InvalidArgumentError
from rlvideo.storage import Destination, open_destination

__all__ = ["MANIFEST", "merge_into", "merge_manifest", "read_sidecar"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
"""The manifest's file name, in the video folder."""


def merge_manifest(
    video_folder: str | os.PathLike[str],
    metas: Sequence[VideoMetadata | Mapping[str, Any]] | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
) -> str:
    """Write ``video_folder/manifest.json``: the entries there, plus ``metas``, one per video.

    The format is ``rlvideo record``'s: ``{"videos": [sidecar, ...]}``, sorted by path, one
    entry per file name (a new entry replaces an old one), and only for videos still in the
    folder. With ``metas=None`` every video in the folder that has a sidecar is merged in:
    the step after recording with RLlib, or after several runs wrote into one folder.

    Args:
        video_folder: A local folder, or an fsspec URL (needs ``rlvideo[cloud]``).
        metas: The videos to add (:class:`~rlvideo._core.metadata.VideoMetadata` or sidecar dicts);
            None: read every sidecar in the folder.
        storage_options: fsspec options for a URL (credentials, endpoint).

    Returns:
        The manifest's path (or URL).

    Raises:
        InvalidArgumentError: If the folder holds a ``manifest.json`` that is not a manifest.
        StorageError: If the folder cannot be listed, read or written.
        MissingDependencyError: For a URL without fsspec.

    Example:
        >>> import json, pathlib
        >>> folder = pathlib.Path("runs")
        >>> folder.mkdir()
        >>> _ = (folder / "a-w0-episode-0.mp4").write_bytes(b"")  # stands in for a video
        >>> meta = VideoMetadata(path=str(folder / "a-w0-episode-0.mp4"), kind="episode")
        >>> _ = (folder / "a-w0-episode-0.json").write_text(meta.to_json())
        >>> manifest = pathlib.Path(merge_manifest(folder))
        >>> [v["path"] for v in json.loads(manifest.read_text())["videos"]]
        ['a-w0-episode-0.mp4']
    """
    with open_destination(video_folder, storage_options) as folder:
        return merge_into(folder, metas)


def merge_into(
    folder: Destination, metas: Sequence[VideoMetadata | Mapping[str, Any]] | None = None
) -> str:
    """:func:`merge_manifest` on an open :class:`~rlvideo.storage.Destination`."""
    names = set(folder.list_names())
    entries: dict[str, dict[str, Any]] = {}
    text = folder.read_text(MANIFEST) if MANIFEST in names else None
    if text is not None:
        try:
            for entry in read_json(text).get("videos", []):
                entries[video_name(entry["path"])] = entry
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise InvalidArgumentError(
                f"{folder.final(MANIFEST)} is not an rlvideo manifest ({exc}); move it away "
                "and rerun"
            ) from exc
    if metas is None:
        new = [read_sidecar(folder, video) for video in _videos_with_sidecars(names)]
    else:
        new = [m.to_sidecar_dict() if isinstance(m, VideoMetadata) else dict(m) for m in metas]
    for entry in new:
        if entry and "path" in entry:
            entries[video_name(entry["path"])] = entry
    kept = [
        {**entries[name], "path": name} for name in sorted(entries) if name in names
    ]  # relative, as in the sidecars: the folder can move
    return str(folder.write_text(MANIFEST, json.dumps({"videos": kept}, indent=2)))


def read_sidecar(folder: Destination, video: str) -> dict[str, Any] | None:
    """The fields of the sidecar of ``video`` in ``folder``; None if it has none.

    Its ``path`` comes back resolved: a relative one (what sidecars store) against ``folder``,
    as a full path or URL; an absolute one (an older rlvideo's) as it is. A sidecar that cannot
    be read, is not UTF-8, is not JSON or holds a field of the wrong kind is skipped with a
    one-line warning naming it (see :func:`~rlvideo._core.metadata.parse_sidecar`).
    """
    name = sidecar_path(video).name
    try:
        text = folder.read_text(name)
    except UnicodeDecodeError as exc:
        logger.warning(
            "skipped %s: not UTF-8 text (byte %d); ignoring the sidecar", folder.final(name),
            exc.start,
        )  # fmt: skip
        return None
    except OSError as exc:
        logger.warning("skipped %s: cannot be read (%s)", folder.final(name), exc)
        return None
    if text is None and folder.exists(name):  # a device or FIFO: never read (/dev/zero never ends)
        logger.warning("skipped %s: not a regular file; ignoring the sidecar", folder.final(name))
        return None
    fields = None if text is None else parse_sidecar(text, folder.final(name))
    if fields is not None and isinstance(fields["path"], str):
        fields["path"] = resolve_video_path(fields["path"], folder.location)
    return fields


def _videos_with_sidecars(names: set[str]) -> list[str]:
    """The finished videos among ``names`` that have a sidecar there."""
    return [
        name
        for name in sorted(names)
        if is_finished_video_name(name) and sidecar_path(name).name in names
    ]
