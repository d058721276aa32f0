"""What every tracker's logger shares: the step, a readable local file, the background thread.

:class:`VideoLogger` is the base of :class:`~rlvideo.loggers.wandb.WandbLogger`,
:class:`~rlvideo.loggers.tensorboard.TensorBoardLogger` and
:class:`~rlvideo.loggers.mlflow.MLflowLogger`; :mod:`rlvideo.loggers` says what each hands over,
at which step, and what happens to errors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from rlvideo._core.metadata import SavedPath, VideoMetadata, sidecar_path
from rlvideo.errors import InvalidArgumentError, StorageError
from rlvideo.io.manifest import read_sidecar
from rlvideo.storage import (
    LocalDestination,
    RemoteDestination,
    check_storage_options,
    is_url,
    local_file,
    open_destination,
)

__all__ = ["StepOf", "VideoLogger", "caption", "link_or_copy", "video_key"]

logger = logging.getLogger("rlvideo.loggers")

StepOf = Callable[[VideoMetadata], int]
"""``step(meta) -> int``: the training step to log a video at (default: ``meta.first_step``)."""


def caption(meta: VideoMetadata) -> str:
    """A one-line description of a video: env id, sub-env, episode, start step, return.

    Example:
        >>> meta = VideoMetadata(path="a.mp4", kind="episode", env_id="CartPole-v1", episode=3,
        ...                      steps=42, episode_return=42.0)
        >>> caption(meta)
        'CartPole-v1, episode 3, return 42'
        >>> caption(VideoMetadata(path="b.mp4", kind="step", first_step=500, env_index=1))
        'env 1, episode 0, from step 500'
    """
    parts = [meta.env_id] if meta.env_id else []
    if meta.env_index is not None:
        parts.append(f"env {meta.env_index}")
    parts.append(f"episode {meta.episode}")
    if meta.kind == "step":
        parts.append(f"from step {meta.first_step}")
    if meta.steps:
        parts.append(f"return {meta.episode_return:.6g}")
    if meta.cut_short:
        parts.append("cut short")
    return ", ".join(parts)


class VideoLogger:
    """What every tracker's logger shares: the step, a readable file, the background thread.

    A subclass implements :meth:`_bind` (what to log to, found in the caller's thread: the
    active run) and :meth:`_log` (the tracker's calls). Use a logger as ``on_video_saved``,
    call it on a saved path, and :meth:`close` it (or use ``with``) when you are done; the
    wrappers' ``close()`` calls :meth:`flush`.

    Args:
        step: ``step(meta) -> int``, the step to log each video at; ``meta.first_step`` when None.
        background: Do the tracker's work in a thread of the logger's own, off the env loop.
        storage_options: fsspec options, to download a video given as a URL with no local file.
    """

    def __init__(
        self,
        *,
        step: StepOf | None = None,
        background: bool = False,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        if step is not None and not callable(step):
            raise InvalidArgumentError(
                f"step must be a callable taking a video's metadata and returning its step, or "
                f"None; got {step!r}. Example: step=lambda meta: meta.first_step * n_envs"
            )
        self.step = step
        self.background = bool(background)
        self.storage_options = check_storage_options(storage_options)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._errors: list[BaseException] = []
        self._lock = threading.Lock()

    def __call__(
        self, where: SavedPath, meta: VideoMetadata | None = None, *, step: int | None = None
    ) -> None:
        """Log the video at ``where`` (a path, or a URL) at its step.

        Args:
            where: The finished video: what ``on_video_saved`` or ``save_video`` gave.
            meta: Its metadata; when None, read from its JSON sidecar if it has one.
            step: The step to log it at, instead of :meth:`step_of`.

        Raises:
            InvalidArgumentError: For a bad step, or no run to log to.
            StorageError: If there is no video at ``where``.

        The tracker's own errors are not raised here, in the env loop: each is logged when it
        happens and raised by :meth:`flush` (which the wrappers' ``close()`` calls).
        """
        local = local_file(where)
        if local is not None and not local.is_file():
            raise StorageError(f"no video to log at {where}")
        meta = _metadata_of(where) if meta is None else meta
        at = self.step_of(meta) if step is None else _check_step(step, "step")
        target = self._bind(meta, at)
        if not self.background:
            self._run(where, meta, at, target, None)
            return
        held = _hold(where)  # a staged upload is deleted when this returns: keep a link
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="rlvideo-logger", initializer=_yield_to_env
            )
        self._pending = [future for future in self._pending if not future.done()]
        self._pending.append(self._pool.submit(self._run, where, meta, at, target, held))

    def step_of(self, meta: VideoMetadata) -> int:
        """The step a video is logged at: ``step(meta)``, or ``meta.first_step``."""
        if self.step is None:
            return meta.first_step
        return _check_step(self.step(meta), "step(meta)")

    def flush(self) -> None:
        """Wait until every video handed over so far is logged, and flush the tracker.

        Raises:
            Exception: The first error the tracker raised since the last flush (each was
                logged when it happened; the videos are kept).
        """
        pending, self._pending = self._pending, []
        wait(pending)
        self._flush_tracker()
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        """:meth:`flush`, then stop the background thread (and close what the logger opened)."""
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            self._close_tracker()

    def __enter__(self) -> VideoLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what a tracker implements ---------------------------------------------------------------
    def _bind(self, meta: VideoMetadata, step: int) -> Any:
        """What to log to, found in the caller's thread (an active run is per thread)."""
        return None

    def _log(
        self, path: Path, where: SavedPath, meta: VideoMetadata, step: int, target: Any
    ) -> None:
        raise NotImplementedError

    def _flush_tracker(self) -> None:
        """Make what was logged durable (a writer's ``flush()``)."""

    def _close_tracker(self) -> None:
        """Close what the logger opened itself."""

    # -- internals -------------------------------------------------------------------------------
    def _run(
        self, where: SavedPath, meta: VideoMetadata, step: int, target: Any, held: Path | None
    ) -> None:
        try:
            if held is not None:
                self._log(held, where, meta, step, target)
            else:
                with _readable(where, self.storage_options) as path:
                    self._log(path, where, meta, step, target)
        except Exception as exc:
            logger.error(
                "%s could not log %s at step %d: %r; the video is kept",
                type(self).__name__, where, step, exc,
            )  # fmt: skip
            with self._lock:
                self._errors.append(exc)
        finally:
            if held is not None:
                shutil.rmtree(held.parent, ignore_errors=True)


def _check_step(step: object, what: str) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        try:
            import numpy as np

            if isinstance(step, np.integer) and step >= 0:
                return int(step)
        except ImportError:  # pragma: no cover - NumPy is a dependency
            pass
        raise InvalidArgumentError(f"{what} must be a step count (an int >= 0), got {step!r}")
    return step


def video_key(key: str, meta: VideoMetadata) -> str:
    """The key (tag) of a video: ``key``, or ``key/env_<k>`` for a sub-env's own video."""
    return key if meta.env_index is None else f"{key}/env_{meta.env_index}"


def _metadata_of(where: SavedPath) -> VideoMetadata:
    """The metadata in the video's JSON sidecar, if it has one; else only its path."""
    local = local_file(where)
    if local is not None and sidecar_path(local).is_file():
        fields = read_sidecar(LocalDestination(local.parent), local.name)  # a damaged one: warned
        if fields is not None:
            return VideoMetadata.from_dict({**fields, "path": str(where)})
    return VideoMetadata(path=str(where), kind="manual")


@contextlib.contextmanager
def _readable(where: SavedPath, storage_options: Mapping[str, Any] | None) -> Iterator[Path]:
    """A local file holding the video: itself, the wrapper's staged upload, or a download."""
    local = local_file(where)
    if local is not None:
        if not local.is_file():
            raise StorageError(f"no video to log at {where}")
        yield local
        return
    url = os.fspath(where)
    parent, _, name = url.rpartition("/")
    destination = open_destination(parent, storage_options)
    assert isinstance(destination, RemoteDestination)  # a URL that is not a local path
    folder = Path(tempfile.mkdtemp(prefix="rlvideo-download-"))
    try:
        yield destination.download(name, folder / name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _hold(where: SavedPath) -> Path | None:
    """A private link to a URL's staged upload (deleted after the callback), else None."""
    text = os.fspath(where)
    if isinstance(where, Path) or not is_url(text) or text.startswith("file://"):
        return None  # a local video: final, read where it is
    local = local_file(where)
    if local is None:
        return None  # no local file: the background thread downloads it
    folder = Path(tempfile.mkdtemp(prefix="rlvideo-handoff-"))
    return link_or_copy(local, folder / local.name)


def link_or_copy(source: Path, target: Path) -> Path:
    """``target`` as a hard link to ``source`` (no copy), or a copy across filesystems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


_NICENESS = 10  # how much lower the loggers' thread runs than the env's, where the OS allows
# (Linux): when the cores are busy, the GIFs and uploads wait, not the env loop


def _yield_to_env() -> None:
    """Lower the calling thread's scheduling priority (Linux threads are tasks of their own)."""
    with contextlib.suppress(AttributeError, OSError):  # other systems: same priority
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + _NICENESS)
