"""A local folder as a destination, and the local file of a video handed to ``on_video_saved``.

:class:`LocalDestination` writes files in the folder itself, exactly as rlvideo always did:
publishing one is a rename at most. For a URL folder, the recorder uploads each video from a
local staging file and keeps that file while ``on_video_saved`` runs: it hands the callback a
:class:`LentURL`, the video's URL carrying that file, and :func:`local_file` reads it from there.
Nothing is kept in a module-level table: the URL handed over is the only channel.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from rlvideo._core.metadata import SavedPath
from rlvideo._core.naming import VIDEO_SUFFIXES, check_file_name
from rlvideo.errors import StorageError, VideoExistsError
from rlvideo.io._files import check_target, publish, publish_video, write_file
from rlvideo.storage.destination import Destination, is_url, local_path

__all__ = ["LentURL", "LocalDestination", "lend_local_file", "local_file"]


class LentURL(str):
    """The URL of a video rlvideo just uploaded, carrying the local file it was uploaded from.

    The recorder hands one to ``on_video_saved`` (see :func:`lend_local_file`): it is the URL
    (compare it, print it, keep it), and :attr:`local` is the uploaded staging file while the
    callback runs, None once it returned (the file is deleted then).
    """

    local: Path | None
    """The local copy of the video, or None once the hand-off is over."""

    def __new__(cls, url: str, local: Path | None = None) -> LentURL:
        """``url``, carrying ``local``."""
        lent = super().__new__(cls, url)
        lent.local = local
        return lent


def local_file(where: SavedPath) -> Path | None:
    """A readable local file holding the video saved at ``where``, or None if there is none here.

    For a local folder that is ``where`` itself. For a URL (``video_folder="s3://..."``), the
    wrappers upload the video from a local staging file; they keep that file until
    ``on_video_saved`` returns, and hand the callback the URL as a :class:`LentURL` carrying
    it: while the callback runs this returns that file, so a hand-off (a tracker,
    :mod:`rlvideo.loggers`) reads the video without downloading it. Afterwards, and for a URL
    rlvideo did not just upload (one ``save_video`` returned), it returns None: download the
    URL instead.

    Example:
        >>> local_file(Path("videos/rl-video-episode-0.mp4")).as_posix()
        'videos/rl-video-episode-0.mp4'
        >>> local_file("file:///tmp/videos/a.mp4").as_posix()
        '/tmp/videos/a.mp4'
        >>> with lend_local_file("s3://bucket/v/a.mp4", Path("/tmp/staging/a.mp4")) as where:
        ...     local_file(where).as_posix()
        '/tmp/staging/a.mp4'
        >>> where == "s3://bucket/v/a.mp4", local_file(where) is None  # after the callback: gone
        (True, True)
        >>> local_file("s3://bucket/v/a.mp4") is None  # a URL with no local file lent
        True
    """
    text = os.fspath(where)
    if isinstance(where, Path) or not is_url(text) or text.startswith("file://"):
        return Path(local_path(text))
    return where.local if isinstance(where, LentURL) else None


@contextlib.contextmanager
def lend_local_file(where: SavedPath, local: Path | None) -> Iterator[SavedPath]:
    """Yield ``where`` to hand over, carrying ``local`` for :func:`local_file` in the block.

    For a URL ``where`` and a ``local`` file this is a :class:`LentURL`, whose file is taken
    back when the block ends (the caller deletes it then). Otherwise (``local`` None, or a
    local ``where``) it is ``where`` itself: nothing is lent. The recorder wraps each
    ``on_video_saved`` call in it, and calls the callback with what it yields.
    """
    text = os.fspath(where)
    if local is None or not is_url(text) or text.startswith("file://"):
        yield where
        return
    lent = LentURL(text, local)
    try:
        yield lent
    finally:
        lent.local = None


class LocalDestination(Destination):
    """A local folder: files are written in place, as rlvideo always did.

    Args:
        folder: The folder (made absolute; created by :meth:`prepare`).
    """

    remote = False

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).absolute()
        self.location = str(self.folder)
        self._prefix = os.path.join(self.location, "")  # "folder/": final_text's
        self._folder_checked = False  # writable, as the first check_free found it

    def prepare(self) -> None:
        """Create the folder (and its parents)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                "cannot create ",
                StorageError.Term("video_folder"),
                f" {self.folder}: {exc.strerror or exc}",
                path=self.folder,
            ) from exc

    def final(self, name: str) -> Path:
        """``folder/name``."""
        return self.folder / name

    def final_text(self, name: str) -> str:
        """``folder/name`` as text, with no Path made (a replayed video's, every ~0.2 ms)."""
        return self._prefix + name

    def staging_path(self, name: str, *, unique: str | None = None) -> Path:
        """``folder/name``: the writer's own partial-then-rename makes it atomic."""
        return self.folder / name

    def check_free(self, name: str, *, overwrite: bool | None, wait: bool = False) -> bool:
        """Raise unless ``folder/name`` may be written (:func:`~rlvideo.io._files.check_target`).

        The folder's permissions are checked at the first call only (one ``access`` a video
        after that, and :func:`check_target`'s ``stat`` only for a name that is there): a folder
        made read-only later fails its writers, which say so.
        """
        if self._folder_checked:
            check_file_name(name)
            if not os.access(os.path.join(self.location, name), os.F_OK):
                return False  # nothing there, as check_target's stat says, without its exception
        taken = check_target(
            self.final(name), overwrite=overwrite, folder_checked=self._folder_checked
        )
        if not self._folder_checked:
            self._folder_checked = self.folder.is_dir()
        return taken

    def publish(
        self, local: Path, name: str, *, overwrite: bool | None, keep_local: bool = False
    ) -> Path:
        """Nothing to do when ``local`` is ``folder/name`` already; else move it there.

        A replaced file's sidecar, data track and poster are removed (the writer removed them
        when ``local`` is ``folder/name``).
        """
        target = self.final(name)
        if Path(local).absolute() == target:
            return target
        try:
            move = publish_video if name.endswith(VIDEO_SUFFIXES) else publish
            move(local, target, overwrite=overwrite)
        except FileExistsError:
            raise VideoExistsError.for_path(target, kept_at=local) from None
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write to a hidden temporary file, then rename it over ``folder/name``."""
        return write_file(self.final(name), text)

    def read_text(self, name: str) -> str | None:
        """The file's text, or None if there is no such file."""
        path = self.final(name)
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def exists(self, name: str) -> bool:
        """Whether ``folder/name`` exists."""
        return self.final(name).exists()

    def remove(self, name: str) -> None:
        """Delete ``folder/name`` if it exists."""
        self.final(name).unlink(missing_ok=True)

    def list_names(self) -> list[str]:
        """The files directly in the folder."""
        if not self.folder.is_dir():
            return []
        return sorted(path.name for path in self.folder.iterdir() if path.is_file())
