"""Build a self-contained HTML gallery of a folder of videos: views, filters, compare, plots.

:func:`build_gallery` writes ``<folder>/index.html`` and ``<folder>/posters/*.png``. The page
holds its CSS, JavaScript and data inline and links only to files beside it by relative paths,
so the folder can be moved, zipped or uploaded as it is and still works, opened from disk
(``file://``) or served over HTTP. It fetches nothing, not even its own folder's files by
``fetch()`` (Chromium refuses that from ``file://``): what the page needs is embedded in it.

What the page shows, for each video: a poster (lazy-loaded: ``loading="lazy"``, players made
only when asked for, so a thousand videos open fast), its metadata from the JSON sidecar
(written by the wrappers with ``metadata=True``) and from decoding the file
(:func:`rlvideo.probe`), and, when ``<video stem>.track.jsonl`` lies beside it, its per-frame data
track (step, reward, return so far, action, info keys), read here and embedded compactly.

On the page: a grid of posters (hover previews, click opens the player) or a table (sortable
columns: run, worker, checkpoint, episode, training step, env, env index, seed, return, ...);
a query box (``return>30 env=3 terminated -cut_short cartpole``, documented on the page);
facets; plots of return over episode or training step, a point per video, one small plot per
env (returns of two envs share no scale) or, at the user's choice, one plot with each env's
returns normalised to 0..1; each run in a colour of its own (:data:`RUN_COLORS`), the same in
the grid, the table, the player, compare and the plots; on a narrow screen (a phone) the videos
come first and the controls fold behind a "Filters" button; a player with
speed (0.25x to 4x), loop, frame stepping, the track's reward and return curves under it with
a playhead, and the track's values shown live over the video (not burnt in); a compare view
playing 2 to 4 videos side by side in sync, with "same seed" pairs across runs suggested.
Keyboard shortcuts are listed on the page. A video the browser cannot decode keeps its poster
and offers a download link instead.

A sidecar's ``"path"`` may be relative (to the sidecar's folder) or absolute (older sidecars):
the gallery pairs sidecars with videos by file name, and warns when a sidecar names another
video. Besides :class:`~rlvideo._core.metadata.VideoMetadata`'s fields, a sidecar may carry
``"run"``, ``"worker"`` and ``"checkpoint"``; otherwise the run is the video's name prefix and
the worker comes from :func:`rlvideo.distributed.worker_prefix`'s ``-w<k>`` part of it.

A folder of run folders (``runs/ppo/``, ``runs/hand/``, ``runs/sweep/lr-3/``: any depth) is one
gallery, as TensorBoard's ``--logdir`` reads sub-folders: a video in a sub-folder belongs to the
run named by the folder's path from the gallery's folder, its links and its poster's
(``posters/<folder>/<name>.png``) are relative paths through that folder, and the same-seed
compare pairs videos across the runs.

:func:`build_remote_gallery` does the same for videos behind an fsspec URL (``s3://bucket/runs``):
it downloads them (and their sidecars and tracks) to a temporary folder, builds the page there
and uploads ``index.html`` and ``posters/`` beside the videos, so the relative links work
wherever the bucket is served from.

Needs Jinja2: ``pip install "rlvideo[gallery]"``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import av
import av.video.frame

from rlvideo._core.metadata import VideoMetadata, resolve_video_path, sidecar_path, video_name
from rlvideo._core.naming import (
    MIME_TYPES,
    VIDEO_SUFFIXES,
    check_format,
    is_incomplete_name,
    strip_incomplete,
)
from rlvideo._core.optional import import_optional
from rlvideo._core.track import read_track, track_path  # the track's name and reader: shared
from rlvideo.errors import EncoderError, InvalidArgumentError, StorageError
from rlvideo.io._files import write_file
from rlvideo.io.manifest import read_sidecar
from rlvideo.io.reader import VideoInfo, probe
from rlvideo.storage import LocalDestination, RemoteDestination, open_destination

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "POSTER_FOLDER",
    "RUN_COLORS",
    "VIDEO_SUFFIXES",
    "build_gallery",
    "build_remote_gallery",
    "find_videos",
]

logger = logging.getLogger(__name__)

POSTER_FOLDER = "posters"
"""The sub-folder of the gallery's folder that holds the poster images."""

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

_TEMPLATE = "template.html.jinja"
_EPISODE_IN_NAME = re.compile(r"-episode-(\d+)$")  # gym's names, for videos without a sidecar
# What a clip name adds to its prefix: -episode-3, -step-120, -step-0-to-step-200 (SB3),
# -env-2 (per-env vector videos) and -w1 / -w1-v0 (Ray workers, distributed.worker_prefix).
_CLIP_IN_NAME = re.compile(r"-(?:episode-\d+|step-\d+(?:-to-step-\d+)?)$")
_ENV_IN_NAME = re.compile(r"-env-(\d+)$")
_WORKER_IN_NAME = re.compile(r"-w(\d+)(?:-v\d+)?$")
_SIGNIFICANT = 6  # digits kept of a track's floats: the page stays small, the plot exact enough


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    numeric: bool
    title: str = ""
    optional: bool = False  # shown only when some video has a value


# The sortable columns, in page order. The first column (the player) does not sort.
_COLUMNS = (
    _Column("file", "File", numeric=False, title="file name"),
    _Column("run", "Run", numeric=False, title="run: the sidecar's run, else the name prefix"),
    _Column("worker", "Worker", numeric=True, title="Ray worker index", optional=True),
    _Column("checkpoint", "Checkpoint", numeric=False, title="checkpoint", optional=True),
    _Column("episode", "Episode", numeric=True, title="episode index when the video started"),
    _Column(
        "step",
        "Step",
        numeric=True,
        title="training step: global step of the first frame",
        optional=True,
    ),
    _Column("return", "Return", numeric=True, title="sum of the rewards of the recorded steps"),
    _Column("length", "Length", numeric=True, title="env steps recorded"),
    _Column("frames", "Frames", numeric=True, title="frames in the file (decoded)"),
    _Column("duration", "Duration", numeric=True, title="seconds"),
    _Column("fps", "FPS", numeric=True, title="frames per second"),
    _Column("size", "Size", numeric=True, title="file size"),
    _Column("codec", "Codec", numeric=False, title="codec and frame size"),
    _Column("env", "Env", numeric=False, title="environment id"),
    _Column("env_index", "Env #", numeric=True, title="sub-env index", optional=True),
    _Column("seed", "Seed", numeric=True, title="seed given to reset()"),
)


@dataclass
class _Cell:
    text: str = "\N{EM DASH}"
    sort: str = ""  # what the page sorts by; empty sorts last in either direction
    detail: str = ""  # a second, smaller line


@dataclass
class _Row:
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
    cells: dict[str, _Cell] = field(default_factory=dict)
    # What the page's script filters, sorts, plots and plays by: JSON-ready values, None unknown.
    data: dict[str, Any] = field(default_factory=dict)


def build_gallery(
    folder: str | os.PathLike[str],
    *,
    title: str | None = None,
    out_name: str = "index.html",
) -> Path:
    """Write ``folder/index.html``: every video in ``folder`` with a poster, playback and metadata.

    Looks at the ``.mp4``, ``.webm`` and ``.gif`` files in ``folder`` and in its sub-folders, at
    any depth (:func:`find_videos`), as TensorBoard's ``--logdir`` does: each folder that holds
    videos is a run, named by its path from ``folder`` (``ppo``, ``sweep/lr-3``); when one
    folder holds several runs (several name prefixes, such as the demo's two policies), each
    is ``<folder>/<prefix>``. The videos directly in ``folder`` are named as a single folder's
    always were: by the sidecar's ``run``, else the name prefix. Hidden files (such as the
    partial files of a writer still running) and folders are skipped. Videos kept after an
    error (``<name>.incomplete.<ext>``) are shown with an "incomplete" badge; a file that
    cannot be decoded is listed as "unreadable" with a link to it. A video's metadata comes
    from its sidecar ``<name>.json`` when there is one, and from decoding it (frames,
    duration, fps, size, codec) always; its data track ``<name>.track.jsonl``, when there is
    one, is embedded in the page (a damaged sidecar or track is skipped with a warning naming
    the file, and the page is built from the rest).

    Each run has a colour of its own (:data:`RUN_COLORS`), the same in every view. Posters are
    PNGs of the frame a third of the way in, written by PyAV to
    ``folder/posters/<the video's path from folder>.png``; a poster newer than its video is
    reused. The page is written to a temporary file and renamed, so a reader never sees half a
    page. It links to the videos and posters by relative paths and fetches nothing else: move
    or upload the folder as a whole, or serve it from anywhere.

    Args:
        folder: The folder of videos; the page and the posters are written into it.
        title: The page's title; defaults to the folder's name.
        out_name: The page's file name, a plain name ending in ``.html``.

    Returns:
        The path of the page, ``folder/out_name``.

    Raises:
        StorageError: If ``folder`` does not exist, is not a folder, or the page or a poster
            cannot be written.
        InvalidArgumentError: If ``folder`` holds no video (an empty gallery is almost always
            a wrong path), or ``out_name`` is not a plain ``.html`` file name.
        MissingDependencyError: If Jinja2 is not installed (the ``gallery`` extra).

    Example:
        >>> import numpy as np
        >>> from rlvideo import VideoWriter
        >>> with VideoWriter("runs/rl-video-episode-0.mp4", fps=10) as writer:
        ...     writer.write_batch(np.zeros((6, 32, 48, 3), np.uint8))
        >>> page = build_gallery("runs", title="My runs")
        >>> page.name, [p.name for p in Path("runs/posters").iterdir()]
        ('index.html', ['rl-video-episode-0.mp4.png'])
        >>> html = page.read_text(encoding="utf-8")
        >>> 'href="rl-video-episode-0.mp4"' in html, "<title>My runs</title>" in html
        (True, True)
        >>> build_gallery("nowhere")
        Traceback (most recent call last):
        ...
        rlvideo.errors.StorageError: cannot build a gallery of nowhere: no such folder
    """
    root = Path(folder)
    _check_out_name(out_name)
    if not root.exists():
        raise StorageError(f"cannot build a gallery of {root}: no such folder")
    if not root.is_dir():
        raise StorageError(f"cannot build a gallery of {root}: it is a file, not a folder")
    videos = find_videos(root)
    if not videos:
        raise InvalidArgumentError(
            f"no videos in {root} or its sub-folders: the gallery shows the "
            f"{', '.join(VIDEO_SUFFIXES)} files it finds there; record some first, "
            f"e.g. python -m rlvideo.cli.demo --out {root}"
        )
    jinja = _jinja()  # before any poster: a missing extra fails fast, leaving nothing behind
    posters = root / POSTER_FOLDER
    try:
        posters.mkdir(exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the poster folder {posters}: {exc}") from exc
    rows = [_row(video, root, posters) for video in videos]
    _name_runs(rows)
    page_title = title if title is not None else (root.absolute().name or str(root))
    html = _render(jinja, page_title, rows)
    out = root / out_name
    _write_atomically(out, html.encode("utf-8"))
    logger.info("wrote gallery %s: %d videos", out, len(rows))
    return out


def build_remote_gallery(
    url: str,
    *,
    storage_options: Mapping[str, Any] | None = None,
    title: str | None = None,
    out_name: str = "index.html",
) -> str:
    """:func:`build_gallery` for videos behind an fsspec URL; return the page's URL.

    The videos directly under ``url`` and their sidecars are downloaded to a temporary folder,
    the gallery is built there, and ``posters/*.png`` then ``out_name`` are uploaded beside the
    videos (the page last, so it never links to a poster that is not there yet). The page's
    links are relative: it works wherever the folder is served as a whole (a static bucket
    website, a CDN, a download of the prefix). Every video is downloaded, once per call.

    Args:
        url: The folder's URL, e.g. ``s3://bucket/runs``; a local path or ``file://`` URL is
            handed to :func:`build_gallery`.
        storage_options: fsspec options (credentials, endpoint, ...).
        title: The page's title; defaults to the URL's last part.
        out_name: The page's file name, a plain name ending in ``.html``.

    Returns:
        The page's URL, ``<url>/<out_name>`` (a local path as a string for a local folder).

    Raises:
        InvalidArgumentError: If there is no video under ``url``, or ``out_name`` is not a plain
            ``.html`` name.
        StorageError: If a download or an upload fails.
        MissingDependencyError: If Jinja2 (``gallery``) or fsspec (``cloud``) is missing.

    Example:
        >>> import fsspec
        >>> import numpy as np
        >>> from rlvideo import save_video
        >>> frames = np.zeros((6, 32, 48, 3), np.uint8)
        >>> _ = save_video(frames, "memory://gallery-doctest/runs", fps=10)
        >>> build_remote_gallery("memory://gallery-doctest/runs", title="Remote runs")
        'memory://gallery-doctest/runs/index.html'
        >>> sorted(fsspec.filesystem("memory").find("/gallery-doctest"))
        ['/gallery-doctest/runs/index.html', '/gallery-doctest/runs/posters/rl-video-episode-0.mp4.png', '/gallery-doctest/runs/rl-video-episode-0.mp4']
        >>> fsspec.filesystem("memory").rm("/gallery-doctest", recursive=True)
    """  # noqa: E501 (doctest output stays on one line)
    _check_out_name(out_name)
    with open_destination(url, storage_options) as destination:
        if not isinstance(destination, RemoteDestination):
            return str(build_gallery(destination.location, title=title, out_name=out_name))
        names = destination.list_names()
        videos = [
            name
            for name in names
            if Path(name).suffix.lower() in VIDEO_SUFFIXES and not name.startswith(".")
        ]
        if not videos:
            raise InvalidArgumentError(
                f"no videos in {destination.location}: the gallery shows the "
                f"{', '.join(VIDEO_SUFFIXES)} files directly under the URL"
            )
        _jinja()  # a missing extra fails before anything is downloaded
        sidecars = [s for s in (sidecar_path(v).name for v in videos) if s in names]
        sidecars += [t for t in (track_path(v).name for v in videos) if t in names]
        with tempfile.TemporaryDirectory(prefix="rlvideo-gallery-") as temporary:
            folder = Path(temporary)
            for name in videos + sidecars:
                destination.download(name, folder / name)
            logger.info("downloaded %d videos from %s", len(videos), destination.location)
            default_title = destination.location.rstrip("/").rsplit("/", 1)[-1]
            page = build_gallery(
                folder, title=default_title if title is None else title, out_name=out_name
            )
            posters = folder / POSTER_FOLDER
            for poster in sorted(posters.iterdir()) if posters.is_dir() else []:
                if poster.is_file() and not poster.name.startswith("."):
                    destination.upload(poster, f"{POSTER_FOLDER}/{poster.name}")
            url_of_page = destination.upload(page, out_name)
    logger.info("uploaded gallery %s: %d videos", url_of_page, len(videos))
    return url_of_page


# -- finding and describing videos -------------------------------------------------------------
def _check_out_name(out_name: str) -> None:
    if (
        not out_name
        or Path(out_name).name != out_name
        or out_name.startswith(".")
        or not out_name.lower().endswith(".html")
    ):
        raise InvalidArgumentError(
            f"out_name must be a plain file name ending in .html, such as 'index.html'; "
            f"got {out_name!r}"
        )


def _natural_key(name: str) -> list[tuple[int, int | str]]:
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
        return [_natural_key(part) for part in folders], _natural_key(path.name)

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


def _name_parts(stem: str) -> tuple[str, int | None, int | None]:
    """The run (name prefix), env index and worker index a clip's file name holds.

    Example:
        >>> _name_parts("ppo-w2-v0-episode-8")
        ('ppo', None, 2)
        >>> _name_parts("cartpole-env-3-step-120")
        ('cartpole', 3, None)
        >>> _name_parts("rl-video-step-0-to-step-200")
        ('rl-video', None, None)
    """
    prefix = _CLIP_IN_NAME.sub("", strip_incomplete(stem))
    env = _ENV_IN_NAME.search(prefix)
    if env:
        prefix = prefix[: env.start()]
    worker = _WORKER_IN_NAME.search(prefix)
    if worker:
        prefix = prefix[: worker.start()]
    return (
        prefix or stem,
        int(env.group(1)) if env else None,
        int(worker.group(1)) if worker else None,
    )


def _row(video: Path, root: Path, posters: Path) -> _Row:
    suffix = video.suffix.lower()
    relative = video.relative_to(root)
    name = relative.as_posix()
    row = _Row(
        name=name,
        href=quote(name),
        mime=MIME_TYPES[check_format(suffix.lstrip("."))],
        is_gif=suffix == ".gif",
        folder=relative.parent.as_posix() if relative.parent.parts else "",
    )
    row.cells["file"] = _Cell(name, name.lower())
    run, env_index, worker = _name_parts(video.stem)
    row.data.update(file=name, href=row.href, mime=row.mime, gif=row.is_gif, run=run)
    row.data.update(env_index=env_index, worker=worker)
    if is_incomplete_name(video):
        row.badges.append("incomplete")
    sidecar = _read_sidecar(video)
    _add_metadata(row, video, sidecar)
    _set_number(row, "worker", row.data.get("worker"))
    _set_text(row, "checkpoint", row.data.get("checkpoint"))
    _set_number(row, "env_index", row.data.get("env_index"))
    try:
        info = probe(video)
    except EncoderError as exc:
        logger.warning("listing %s as unreadable: %s", video, exc)
        row.badges.append("unreadable")
        row.problem = str(exc)
        _add_size(row, video)
        return _finish(row)
    _add_info(row, info)
    if info.frames:
        row.poster = _poster(video, posters, relative, frame_index=info.frames // 3)
    track = _read_track(track_path(video), frames=info.frames)
    if track is not None:
        row.data["track"] = track
        row.badges.append("track")
    return _finish(row)


def _finish(row: _Row) -> _Row:
    row.data.update(
        poster=row.poster, width=row.width or None, height=row.height or None,
        codec=row.codec or None, badges=row.badges, problem=row.problem or None,
    )  # fmt: skip
    for key in ("terminated", "truncated", "incomplete", "unreadable"):
        row.data[key] = key in row.badges
    row.data["cut_short"] = "cut short" in row.badges
    row.data = {key: _finite_or_none(value) for key, value in row.data.items()}
    return row


def _name_runs(rows: list[_Row]) -> None:
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
    ordered = sorted(set(runs), key=_natural_key)
    return {run: RUN_COLORS[i % len(RUN_COLORS)] for i, run in enumerate(ordered)}


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities become None: the page's data must be strict JSON."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _set_text(row: _Row, key: str, value: Any) -> None:
    if value is not None and str(value) != "":
        row.cells[key] = _Cell(str(value), str(value).lower())


def _set_number(row: _Row, key: str, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        row.cells[key] = _Cell(_number(value), repr(value))


def _extra(fields: dict[str, Any], key: str, kinds: tuple[type, ...]) -> Any:
    """An extra sidecar key (``run``, ``worker``, ``checkpoint``) when it has a usable value."""
    value = fields.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds):
        return None
    return value


def _add_metadata(
    row: _Row, video: Path, sidecar: tuple[VideoMetadata, dict[str, Any]] | None
) -> None:
    if sidecar is None:
        row.badges.append("no metadata")
        match = _EPISODE_IN_NAME.search(strip_incomplete(video.stem))
        if match:
            row.cells["episode"] = _Cell(match.group(1), match.group(1))
            row.data["episode"] = int(match.group(1))
        return
    meta, fields = sidecar
    row.cells["episode"] = _Cell(str(meta.episode), str(meta.episode))
    row.cells["step"] = _Cell(str(meta.first_step), str(meta.first_step))
    row.cells["return"] = _Cell(_number(meta.episode_return), repr(float(meta.episode_return)))
    row.cells["length"] = _Cell(str(meta.steps), str(meta.steps))
    if meta.env_id is not None:
        index = "" if meta.env_index is None else f"sub-env {meta.env_index}"
        row.cells["env"] = _Cell(meta.env_id, meta.env_id.lower(), index)
    if meta.seed is not None:
        row.cells["seed"] = _Cell(str(meta.seed), str(meta.seed))
    if meta.terminated:
        row.badges.append("terminated")
    if meta.truncated:
        row.badges.append("truncated")
    if meta.cut_short:  # close() came mid-episode: the video stops before the episode did
        row.badges.append("cut short")
    if meta.kind != "episode":
        row.badges.append(meta.kind)
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


def _add_info(row: _Row, info: VideoInfo) -> None:
    row.width, row.height, row.codec = info.width, info.height, info.codec
    row.data.update(frames=info.frames, duration=info.duration, fps=info.fps, size=info.size_bytes)
    row.cells["frames"] = _Cell(str(info.frames), str(info.frames))
    row.cells["duration"] = _Cell(f"{info.duration:.2f} s", repr(info.duration))
    row.cells["fps"] = _Cell(_number(info.fps), repr(info.fps))
    row.cells["size"] = _Cell(_size(info.size_bytes), str(info.size_bytes))
    row.cells["codec"] = _Cell(
        info.codec, info.codec, f"{info.width}\N{MULTIPLICATION SIGN}{info.height}"
    )


def _add_size(row: _Row, video: Path) -> None:
    try:
        size = video.stat().st_size
    except OSError:
        return
    row.cells["size"] = _Cell(_size(size), str(size))
    row.data["size"] = size


def _number(value: float) -> str:
    """Up to 6 significant digits, no trailing zeros: 500.0 -> '500', 0.125 -> '0.125'."""
    return f"{value:g}" if math.isfinite(value) else str(value)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


# -- posters ------------------------------------------------------------------------------------
def _poster(video: Path, posters: Path, relative: Path, *, frame_index: int) -> str | None:
    """Write (or reuse) the video's poster; return its relative URL, or None if it failed.

    The poster is ``posters/<relative>.png``, ``relative`` being the video's path from the
    gallery's folder: videos of two runs never share a poster, and its URL is relative too.
    """
    poster = posters / relative.parent / f"{relative.name}.png"
    href = quote(f"{POSTER_FOLDER}/{poster.relative_to(posters).as_posix()}")
    try:
        poster.parent.mkdir(parents=True, exist_ok=True)
        if poster.is_file() and poster.stat().st_mtime_ns >= video.stat().st_mtime_ns:
            logger.debug("reusing the poster %s", poster)
            return href
        png = _png_of_frame(video, frame_index)
    except (OSError, av.error.FFmpegError) as exc:
        logger.warning("no poster for %s: %s", video, exc)
        return None
    if png is None:
        logger.warning("no poster for %s: it decodes to no frame", video)
        return None
    _write_atomically(poster, png)
    logger.debug("wrote the poster %s (frame %d)", poster, frame_index)
    return href


def _png_of_frame(video: Path, index: int) -> bytes | None:
    """Encode frame ``index`` of ``video`` (or its last, if shorter) as PNG, with PyAV only."""
    frame: av.video.frame.VideoFrame | None = None
    with av.open(str(video)) as container:
        for i, decoded in enumerate(container.decode(container.streams.video[0])):
            frame = decoded
            if i >= index:
                break
    if frame is None:
        return None
    rgb = frame.reformat(format="rgb24")
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = rgb.width, rgb.height, "rgb24"
    packets = encoder.encode(rgb) + encoder.encode(None)
    return b"".join(bytes(packet) for packet in packets)


# -- the page -----------------------------------------------------------------------------------
def _jinja() -> jinja2.Environment:
    jinja = import_optional("jinja2", "gallery", feature="rlvideo gallery")
    environment: jinja2.Environment = jinja.Environment(
        autoescape=True,
        undefined=jinja.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return environment


def _render(environment: jinja2.Environment, title: str, rows: list[_Row]) -> str:
    from markupsafe import Markup

    from rlvideo import __version__

    source = resources.files(__name__).joinpath(_TEMPLATE).read_text(encoding="utf-8")
    total_bytes = sum(int(row.cells["size"].sort) for row in rows if "size" in row.cells)
    total_seconds = sum(
        float(row.cells["duration"].sort) for row in rows if "duration" in row.cells
    )
    columns = [
        column
        for column in _COLUMNS
        if not column.optional or any(column.key in row.cells for row in rows)
    ]
    labels = {column.key: column.label for column in _COLUMNS}
    colors = {str(row.data["run"]): row.color for row in rows}
    colors = {run: colors[run] for run in sorted(colors, key=_natural_key)}
    return environment.from_string(source).render(
        title=title,
        rows=rows,
        columns=columns,
        total_size=_size(total_bytes),
        total_duration=f"{total_seconds:.1f} s",
        runs=len(colors),
        version=__version__,
        data=Markup(
            _script_json({"videos": [row.data for row in rows], "labels": labels, "colors": colors})
        ),
    )


def _script_json(value: Any) -> str:
    r"""JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``.

    Example:
        >>> print(_script_json({"file": "</script><b>&", "nan": None}))
        {"file":"\u003c/script\u003e\u003cb\u003e\u0026","nan":null}
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, then rename it to ``path``."""
    write_file(path, data)
