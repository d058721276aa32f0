"""Where finished files go: a local folder, or an fsspec URL (``s3://``, ``gs://``, ``memory://``).

Every writer in rlvideo writes a local file (a hidden partial, renamed when final: see
:mod:`rlvideo.io.writer`). A :class:`Destination` decides where that file is written and where it
ends up:

- :class:`LocalDestination`, for a plain path (or a ``file://`` URL): the file is written in the
  folder itself, exactly as rlvideo always did, and publishing it is a no-op.
- :class:`RemoteDestination`, for any other fsspec URL: the file is written to a local
  *staging* folder (``rlvideo-staging-*`` under :func:`tempfile.gettempdir`, so ``TMPDIR``
  moves it) and uploaded only once it is final. On object stores (S3, GCS, Azure) a PUT is
  atomic, so it goes straight to the final key: no reader ever sees half an object. On other
  filesystems it is uploaded under a hidden temporary name and renamed. A key that exists is
  replaced by default (``overwrite=None``, said once per folder, as for a local folder) or with
  ``overwrite=True`` (quietly), and its sidecar, data track and poster are removed after the
  upload. With ``overwrite=False`` it is never replaced: ``save_video`` raises
  :class:`~rlvideo.errors.VideoExistsError` before it writes anything; the wrappers, whose env
  loop never waits for the network, ask the store in the background when a video starts (a
  warning if it is taken), and every upload asks again first, keeping the video locally and
  raising ``VideoExistsError`` for a taken key. If an upload fails, the local file is kept and the
  :class:`~rlvideo.errors.StorageError` names it; after a successful upload it is deleted
  (by the wrappers, once ``on_video_saved`` has returned: see :func:`local_file`).

Credentials and endpoints are fsspec's ``storage_options``, e.g.
``{"key": ..., "secret": ..., "client_kwargs": {"endpoint_url": ...}}`` for S3; without them
each filesystem finds its credentials as usual (environment, config files, instance roles).
fsspec (``pip install "rlvideo[cloud]"``) and the filesystem's package (``s3fs``, ``gcsfs``,
``adlfs``, ...) are imported on first use.

Example:
    >>> import numpy as np
    >>> from rlvideo import save_video
    >>> frames = np.zeros((5, 32, 32, 3), np.uint8)
    >>> save_video(frames, "memory://doctest/videos", fps=10)
    ['memory://doctest/videos/rl-video-episode-0.mp4']
    >>> videos = open_destination("memory://doctest/videos")
    >>> videos.list_names(), videos.exists("rl-video-episode-0.mp4")
    (['rl-video-episode-0.mp4'], True)
    >>> videos.remove("rl-video-episode-0.mp4")
    >>> videos.list_names()
    []
"""

from rlvideo._core.metadata import SavedPath
from rlvideo.storage.destination import (
    Destination,
    check_storage_options,
    is_url,
    resolve_location,
)
from rlvideo.storage.local import LocalDestination, lend_local_file, local_file
from rlvideo.storage.remote import RemoteDestination, open_destination
from rlvideo.storage.upload import Uploader, publish_all

__all__ = [
    "Destination",
    "LocalDestination",
    "RemoteDestination",
    "SavedPath",
    "Uploader",
    "check_storage_options",
    "is_url",
    "lend_local_file",
    "local_file",
    "open_destination",
    "publish_all",
    "resolve_location",
]
