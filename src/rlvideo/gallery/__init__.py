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

from rlvideo._core.naming import VIDEO_SUFFIXES
from rlvideo.gallery.build import build_gallery, build_remote_gallery
from rlvideo.gallery.posters import POSTER_FOLDER
from rlvideo.gallery.rows import RUN_COLORS, find_videos

__all__ = [
    "POSTER_FOLDER",
    "RUN_COLORS",
    "VIDEO_SUFFIXES",
    "build_gallery",
    "build_remote_gallery",
    "find_videos",
]
