"""The wandb logger: each finished video goes to a wandb run as the file rlvideo wrote."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlvideo._core.metadata import SavedPath, VideoMetadata
from rlvideo._core.optional import import_optional
from rlvideo.errors import InvalidArgumentError
from rlvideo.loggers.base import StepOf, VideoLogger, caption, video_key

__all__ = ["WandbLogger"]


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
        key = video_key(self.key, meta)
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
