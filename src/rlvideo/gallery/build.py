"""Build the gallery's page: find and describe the videos, render the template, write it."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlvideo._core.metadata import sidecar_path
from rlvideo._core.naming import VIDEO_SUFFIXES
from rlvideo._core.optional import import_optional
from rlvideo._core.track import track_path
from rlvideo._core.units import format_size
from rlvideo.errors import InvalidArgumentError, StorageError
from rlvideo.gallery.posters import POSTER_FOLDER
from rlvideo.gallery.rows import (
    COLUMNS,
    Row,
    describe_video,
    find_videos,
    name_runs,
    natural_key,
)
from rlvideo.io._files import write_file
from rlvideo.storage import RemoteDestination, open_destination

if TYPE_CHECKING:
    import jinja2

__all__ = ["build_gallery", "build_remote_gallery"]

logger = logging.getLogger(__name__)

_TEMPLATE = "template.html.jinja"
_STYLE = "static/gallery.css"  # inlined: the page stays one self-contained file
_SCRIPT = "static/gallery.js"


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
    rows = [describe_video(video, root, posters) for video in videos]
    name_runs(rows)
    page_title = title if title is not None else (root.absolute().name or str(root))
    html = _render(jinja, page_title, rows)
    out = root / out_name
    write_file(out, html.encode("utf-8"))  # a hidden file renamed: never half a page
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


def _render(environment: jinja2.Environment, title: str, rows: list[Row]) -> str:
    from markupsafe import Markup

    from rlvideo import __version__

    source = _asset(_TEMPLATE)
    total_bytes = sum(int(row.cells["size"].sort) for row in rows if "size" in row.cells)
    total_seconds = sum(
        float(row.cells["duration"].sort) for row in rows if "duration" in row.cells
    )
    columns = [
        column
        for column in COLUMNS
        if not column.optional or any(column.key in row.cells for row in rows)
    ]
    labels = {column.key: column.label for column in COLUMNS}
    colors = {str(row.data["run"]): row.color for row in rows}
    colors = {run: colors[run] for run in sorted(colors, key=natural_key)}
    return environment.from_string(source).render(
        title=title,
        rows=rows,
        columns=columns,
        total_size=format_size(total_bytes),
        total_duration=f"{total_seconds:.1f} s",
        runs=len(colors),
        version=__version__,
        css=Markup(_inline(_asset(_STYLE), "style")),
        script=Markup(_inline(_asset(_SCRIPT), "script")),
        data=Markup(
            _script_json({"videos": [row.data for row in rows], "labels": labels, "colors": colors})
        ),
    )


def _asset(name: str) -> str:
    """A file shipped beside this module (the template, ``static/*``), as text."""
    return resources.files("rlvideo.gallery").joinpath(name).read_text(encoding="utf-8")


def _inline(text: str, element: str) -> str:
    r"""``text`` made safe inside ``<element>``: its closing tag and ``<!--`` cannot occur in it.

    They become ``<\/script`` and ``<\!--``, which mean the same inside a JavaScript string or
    regular expression (and a CSS string), the only places they can be; the final newline goes.

    Example:
        >>> print(_inline('var end = "</SCRIPT>"; // <!--\n', "script"))
        var end = "<\/SCRIPT>"; // <\!--
    """
    text = re.sub(f"</({element})", r"<\\/\1", text, flags=re.IGNORECASE)
    return text.replace("<!--", "<\\!--").removesuffix("\n")


def _script_json(value: Any) -> str:
    r"""JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``.

    Example:
        >>> print(_script_json({"file": "</script><b>&", "nan": None}))
        {"file":"\u003c/script\u003e\u003cb\u003e\u0026","nan":null}
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
