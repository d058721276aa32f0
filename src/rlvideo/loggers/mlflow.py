"""The MLflow logger: each finished video as an artifact of the run, named for its step."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlvideo._core.metadata import SavedPath, VideoMetadata
from rlvideo._core.optional import import_optional
from rlvideo.errors import InvalidArgumentError
from rlvideo.loggers.base import StepOf, VideoLogger, link_or_copy

__all__ = ["MLflowLogger"]


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
            link_or_copy(path, folder / video)
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
