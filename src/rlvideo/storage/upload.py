"""Publishing finished files: :class:`Uploader` (in the background for a remote destination).

On a local destination a file is published at once (a rename at most); on a remote one it is
uploaded by one background thread, in the order submitted, so the recorder under the wrappers
never waits for the network. :func:`publish_all` publishes a list and waits (``save_video``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from rlvideo._core.metadata import SavedPath
from rlvideo.errors import StorageError
from rlvideo.storage.destination import Destination

__all__ = ["Uploader", "publish_all"]

logger = logging.getLogger("rlvideo.storage")


class Uploader:
    """Moves finished files to their :class:`Destination`: the one way rlvideo publishes them.

    On a local destination a file is published at once (a rename at most) and its future is
    done when :meth:`submit` returns. On a remote one it is uploaded by one background thread,
    in the order submitted, so a caller that must not wait (the recorder under the wrappers)
    collects the futures later, and ``save_video`` waits for them (:func:`publish_all`). A
    file's sidecar, when given, is written after the file.

    Args:
        destination: Where the files go.
    """

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self._pool: ThreadPoolExecutor | None = None

    def submit(
        self,
        local: Path,
        *,
        overwrite: bool | None,
        sidecar: tuple[str, str] | None = None,
        keep_local: bool = False,
    ) -> Future[SavedPath]:
        """Publish ``local`` under its own name; ``sidecar`` is ``(name, text)`` to write after.

        The future holds where the file ended up, or the :class:`StorageError` (or
        :class:`VideoExistsError`) that kept it from getting there; the local file is then kept.
        ``keep_local`` keeps an uploaded file too (see :meth:`Destination.publish`).
        """
        if not self.destination.remote:
            done: Future[SavedPath] = Future()
            try:
                done.set_result(self._publish(local, overwrite, sidecar, keep_local))
            except Exception as exc:
                done.set_exception(exc)
            return done
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rlvideo-upload")
        return self._pool.submit(self._publish, local, overwrite, sidecar, keep_local)

    def close(self) -> None:
        """Wait for every upload and stop the upload thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _publish(
        self, local: Path, overwrite: bool | None, sidecar: tuple[str, str] | None, keep_local: bool
    ) -> SavedPath:
        where = self.destination.publish(
            local, local.name, overwrite=overwrite, keep_local=keep_local
        )
        if sidecar is not None:
            self.destination.write_text(*sidecar)
        return where


def publish_all(
    destination: Destination, files: list[Path], *, overwrite: bool | None
) -> list[SavedPath]:
    """Publish every file, waiting; raise the first failure once all were tried.

    A failed upload does not stop the others: every file that can reach the destination does,
    and the ones that cannot stay in the local staging folder, named in the error.

    Raises:
        StorageError: If a file could not be published (one error names it; several: a count).
    """
    uploader = Uploader(destination)
    try:
        futures = [uploader.submit(path, overwrite=overwrite) for path in files]
        saved: list[SavedPath] = []
        errors: list[StorageError] = []
        for future in futures:
            try:
                saved.append(future.result())
            except StorageError as exc:  # VideoExistsError too
                logger.error("%s", exc)
                errors.append(exc)
    finally:
        uploader.close()
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise StorageError(
            f"{len(errors)} of {len(files)} videos could not be uploaded; the first: {errors[0]}"
        ) from errors[0]
    return saved
