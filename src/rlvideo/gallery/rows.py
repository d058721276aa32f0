"""The gallery's rows: find the videos, and describe each from its name, sidecar, file and track."""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rlvideo._core.metadata import VideoMetadata, resolve_video_path, sidecar_path, video_name
from rlvideo._core.naming import (
    MIME_TYPES,
    VIDEO_SUFFIXES,
    ParsedName,
    check_format,
    parse_video_name,
)
from rlvideo._core.track import read_track, track_path  # the track's name and reader: shared
from rlvideo._core.units import format_number, format_size
from rlvideo.errors import EncoderError, StorageError
from rlvideo.gallery.posters import POSTER_AT, POSTER_FOLDER, poster_is_current, write_poster
from rlvideo.io.manifest import read_sidecar
from rlvideo.io.reader import VideoInfo, probe_with_frame
from rlvideo.storage import LocalDestination

__all__ = [
    "COLUMNS",
    "RUN_COLORS",
    "Cell",
    "Column",
    "Row",
    "describe_video",
    "find_videos",
    "name_runs",
    "natural_key",
]

logger = logging.getLogger(__name__)

RUN_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
"""One colour per run, in the runs' natural order: Tableau 20 (matplotlib's ``tab20``), its ten
strong colours first, then their ten light ones, so 20 runs stay distinct; the 21st run takes
the first colour again. A run keeps its colour in every view (grid, table, player, compare,
plots)."""

_SIGNIFICANT = 6  # digits kept of a track's floats: the page stays small, the plot exact enough


@dataclass(frozen=True)
class Column:
    """A column of the page's table: its key in a row's cells, its heading, how it sorts."""

    key: str
    label: str
    numeric: bool
    title: str = ""
    optional: bool = False  # shown only when some video has a value


# The sortable columns, in page order. The first column (the player) does not sort.
COLUMNS = (
    Column("file", "File", numeric=False, title="file name"),
    Column("run", "Run", numeric=False, title="run: the sidecar's run, else the name prefix"),
    Column("worker", "Worker", numeric=True, title="Ray worker index", optional=True),
    Column("checkpoint", "Checkpoint", numeric=False, title="checkpoint", optional=True),
    Column("episode", "Episode", numeric=True, title="episode index when the video started"),
    Column(
        "step",
        "Step",
        numeric=True,
        title="training step: global step of the first frame",
        optional=True,
    ),
    Column("return", "Return", numeric=True, title="sum of the rewards of the recorded steps"),
    Column("length", "Length", numeric=True, title="env steps recorded"),
    Column("frames", "Frames", numeric=True, title="frames in the file (decoded)"),
    Column("duration", "Duration", numeric=True, title="seconds"),
    Column("fps", "FPS", numeric=True, title="frames per second"),
    Column("size", "Size", numeric=True, title="file size"),
    Column("codec", "Codec", numeric=False, title="codec and frame size"),
    Column("env", "Env", numeric=False, title="environment id"),
    Column("env_index", "Env #", numeric=True, title="sub-env index", optional=True),
    Column("seed", "Seed", numeric=True, title="seed given to reset()"),
)


@dataclass
class Cell:
    """A table cell: the text shown, the key the page sorts by, an optional second line."""

    text: str = "\N{EM DASH}"
    sort: str = ""  # what the page sorts by; empty sorts last in either direction
    detail: str = ""  # a second, smaller line


@dataclass
class Row:
    """One video on the page: what the template writes and the script's data (``data``)."""

    name: str  # the path from the gallery's folder, with "/": the video's name on the page
    href: str
    mime: str
    is_gif: bool
    poster: str | None = None
    folder: str = ""  # the run folder: the video's folder from the gallery's, "" for itself
    color: str = RUN_COLORS[0]
    width: int = 0
    height: int = 0
    codec: str = ""
    badges: list[str] = field(default_factory=list)
    problem: str = ""
    cells: dict[str, Cell] = field(default_factory=dict)
    # What the page's script filters, sorts, plots and plays by: JSON-ready values, None unknown.
    data: dict[str, Any] = field(default_factory=dict)


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort ``episode-2`` before ``episode-10``."""
    return [
        (0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", name)
    ]


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".")


def find_videos(
    folder: str | os.PathLike[str], *, keep: Callable[[Path], bool] = _is_video
) -> list[Path]:
    """The videos in ``folder`` and its sub-folders, at any depth, folder by folder.

    A video is a file whose name ``keep`` accepts (by default: a ``.mp4``, ``.webm`` or ``.gif``
    name that does not start with a dot). Hidden folders (``.git``, ``.ipynb_checkpoints``),
    ``folder/posters`` (the gallery's own) and links to folders are not entered: a link such
    as ``latest -> ppo-2`` would list a run twice, and a link to a parent would never end. A
    sub-folder that cannot be listed is skipped with a warning naming it.

    Args:
        folder: The folder to search.
        keep: Which file names are videos.

    Returns:
        The videos: those directly in ``folder`` first, then each sub-folder's, folders and
        names in natural order (``episode-2`` before ``episode-10``).

    Raises:
        StorageError: If ``folder`` itself cannot be listed.

    Example:
        >>> for name in ("ppo/rl-video-episode-10.mp4", "ppo/rl-video-episode-2.mp4", "a.gif"):
        ...     Path("runs", name).parent.mkdir(parents=True, exist_ok=True)
        ...     _ = Path("runs", name).write_bytes(b"")
        >>> [path.as_posix() for path in find_videos("runs")]
        ['runs/a.gif', 'runs/ppo/rl-video-episode-2.mp4', 'runs/ppo/rl-video-episode-10.mp4']
    """
    root = Path(folder)
    found: list[Path] = []
    pending = [root]
    while pending:
        here = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as exc:
            if here == root:
                raise StorageError(f"cannot list {root}: {exc}") from exc
            logger.warning("skipped the folder %s: %s", here, exc)
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith(".") and not (
                    here == root and entry.name == POSTER_FOLDER
                ):
                    pending.append(path)
            elif keep(path) and path.is_file():
                found.append(path)

    def order(path: Path) -> tuple[list[list[tuple[int, int | str]]], list[tuple[int, int | str]]]:
        folders = path.relative_to(root).parts[:-1]
        return [natural_key(part) for part in folders], natural_key(path.name)

    return sorted(found, key=order)


def _read_sidecar(video: Path) -> tuple[VideoMetadata, dict[str, Any]] | None:
    """The video's sidecar: its metadata and all its fields (extra keys included), or None."""
    fields = read_sidecar(LocalDestination(video.parent), video.name)  # checked: or None
    if fields is None:
        return None
    meta = VideoMetadata.from_dict(fields)
    described = video_name(resolve_video_path(meta.path, video.parent))  # old: absolute
    if described != video.name:
        logger.warning(
            "the sidecar %s names %s, not %s; showing it with %s (renamed video?)",
            sidecar_path(video), described, video.name, video.name,
        )  # fmt: skip
    return meta, fields


def describe_video(video: Path, root: Path, posters: Path) -> Row:
    """The page's row of ``video`` (a file under ``root``), its poster written into ``posters``.

    What it says comes from its name (:func:`~rlvideo._core.naming.parse_video_name`), its
    sidecar, decoding it (:func:`~rlvideo.io.reader.probe`) and its data track.
    """
    suffix = video.suffix.lower()
    relative = video.relative_to(root)
    name = relative.as_posix()
    row = Row(
        name=name,
        href=quote(name),
        mime=MIME_TYPES[check_format(suffix.lstrip("."))],
        is_gif=suffix == ".gif",
        folder=relative.parent.as_posix() if relative.parent.parts else "",
    )
    row.cells["file"] = Cell(name, name.lower())
    parsed = parse_video_name(video.name)  # the run (name prefix), env and worker it says
    row.data.update(file=name, href=row.href, mime=row.mime, gif=row.is_gif, run=parsed.prefix)
    row.data.update(env_index=parsed.env_index, worker=parsed.worker)
    if parsed.incomplete:
        row.badges.append("incomplete")
    sidecar = _read_sidecar(video)
    _add_metadata(row, parsed, sidecar)
    _set_number(row, "worker", row.data.get("worker"))
    _set_text(row, "checkpoint", row.data.get("checkpoint"))
    _set_number(row, "env_index", row.data.get("env_index"))
    current = poster_is_current(video, posters, relative)
    try:  # one decoding pass: the facts and, unless the poster is current, its frame
        info, frame = probe_with_frame(video, at=None if current else POSTER_AT)
    except EncoderError as exc:
        logger.warning("listing %s as unreadable: %s", video, exc)
        row.badges.append("unreadable")
        row.problem = str(exc)
        _add_size(row, video)
        return _finish(row)
    _add_info(row, info)
    if info.frames:
        row.poster = write_poster(video, posters, relative, frame=frame)
    track = _read_track(track_path(video), frames=info.frames)
    if track is not None:
        row.data["track"] = track
        row.badges.append("track")
    return _finish(row)


def _add_badges(row: Row, meta: VideoMetadata) -> None:
    """How the video's episode ended, what started it, and how it was rendered."""
    if meta.terminated:
        row.badges.append("terminated")
    if meta.truncated:
        row.badges.append("truncated")
    if meta.cut_short:  # close() came mid-episode: the video stops before the episode did
        row.badges.append("cut short")
    if meta.kind != "episode":
        row.badges.append(meta.kind)
    if meta.replay is not None:
        _add_replay(row, meta.replay)


def _add_replay(row: Row, record: dict[str, Any]) -> None:
    """A video rendered from a replay (``replay=True``): verified, or where it diverged."""
    verified = record.get("verified") is True
    row.badges.append("replayed" if verified else "replay diverged")
    if not verified:
        row.problem = (
            f"the replay diverged at step {record.get('diverged_at_step')} of its episode: "
            f"the video holds the {record.get('diverged_at_frame')} frames before it"
        )


def _finish(row: Row) -> Row:
    row.data.update(
        poster=row.poster, width=row.width or None, height=row.height or None,
        codec=row.codec or None, badges=row.badges, problem=row.problem or None,
    )  # fmt: skip
    for key in ("terminated", "truncated", "incomplete", "unreadable"):
        row.data[key] = key in row.badges
    row.data["cut_short"] = "cut short" in row.badges
    row.data = {key: _finite_or_none(value) for key, value in row.data.items()}
    return row


def name_runs(rows: list[Row]) -> None:
    """Name each row's run after its folder, and give each run its colour (:data:`RUN_COLORS`).

    A row's run so far is what its own file says (the sidecar's ``run``, else the name prefix).
    In a sub-folder, the run is the folder's path, or ``<folder>/<that run>`` when the folder
    holds several; in the gallery's own folder it stays what the file says, as it always was.
    """
    inner: dict[str, set[str]] = {}
    for row in rows:
        inner.setdefault(row.folder, set()).add(str(row.data["run"]))
    for row in rows:
        if row.folder:
            several = len(inner[row.folder]) > 1
            row.data["run"] = f"{row.folder}/{row.data['run']}" if several else row.folder
        _set_text(row, "run", row.data["run"])
    colors = _run_colors(str(row.data["run"]) for row in rows)
    for row in rows:
        row.color = row.data["color"] = colors[str(row.data["run"])]


def _run_colors(runs: Iterable[str]) -> dict[str, str]:
    """Each run's colour: :data:`RUN_COLORS` in the runs' natural order, cycling after 20.

    Example:
        >>> _run_colors(["sac", "ppo-10", "ppo-9", "sac"])
        {'ppo-9': '#1f77b4', 'ppo-10': '#ff7f0e', 'sac': '#2ca02c'}
    """
    ordered = sorted(set(runs), key=natural_key)
    return {run: RUN_COLORS[i % len(RUN_COLORS)] for i, run in enumerate(ordered)}


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities become None: the page's data must be strict JSON."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _set_text(row: Row, key: str, value: Any) -> None:
    if value is not None and str(value) != "":
        row.cells[key] = Cell(str(value), str(value).lower())


def _set_number(row: Row, key: str, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        row.cells[key] = Cell(format_number(value), repr(value))


def _extra(fields: dict[str, Any], key: str, kinds: tuple[type, ...]) -> Any:
    """An extra sidecar key (``run``, ``worker``, ``checkpoint``) when it has a usable value."""
    value = fields.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds):
        return None
    return value


def _add_metadata(
    row: Row, parsed: ParsedName, sidecar: tuple[VideoMetadata, dict[str, Any]] | None
) -> None:
    if sidecar is None:
        row.badges.append("no metadata")
        if parsed.episode is not None:  # gym's names say the episode
            row.cells["episode"] = Cell(str(parsed.episode), str(parsed.episode))
            row.data["episode"] = parsed.episode
        return
    meta, fields = sidecar
    row.cells["episode"] = Cell(str(meta.episode), str(meta.episode))
    row.cells["step"] = Cell(str(meta.first_step), str(meta.first_step))
    row.cells["return"] = Cell(format_number(meta.episode_return), repr(float(meta.episode_return)))
    row.cells["length"] = Cell(str(meta.steps), str(meta.steps))
    if meta.env_id is not None:
        index = "" if meta.env_index is None else f"sub-env {meta.env_index}"
        row.cells["env"] = Cell(meta.env_id, meta.env_id.lower(), index)
    if meta.seed is not None:
        row.cells["seed"] = Cell(str(meta.seed), str(meta.seed))
    _add_badges(row, meta)
    row.data.update(
        episode=meta.episode, step=meta.first_step, steps=meta.steps, env=meta.env_id,
        seed=meta.seed, kind=meta.kind, sidecar_fps=meta.fps, overlay=meta.overlay,
    )  # fmt: skip
    row.data["return"] = _finite(meta.episode_return)
    if meta.env_index is not None:
        row.data["env_index"] = meta.env_index
    for key, kinds in (("run", (str,)), ("worker", (int,)), ("checkpoint", (str, int, float))):
        value = _extra(fields, key, kinds)
        if value is not None:
            row.data[key] = value


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _compact(value: Any) -> Any:
    """A track value for the page: floats to 6 significant digits, non-finite to None."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return float(f"{value:.{_SIGNIFICANT}g}") if math.isfinite(value) else None
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return None  # nested objects: the page shows scalars and short lists only


def _read_track(path: Path, *, frames: int) -> dict[str, Any] | None:
    r"""A data track as columns (one list per field, one item per frame), or None.

    Returns None when there is no track; a track that :func:`~rlvideo._core.track.read_track`
    refuses (not JSON Lines of frame objects in frame order, not UTF-8, a line past its bound,
    not a regular file) is skipped with a one-line warning naming the file and the line. A track whose length
    differs from the decoded frame count is kept, with a warning (the page clamps).

    Example:
        >>> _ = Path("a.track.jsonl").write_text(
        ...     '{"frame": 0, "episode": 0, "step": 0, "reward": null, "return": 0.0}\n'
        ...     '{"frame": 1, "episode": 0, "step": 1, "reward": 1.5, "return": 1.5, "action": 1}\n'
        ... )
        >>> _read_track(Path("a.track.jsonl"), frames=2)
        {'frames': 2, 'episode': [0, 0], 'step': [0, 1], 'reward': [None, 1.5], 'return': [0.0, 1.5], 'action': [None, 1]}
    """  # noqa: E501 (doctest output stays on one line)
    columns: dict[str, list[Any]] = {key: [] for key in ("episode", "step", "reward", "return")}
    actions: list[Any] = []
    info: dict[str, list[Any]] = {}
    try:
        for index, record in enumerate(read_track(path)):
            _add_track_record(record, index, columns, actions, info)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # read_track's one-line reasons
        logger.warning("skipped the track %s: %s", path, exc)
        return None
    count = len(columns["step"])
    if count != frames:
        logger.warning(
            "the track %s has %d lines for %d decoded frames; the page shows what it has",
            path, count, frames,
        )  # fmt: skip
    track: dict[str, Any] = {"frames": count, **columns}
    if any(action is not None for action in actions):
        track["action"] = actions
    if info:
        track["info"] = {
            key: values + [None] * (count - len(values)) for key, values in info.items()
        }
    return track


def _add_track_record(
    record: dict[str, Any],
    index: int,
    columns: dict[str, list[Any]],
    actions: list[Any],
    info: dict[str, list[Any]],
) -> None:
    """Append the values of frame ``index``'s record (:func:`~rlvideo._core.track.read_track`'s)."""
    for key in columns:
        value = record.get(key)
        columns[key].append(_compact(value) if isinstance(value, int | float) else None)
    actions.append(_compact(record.get("action")))
    extra = record.get("info")
    if isinstance(extra, dict):
        for key, value in extra.items():
            values = info.setdefault(str(key), [None] * index)
            values += [None] * (index - len(values))
            values.append(_compact(value))


def _add_info(row: Row, info: VideoInfo) -> None:
    row.width, row.height, row.codec = info.width, info.height, info.codec
    row.data.update(frames=info.frames, duration=info.duration, fps=info.fps, size=info.size_bytes)
    row.cells["frames"] = Cell(str(info.frames), str(info.frames))
    row.cells["duration"] = Cell(f"{info.duration:.2f} s", repr(info.duration))
    row.cells["fps"] = Cell(format_number(info.fps), repr(info.fps))
    row.cells["size"] = Cell(format_size(info.size_bytes), str(info.size_bytes))
    row.cells["codec"] = Cell(
        info.codec, info.codec, f"{info.width}\N{MULTIPLICATION SIGN}{info.height}"
    )


def _add_size(row: Row, video: Path) -> None:
    try:
        size = video.stat().st_size
    except OSError:
        return
    row.cells["size"] = Cell(format_size(size), str(size))
    row.data["size"] = size
