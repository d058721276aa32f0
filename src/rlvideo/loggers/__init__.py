"""Hand finished videos to the trackers people look at: wandb, TensorBoard and MLflow.

Each logger is an ``on_video_saved`` callable, ``logger(where, meta)``: pass it to any wrapper
(:class:`rlvideo.RecordVideo`, :class:`rlvideo.wrappers.vector.RecordVideo`,
:class:`rlvideo.wrappers.sb3.VecVideoRecorder`, :class:`rlvideo.wrappers.sb3.EvalVideoCallback`, the PettingZoo
wrapper), or call it on a path that :func:`rlvideo.save_video` returned (``logger(path)``, or
``logger(path, step=...)``). Each is built with no arguments when the tracker has an active run
(``wandb.init()``, ``mlflow.start_run()``) or, for TensorBoard, a default log dir, and imports
its tracker only then, with an error naming the extra (``pip install "rlvideo[wandb]"``,
``rlvideo[tensorboard]``, ``rlvideo[mlflow]``). What each hands over:

- :class:`WandbLogger`: the finished file itself (``wandb.Video(path, format=...)``: no moviepy,
  no re-encode), with a caption (env id, episode, return) and the metadata;
- :class:`TensorBoardLogger`: a GIF image summary, which TensorBoard's Images tab plays, encoded
  by rlvideo within size and frame limits (:func:`rlvideo.io._preview.gif_preview`), written
  through a ``torch.utils.tensorboard.SummaryWriter``, a tensorboardX writer, or to a log dir
  with no torch at all; the video's path is in the summary's description and in a text summary;
- :class:`MLflowLogger`: the file as an artifact of the run under ``videos/``, named for its
  step (``step_00000042.mp4``, which MLflow's proposed video view reads), with the metadata as
  a JSON artifact beside it and run tags.

**The step**: each video is logged at the step it *started* at, ``meta.first_step``, or
``step(meta)`` for a ``step=`` callable (an SB3 training env wrapped in ``VecVideoRecorder``
counts steps of the vector env: ``step=lambda meta: meta.first_step * n_envs`` gives
``model.num_timesteps``), or an explicit ``logger(path, meta, step=...)``; never the step at
which its encoding happened to finish. Videos that finish out of order land at their own steps.

**Object stores**: with ``video_folder="s3://..."``, ``where`` is the video's URL. The wrappers
keep the uploaded local file until ``on_video_saved`` returns, and the loggers read that file
(:func:`rlvideo.storage.local_file`); a URL with no local file (one ``save_video`` returned) is
downloaded, with the logger's ``storage_options``. Trackers get the URL in the metadata.

**Off the env loop**: a logger runs once per video, when it is final, never per frame. The
TensorBoard and MLflow loggers do their work (the GIF, an artifact upload) in one background
thread of their own (``background=True``; at a lower priority on Linux, so on busy cores it
waits, not the env); :meth:`VideoLogger.flush` waits for it, and the wrappers' ``close()`` calls
it, so after ``env.close()`` everything is written. wandb copies the file and uploads it in its
own process, so :class:`WandbLogger` works in the caller's thread.

**Errors** lose no video: the video is saved before any hand-off. A tracker that raises
(a server down, a run that is gone) does not interrupt the env loop: the error is logged (logger
``rlvideo.loggers``) when it happens, and raised by :meth:`VideoLogger.flush`, so from the
wrapper's ``close()``. Only a misuse (no active run, a bad step) raises at once, and the
wrapper raises it from its next call, as for any ``on_video_saved`` that raises.

Example:
    >>> import numpy as np
    >>> from rlvideo import save_video
    >>> from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    >>> board = TensorBoardLogger("runs/demo")
    >>> for path in save_video(np.zeros((30, 64, 64, 3), np.uint8), "videos", fps=10):
    ...     board(path, step=1000)
    >>> board.close()
    >>> events = EventAccumulator("runs/demo")
    >>> _ = events.Reload()
    >>> [(image.step, image.width, image.encoded_image_string[:6]) for image in events.Images("videos")]
    [(1000, 64, b'GIF89a')]
"""  # noqa: E501 (the doctest's line)

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from rlvideo._core.metadata import SavedPath, VideoMetadata, sidecar_path
from rlvideo._core.optional import import_optional
from rlvideo.errors import InvalidArgumentError, StorageError
from rlvideo.io._preview import MAX_FPS, MAX_FRAMES, MAX_SIZE, GifPreview, check_limits, gif_preview
from rlvideo.io.manifest import read_sidecar
from rlvideo.storage import (
    LocalDestination,
    RemoteDestination,
    check_storage_options,
    is_url,
    local_file,
    open_destination,
)

__all__ = ["MLflowLogger", "StepOf", "TensorBoardLogger", "VideoLogger", "WandbLogger", "caption"]

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


# -- wandb ---------------------------------------------------------------------------------------
class WandbLogger(VideoLogger):
    """Log each video to a wandb run, as the file rlvideo wrote: ``monitor_gym`` for rlvideo.

    Each video is one history row: ``{key: wandb.Video(path, caption=..., format=...),
    key + "_metadata": meta.to_dict(), step_metric: step}``. wandb's own step only grows, so a
    video logged at an earlier step would be dropped; the video's step goes in ``step_metric``
    instead (``wandb.define_metric(key, step_metric=...)``: the x-axis of its panel), so videos
    out of order keep their steps. A sub-env's video (``per_env=True``) goes under
    ``key/env_<k>``.

    Args:
        run: The run to log to; the active run (``wandb.run``) at each video when None.
        key: The history key.
        step: ``step(meta) -> int``; ``meta.first_step`` when None.
        step_metric: The key the step goes in (``"global_step"``, the x-axis most RL code and
            wandb's TensorBoard sync use); None passes it as wandb's own ``step=`` instead.
        background: Log from a thread of the logger's own (default: in the caller's thread;
            ``wandb.Video`` copies the file into the run, wandb uploads it in its own process).
        storage_options: fsspec options, to download videos given as URLs with no local file.

    Raises:
        MissingDependencyError: If wandb is not installed (``pip install "rlvideo[wandb]"``).

    Example:
        >>> import numpy as np
        >>> import wandb
        >>> from rlvideo import save_video
        >>> run = wandb.init(mode="offline", settings=wandb.Settings(silent=True))
        >>> log = WandbLogger()
        >>> for path in save_video(np.zeros((10, 32, 32, 3), np.uint8), "videos", fps=10):
        ...     log(path, step=500)
        >>> run.finish()
    """

    def __init__(
        self,
        run: Any = None,
        *,
        key: str = "videos",
        step: StepOf | None = None,
        step_metric: str | None = "global_step",
        background: bool = False,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(step=step, background=background, storage_options=storage_options)
        self._wandb = import_optional("wandb", "wandb", feature="rlvideo.loggers.WandbLogger")
        self.run = run
        self.key = key
        self.step_metric = step_metric
        self._defined: set[tuple[int, str]] = set()

    def _bind(self, meta: VideoMetadata, step: int) -> Any:
        run = self.run if self.run is not None else self._wandb.run
        if run is None:
            raise InvalidArgumentError(
                "WandbLogger has no run to log to: call wandb.init() before the first video is "
                "saved, or pass WandbLogger(run=...)"
            )
        return run

    def _log(
        self, path: Path, where: SavedPath, meta: VideoMetadata, step: int, target: Any
    ) -> None:
        key = _key(self.key, meta)
        video = self._wandb.Video(str(path), caption=caption(meta), format=path.suffix[1:].lower())
        data: dict[str, Any] = {
            key: video,
            f"{key}_metadata": {**meta.to_dict(), "path": str(where)},
        }
        if self.step_metric is None:
            target.log(data, step=step)
            return
        if (id(target), key) not in self._defined:
            target.define_metric(key, step_metric=self.step_metric)
            target.define_metric(f"{key}_metadata.*", step_metric=self.step_metric)
            self._defined.add((id(target), key))
        data[self.step_metric] = step
        target.log(data)


# -- TensorBoard ---------------------------------------------------------------------------------
class TensorBoardLogger(VideoLogger):
    """Log each video to TensorBoard as a GIF that its Images tab plays, at the video's step.

    TensorBoard has no video view; its Images tab plays GIFs. rlvideo encodes each GIF itself
    (no moviepy), scaled down to ``max_size`` on its longer side and to at most ``max_frames``
    frames and ``max_fps`` (frames are skipped evenly, so the GIF lasts as long as the video),
    reading the video one frame at a time (memory stays flat). The image summary's tag is
    ``tag`` (``tag/env_<k>`` for a sub-env's video); its description, and a text summary under
    ``<tag>/path`` at the same step, give the video's path or URL.

    Args:
        writer: Where to write: a ``torch.utils.tensorboard.SummaryWriter``, a tensorboardX
            ``SummaryWriter`` (or a file writer with ``add_summary``), or a log dir, written by
            rlvideo with the ``tensorboard`` package and no torch. None: a new log dir,
            ``runs/<date>_<host>`` (what ``SummaryWriter()`` picks).
        tag: The image summary's tag.
        step: ``step(meta) -> int``; ``meta.first_step`` when None.
        max_size: The GIF's longer side at most, in pixels (default 256).
        max_frames: The GIF's frames at most (default 300).
        max_fps: The GIF's frame rate at most (default 50).
        background: Encode and write in a thread of the logger's own (default).
        storage_options: fsspec options, to download videos given as URLs with no local file.

    Raises:
        MissingDependencyError: If the tensorboard package (for a log dir) is not installed
            (``pip install "rlvideo[tensorboard]"``).
        InvalidArgumentError: For a writer that is none of these, or a bad limit.

    Example:
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> writer = SummaryWriter("runs/torch")
        >>> board = TensorBoardLogger(writer, max_size=128)  # or TensorBoardLogger("runs/ppo")
        >>> board.log_dir
        'runs/torch'
        >>> writer.close()
    """

    def __init__(
        self,
        writer: Any = None,
        /,
        *,
        tag: str = "videos",
        step: StepOf | None = None,
        max_size: int = MAX_SIZE,
        max_frames: int = MAX_FRAMES,
        max_fps: float = MAX_FPS,
        background: bool = True,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(step=step, background=background, storage_options=storage_options)
        check_limits(max_size=max_size, max_frames=max_frames, max_fps=max_fps)
        self.tag, self.max_size, self.max_frames, self.max_fps = tag, max_size, max_frames, max_fps
        self.writer = writer
        self._events: Any = None  # the event file rlvideo writes itself, for a log dir
        self._unflushed = False  # a user's writer got summaries since the last flush
        if writer is None or isinstance(writer, (str, os.PathLike)):
            self._protos = _protos("tensorboard")
            if writer is None:
                stamp = datetime.now().strftime("%b%d_%H-%M-%S")
                writer = os.path.join("runs", f"{stamp}_{socket.gethostname()}")
            self.log_dir = os.fspath(writer)
            module = import_optional(
                "tensorboard.summary.writer.event_file_writer", "tensorboard",
                feature="rlvideo.loggers.TensorBoardLogger",
            )  # fmt: skip
            self._events = module.EventFileWriter(self.log_dir, filename_suffix=".rlvideo")
            _close_at_exit(self)
        elif callable(getattr(writer, "_get_file_writer", None)) or hasattr(writer, "add_summary"):
            tensorboardx = type(writer).__module__.startswith("tensorboardX")
            self._protos = _protos("tensorboardX" if tensorboardx else "tensorboard")
            get_logdir = getattr(writer, "get_logdir", None)
            self.log_dir = str(
                get_logdir() if callable(get_logdir) else getattr(writer, "logdir", "")
            )
        else:
            raise InvalidArgumentError(
                "TensorBoardLogger takes a SummaryWriter (torch.utils.tensorboard or "
                f"tensorboardX), a log dir, or None; got {type(writer).__name__}"
            )

    def preview(
        self, path: str | os.PathLike[str], meta: VideoMetadata | None = None
    ) -> GifPreview:
        """The GIF this logger makes of the video at ``path``, within its limits."""
        return gif_preview(
            path, max_size=self.max_size, max_frames=self.max_frames, max_fps=self.max_fps,
            frames=meta.frames or None if meta is not None else None,
        )  # fmt: skip

    def _log(
        self, path: Path, where: SavedPath, meta: VideoMetadata, step: int, target: Any
    ) -> None:
        gif = self.preview(path, meta)
        tag = _key(self.tag, meta)
        video = f"{meta.frames} frames at {meta.fps:g} fps; " if meta.frames else ""
        text = (
            f"{caption(meta)}: `{where}` ({video}this GIF: {gif.frames} frames, "
            f"{gif.width}x{gif.height}, {gif.fps:g} fps)"
        )
        pb = self._protos
        image = pb.summary.Summary.Value(
            tag=tag,
            metadata=pb.summary.SummaryMetadata(
                display_name=tag,
                summary_description=text,
                plugin_data=pb.summary.SummaryMetadata.PluginData(plugin_name="images"),
            ),
            image=pb.summary.Summary.Image(
                height=gif.height, width=gif.width, colorspace=3, encoded_image_string=gif.data
            ),
        )
        path_text = pb.summary.Summary.Value(
            tag=f"{tag}/path",
            metadata=pb.summary.SummaryMetadata(
                plugin_data=pb.summary.SummaryMetadata.PluginData(plugin_name="text")
            ),
            tensor=pb.tensor.TensorProto(
                dtype=pb.types.DT_STRING, string_val=[text.encode()],
                tensor_shape=pb.shape.TensorShapeProto(dim=[pb.shape.TensorShapeProto.Dim(size=1)]),
            ),
        )  # fmt: skip
        summary = pb.summary.Summary(value=[image, path_text])
        if self._events is not None:
            self._events.add_event(
                pb.event.Event(wall_time=time.time(), step=step, summary=summary)
            )
        else:
            self._file_writer().add_summary(summary, step, time.time())
            self._unflushed = True

    def _file_writer(self) -> Any:
        get = getattr(self.writer, "_get_file_writer", None)
        return get() if callable(get) else self.writer

    def _flush_tracker(self) -> None:
        if self._events is not None:
            self._events.flush()
        elif self._unflushed:  # never after: a closed torch writer would open a new file
            self._unflushed = False
            self._file_writer().flush()

    def _close_tracker(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            events.close()


# -- MLflow --------------------------------------------------------------------------------------
class MLflowLogger(VideoLogger):
    """Log each video as an artifact of an MLflow run, named for its step.

    A video is logged as ``<artifact_path>/step_00000042.mp4`` (``step_00000042_env_1.mp4``
    for a sub-env's video, ``..._2.mp4`` for a second video at the same step), the name MLflow's
    proposed video view reads its step from, with its metadata as
    ``<artifact_path>/step_00000042.json`` beside it (the sidecar's fields, ``step`` and
    ``video``: the source path or URL); the run gets the tags ``rlvideo.version`` and
    ``rlvideo.env_id``.

    Args:
        run_id: The run to log to; when None, the run active (``mlflow.start_run()``) in the
            caller's thread at each video, else the one active when the logger was made.
        artifact_path: The artifact folder (default ``"videos"``).
        step: ``step(meta) -> int``; ``meta.first_step`` when None.
        tracking_uri: The tracking server or store; ``mlflow.get_tracking_uri()`` when None.
        background: Log from a thread of the logger's own (default: an upload can take long).
        storage_options: fsspec options, to download videos given as URLs with no local file.

    Raises:
        MissingDependencyError: If MLflow is not installed (``pip install "rlvideo[mlflow]"``).

    Example:
        >>> import mlflow
        >>> import numpy as np
        >>> from rlvideo import save_video
        >>> mlflow.set_tracking_uri("sqlite:///mlflow.db")
        >>> with mlflow.start_run() as run, MLflowLogger() as log:
        ...     for path in save_video(np.zeros((10, 32, 32, 3), np.uint8), "videos", fps=10):
        ...         log(path, step=42)
        >>> client = mlflow.MlflowClient()
        >>> [f.path for f in client.list_artifacts(run.info.run_id, "videos")]
        ['videos/step_00000042.json', 'videos/step_00000042.mp4']
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        artifact_path: str = "videos",
        step: StepOf | None = None,
        tracking_uri: str | None = None,
        background: bool = True,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(step=step, background=background, storage_options=storage_options)
        self._mlflow = import_optional("mlflow", "mlflow", feature="rlvideo.loggers.MLflowLogger")
        active = self._mlflow.active_run()
        self.run_id = run_id
        self.artifact_path = artifact_path.strip("/")
        self.tracking_uri = tracking_uri
        self._default_run = active.info.run_id if active is not None else None
        self._names: set[tuple[str, str]] = set()
        self._clients: dict[str, Any] = {}
        self._tagged: set[tuple[str, str]] = set()

    def _bind(self, meta: VideoMetadata, step: int) -> Any:
        run_id = self.run_id
        if run_id is None:
            active = self._mlflow.active_run()
            run_id = active.info.run_id if active is not None else self._default_run
        if run_id is None:
            raise InvalidArgumentError(
                "MLflowLogger has no run to log to: call mlflow.start_run() before the first "
                "video is saved, or pass MLflowLogger(run_id=...)"
            )
        stem = f"step_{step:08d}" + ("" if meta.env_index is None else f"_env_{meta.env_index}")
        name, count = stem, 1
        while (run_id, name) in self._names:  # a second video at the same step
            count += 1
            name = f"{stem}_{count}"
        self._names.add((run_id, name))
        return run_id, self.tracking_uri or self._mlflow.get_tracking_uri(), name

    def _log(
        self, path: Path, where: SavedPath, meta: VideoMetadata, step: int, target: Any
    ) -> None:
        run_id, uri, name = target
        client = self._clients.get(uri)
        if client is None:
            client = self._clients[uri] = self._mlflow.MlflowClient(tracking_uri=uri)
        video = f"{name}{path.suffix}"
        folder = Path(tempfile.mkdtemp(prefix="rlvideo-mlflow-"))
        try:
            _link(path, folder / video)
            client.log_artifact(run_id, str(folder / video), self.artifact_path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        details = {**meta.to_dict(), "step": step, "video": str(where)}
        client.log_dict(run_id, details, f"{self.artifact_path}/{name}.json")
        for tag, value in (
            ("rlvideo.version", meta.rlvideo_version),
            ("rlvideo.env_id", meta.env_id),
        ):
            if value and (run_id, f"{tag}={value}") not in self._tagged:
                client.set_tag(run_id, tag, value)
                self._tagged.add((run_id, f"{tag}={value}"))


# -- helpers -------------------------------------------------------------------------------------
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


def _key(key: str, meta: VideoMetadata) -> str:
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
    return _link(local, folder / local.name)


def _link(source: Path, target: Path) -> Path:
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


def _protos(package: str) -> SimpleNamespace:
    """The TensorBoard protobuf modules, from ``tensorboard`` or from ``tensorboardX``."""
    extra, feature = "tensorboard", "rlvideo.loggers.TensorBoardLogger"
    base = "tensorboardX.proto" if package == "tensorboardX" else "tensorboard.compat.proto"
    modules: dict[str, ModuleType] = {
        name: import_optional(f"{base}.{module}", extra, feature=feature)
        for name, module in (
            ("summary", "summary_pb2"), ("event", "event_pb2"), ("tensor", "tensor_pb2"),
            ("shape", "tensor_shape_pb2"), ("types", "types_pb2"),
        )
    }  # fmt: skip
    return SimpleNamespace(**modules)


def _close_at_exit(board: TensorBoardLogger) -> None:
    """Close a log dir's event file at exit, after the logger's thread finished its videos."""
    ref = weakref.ref(board)

    def close() -> None:
        alive = ref()
        if alive is not None:
            with contextlib.suppress(Exception):
                alive.close()

    atexit.register(close)
