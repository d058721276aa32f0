"""Record RLlib's env runners: videos encoded where the env runs, only their addresses travel.

Needs Ray's RLlib: ``pip install "rlvideo[rllib]"`` (Ray 2.60's new API stack).

:func:`video_callbacks` returns an ``RLlibCallback`` class for ``config.callbacks(...)``. On
each env runner it records the runner's sub-envs as :class:`rlvideo.RecordVideo` records an env
(the same triggers, counting, options, overlays, tracks, ``keep_if`` and sidecars), encodes
there, and publishes each video to ``video_folder``: a folder (one machine, or a file system
every node shares) or an fsspec URL (``s3://bucket/videos``, with ``storage_options``). An
episode that RLlib cuts into chunks between ``sample()`` calls is one video.

Only a small record per finished video reaches the driver, in the iteration's results:
``result["env_runners"]["rlvideo"]["videos"]`` (and ``result["evaluation"]["env_runners"]...``
for evaluation runners), a list of dicts holding the video's metadata fields
(:class:`~rlvideo._core.metadata.VideoMetadata`), ``url``, ``worker`` and ``evaluation``:
:func:`videos` reads them. :func:`hand_off` gives them to a tracker's logger
(:mod:`rlvideo.loggers`) at the training iteration, and :class:`VideoLoggerCallback` does that
from Ray Tune.

**Names.** Runner ``w``'s sub-env ``k`` writes ``{name_prefix}-w{w}-env-{k}-episode-{i}.mp4``
(``-step-{s}`` for step triggers; ``i`` and ``s`` count that sub-env's episodes and steps);
evaluation runners write ``{name_prefix}-eval-w{w}-env-{k}-...``. Worker 0 is the runner in the
Algorithm's process (it samples when ``num_env_runners=0``, and runs evaluation by default).
A runner that RLlib restarts after a failure keeps its worker index and counts from 0 again:
its videos replace the earlier runner's of the same names (as a re-run does).

Example::

    from ray.rllib.algorithms.ppo import PPOConfig
    from rlvideo.rllib import finish, video_callbacks, videos

    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={"render_mode": "rgb_array"})
        .env_runners(num_env_runners=2)
        .callbacks(video_callbacks("videos", episode_trigger=lambda e: e % 5 == 0))
    )
    algo = config.build_algo()
    for _ in range(3):
        result = algo.train()
        print(videos(result))  # the videos finished in this iteration
    finish(algo)  # the videos still in progress: saved, their records returned
    algo.stop()
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rlvideo._core.clips import resolve_triggers
from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.naming import check_name_prefix
from rlvideo._core.optional import import_optional
from rlvideo._core.options import recorder_options
from rlvideo._core.replay import check_replay_options
from rlvideo._core.spec import WriterSpec
from rlvideo.errors import InvalidArgumentError
from rlvideo.io.manifest import merge_manifest
from rlvideo.storage import resolve_location
from rlvideo.wrappers._rllib import RunnerSettings, RunnerVideos, close_runner_videos
from rlvideo.wrappers.gymnasium import check_wrapper_video_length

import_optional("ray.rllib", "rllib", feature="rlvideo.rllib")

from ray.rllib.callbacks.callbacks import RLlibCallback  # noqa: E402 (after the check)
from ray.tune.logger import LoggerCallback  # noqa: E402

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from rlvideo._core.options import RecordingOptions
    from rlvideo.loggers.base import VideoLogger

__all__ = ["METRIC", "VideoLoggerCallback", "finish", "hand_off", "video_callbacks", "videos"]

logger = logging.getLogger("rlvideo.rllib")

_HANDED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
"""The URLs each logger was given by :func:`hand_off`: each video is handed over once."""

METRIC = ("rlvideo", "videos")
"""Where the runners log each finished video's record in RLlib's metrics (under ``env_runners``)."""


def video_callbacks(
    video_folder: str,
    episode_trigger: Callable[[int], bool] | None = None,
    step_trigger: Callable[[int], bool] | None = None,
    video_length: int = 0,
    name_prefix: str = "rl-video",
    env_runners: Sequence[int] | None = None,
    **options: Unpack[RecordingOptions],
) -> type[RLlibCallback]:
    """An ``RLlibCallback`` class that records videos on RLlib's env runners.

    Pass it to ``config.callbacks(...)`` (with your own callbacks: ``[Mine, video_callbacks(...)]``)
    or, to record only evaluation, to ``config.evaluation(evaluation_config={"callbacks": ...})``.

    Args:
        video_folder: Where every runner publishes its videos: a folder (shared by every node)
            or an fsspec URL such as ``s3://bucket/videos`` (see :mod:`rlvideo.storage`).
        episode_trigger: ``episode -> bool`` on each sub-env's episodes, counted from 0.
        step_trigger: ``step -> bool`` on each sub-env's steps. With neither trigger, episodes
            follow :func:`rlvideo.capped_cubic_video_schedule`, as in Gymnasium.
        video_length: 0 records whole episodes; L > 0 records L frames.
        name_prefix: Start of every file name (see the module's naming).
        env_runners: The worker indices to record on, e.g. ``[1]``; None (default): all.
        **options: rlvideo's recording options, as :class:`rlvideo.RecordVideo` takes them
            (:class:`rlvideo._core.options.RecordingOptions`). Callables (``keep_if``,
            ``on_video_saved``) run on the runners: hand videos to a tracker on the driver with
            :func:`hand_off` instead.

    Returns:
        The class; RLlib makes one instance per env runner (and one on the driver, unused).

    Raises:
        InvalidArgumentError: For a bad argument, here rather than on the runners.

    The sub-envs must render ``rgb_array`` frames:
    ``config.environment("CartPole-v1", env_config={"render_mode": "rgb_array"})``.
    """
    settings = _settings(
        video_folder, episode_trigger, step_trigger, video_length, name_prefix, env_runners,
        dict(options),
    )  # fmt: skip

    class VideoCallbacks(_VideoCallbacks):
        _settings = settings

    VideoCallbacks.__qualname__ = VideoCallbacks.__name__ = "VideoCallbacks"
    return VideoCallbacks


class _VideoCallbacks(RLlibCallback):
    """RLlib's hooks, handed to the runner's :class:`RunnerVideos`; the settings are the class's."""

    _settings: RunnerSettings

    def __init__(self) -> None:
        super().__init__()
        self._videos = RunnerVideos(self._settings)
        self._errors = 0  # errors logged so far: the first with its traceback

    def on_environment_created(self, *, env_runner: Any, env: Any, **kwargs: Any) -> None:
        self._videos.environment_created(env_runner, env)  # a bad setup fails here, at once

    def on_episode_created(self, *, env_runner: Any = None, env_index: int, **kwargs: Any) -> None:
        if self._videos.active:
            self._guard(self._videos.episode_created, env_runner, env_index)

    def on_episode_start(self, *, episode: Any, env_index: int, **kwargs: Any) -> None:
        if self._videos.active:
            self._guard(self._videos.episode_start, episode, env_index)

    def on_episode_step(self, *, episode: Any, env_index: int, **kwargs: Any) -> None:
        if self._videos.active:
            self._guard(self._videos.episode_step, episode, env_index)

    def on_episode_end(self, *, env_index: int, **kwargs: Any) -> None:
        if self._videos.active:
            self._guard(self._videos.episode_end, env_index)

    def on_sample_end(self, *, metrics_logger: Any = None, **kwargs: Any) -> None:
        if not self._videos.active or metrics_logger is None:
            return
        for record in self._guard(self._videos.sample_end) or ():
            metrics_logger.log_value(METRIC, record, reduce="item_series")

    def _guard(self, hook: Callable[..., Any], *args: Any) -> Any:
        """Run ``hook``; an error (a full disk, a failed upload) is logged, not raised.

        The training goes on, and so does the recording.
        """
        try:
            return hook(*args)
        except Exception as exc:
            self._errors += 1
            logger.error(
                "rlvideo: recording on env runner %d failed (%s, error %d); training goes on",
                self._videos.worker_index, exc, self._errors,
                exc_info=self._errors == 1,
            )  # fmt: skip
            return None


# -- on the driver --------------------------------------------------------------------------------
def videos(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The records of the videos an iteration's ``result`` reports: training's, then evaluation's.

    Example:
        >>> result = {"env_runners": {"rlvideo": {"videos": [{"url": "v/a.mp4"}]}},
        ...           "evaluation": {"env_runners": {"rlvideo": {"videos": [{"url": "v/b.mp4"}]}}}}
        >>> [record["url"] for record in videos(result)]
        ['v/a.mp4', 'v/b.mp4']
        >>> videos({"env_runners": {}})
        []

        An iteration that finished one video holds its record, not a list of one (RLlib's
        ``MetricsLogger.compile`` does that to every list of one item):

        >>> videos({"env_runners": {"rlvideo": {"videos": {"url": "v/c.mp4"}}}})
        [{'url': 'v/c.mp4'}]
    """
    found: list[dict[str, Any]] = []
    for runners in (result.get("env_runners"), (result.get("evaluation") or {}).get("env_runners")):
        items = _at(runners, METRIC)
        if isinstance(items, Mapping):  # RLlib's compile() turns a list of one into its item
            items = [items]
        if isinstance(items, Iterable) and not isinstance(items, (str, bytes)):
            found.extend(
                dict(item) for item in items if isinstance(item, Mapping) and "url" in item
            )
    return found


def hand_off(
    result: Mapping[str, Any], video_logger: VideoLogger, *, step: int | None = None
) -> list[dict[str, Any]]:
    """Give the videos of an iteration's ``result`` to a tracker's logger, at the iteration.

    Args:
        result: What ``algo.train()`` returned (or Tune's result).
        video_logger: A logger of :mod:`rlvideo.loggers` (``WandbLogger()``,
            ``TensorBoardLogger(log_dir)``, ``MLflowLogger()``).
        step: The step to log them at; default ``result["training_iteration"]``.

    Returns:
        The records handed off. A video is handed to a logger once: RLlib reports an
        evaluation video again in the next iteration when that one does not evaluate
        (``evaluation_interval > 1``), and those repeats are skipped.
    """
    handed = _HANDED.setdefault(video_logger, set())
    found = []
    for record in videos(result):
        if record["url"] not in handed:  # RLlib may report an evaluation video again
            handed.add(record["url"])
            found.append(record)
    at = result.get("training_iteration", 0) if step is None else step
    for record in found:
        video_logger(record["url"], VideoMetadata.from_dict(dict(record)), step=int(at))
    return found


class VideoLoggerCallback(LoggerCallback):
    """A Ray Tune callback that hands each trial's videos to a tracker at its iteration.

    Example::

        from ray import tune
        from rlvideo.loggers import TensorBoardLogger
        tuner = tune.Tuner("PPO", param_space=config,
                           run_config=tune.RunConfig(callbacks=[
                               VideoLoggerCallback(TensorBoardLogger("runs/ppo"))]))

    Args:
        video_logger: A logger of :mod:`rlvideo.loggers`; flushed when each trial ends and
            closed when the experiment ends.
    """

    def __init__(self, video_logger: VideoLogger) -> None:
        super().__init__()
        self.video_logger: VideoLogger | None = video_logger

    def log_trial_result(self, iteration: int, trial: Any, result: dict[str, Any]) -> None:
        """Hand the result's videos over, at ``result["training_iteration"]``."""
        hand_off(result, self._logger())

    def log_trial_end(self, trial: Any, failed: bool = False) -> None:
        """Wait until the trial's videos are logged."""
        self._logger().flush()

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        """Close the logger."""
        self._logger().close()

    def __getstate__(self) -> dict[str, Any]:
        """The callback without its logger: Tune pickles its callbacks with the experiment.

        A logger holds threads and open files; a copy (``Tuner.restore``) has none, and says so
        when it is used.
        """
        state = dict(self.__dict__)
        state["video_logger"] = None
        return state

    def _logger(self) -> VideoLogger:
        if self.video_logger is None:
            raise InvalidArgumentError(
                "this VideoLoggerCallback is a copy Tune restored, without its logger (loggers "
                "hold threads and open files): give the restored run a new "
                "VideoLoggerCallback(logger) in its run_config's callbacks"
            )
        return self.video_logger


def finish(algo: Any) -> list[dict[str, Any]]:
    """Finish the videos in progress on every env runner, training's and evaluation's.

    Call it before ``algo.stop()`` to get their records; ``algo.stop()`` alone saves them too.

    With ``metadata=True``, ``video_folder/manifest.json`` then lists every video
    (:func:`rlvideo.distributed.merge_manifest`), for ``rlvideo gallery``.

    Returns:
        The records of the videos finished since the runners' last ``sample()``.
    """
    records: list[dict[str, Any]] = []
    folders: dict[str, RunnerSettings] = {}
    for group in (getattr(algo, "env_runner_group", None),
                  getattr(algo, "eval_env_runner_group", None)):  # fmt: skip
        if group is None:
            continue
        for found in group.foreach_env_runner(close_runner_videos, local_env_runner=True):
            records.extend(found or ())
    for config in (algo.config, getattr(algo, "evaluation_config", None)):
        for settings in _settings_in(getattr(config, "callbacks_class", None)):
            folders[settings.video_folder] = settings
    for folder, settings in folders.items():
        if settings.options.get("metadata"):
            merge_manifest(folder, storage_options=settings.options.get("storage_options"))
    return records


# -- internals ------------------------------------------------------------------------------------
def _settings(
    video_folder: str,
    episode_trigger: Callable[[int], bool] | None,
    step_trigger: Callable[[int], bool] | None,
    video_length: int,
    name_prefix: str,
    env_runners: Sequence[int] | None,
    options: dict[str, Any],
) -> RunnerSettings:
    """The arguments checked, as every runner will use them."""
    check_name_prefix(name_prefix)
    length = check_wrapper_video_length(video_length) or float("inf")
    for name, trigger in (("episode_trigger", episode_trigger), ("step_trigger", step_trigger)):
        if trigger is not None and not callable(trigger):
            raise InvalidArgumentError(f"{name} must be a callable (int -> bool) or None")
    episode_trigger, step_trigger = resolve_triggers(episode_trigger, step_trigger)
    runners = None
    if env_runners is not None:
        if isinstance(env_runners, (str, bytes)) or not all(
            isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in env_runners
        ):
            raise InvalidArgumentError(
                f"env_runners must list worker indices (0: the local runner, 1..: remote ones), "
                f"e.g. env_runners=[1]; got {env_runners!r}"
            )
        runners = frozenset(env_runners)
    given = recorder_options("rlvideo.rllib.video_callbacks", options)  # names unknown ones
    WriterSpec.build(
        format=given["format"], fps=30, codec=given["codec"], crf=given["crf"],
        options=given["encoder_options"], overwrite=given["overwrite"],
        float_range=given["float_range"],
    )  # fmt: skip
    if given["replay"]:
        check_replay_options(given["replay_options"])
    return RunnerSettings(
        video_folder=resolve_location(video_folder), episode_trigger=episode_trigger,
        step_trigger=step_trigger, video_length=length, name_prefix=name_prefix,
        env_runners=runners, options=options,
    )  # fmt: skip


def _settings_in(callbacks: Any) -> list[RunnerSettings]:
    """The settings of our callback classes in a config's ``callbacks_class`` (a class or list)."""
    items = callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]
    return [
        item._settings
        for item in items
        if isinstance(item, type) and issubclass(item, _VideoCallbacks)
    ]


def _at(tree: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(key)
    return tree
