"""One RLlib env runner's videos: the engine behind :func:`rlvideo.rllib.video_callbacks`.

RLlib calls the callbacks on each env runner; they hand what happened to a :class:`RunnerVideos`
(one per runner), which drives a :class:`~rlvideo.wrappers._machine.VideoMachine` per sub-env
over one :class:`~rlvideo.recording._recorder.Recorder`: the triggers, counting, options and
files of :class:`rlvideo.RecordVideo`. Nothing here imports Ray: RLlib's objects (the env
runner, its vector env, the episode) are read by the attributes its callbacks document.

- A sub-env's frames are read with ``envs[k].render()`` (Gymnasium's sync vector env), only
  while its machine records.
- The state is per sub-env, not per episode object: RLlib cuts an ongoing episode into chunks
  between ``sample()`` calls (a successor with the same id); the sub-env goes on, and so does
  its video.
- With ``replay=True`` the runner never renders: a
  :class:`~rlvideo.wrappers._replaying.ReplayRecorder` keeps, per sub-env, the RNG state before
  each reset (``on_episode_created`` comes just before it), the actions and a digest of each
  step, and rlvideo's renderer processes make the videos from them, off the runner's loop.
- Each finished video becomes a *record*: its metadata's fields, plus ``url`` (the video's path
  or URL), ``worker`` and ``evaluation``. :meth:`RunnerVideos.sample_end` returns the records
  finished since the last call; the callbacks log them to RLlib's metrics, so only these few
  hundred bytes per video reach the driver.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from rlvideo._core.metadata import SavedPath, VideoMetadata
from rlvideo._core.options import recorder_options
from rlvideo.errors import InvalidArgumentError, RLVideoError
from rlvideo.recording._recorder import Recorder, VideoSink
from rlvideo.wrappers._machine import Triggers, VideoMachine
from rlvideo.wrappers._replay_state import check_replayable
from rlvideo.wrappers._replaying import ReplayRecorder, make_recorder

__all__ = [
    "RunnerSettings", "RunnerVideos", "close_runner_videos", "recordable_sub_envs", "replay_spec",
    "runner_prefix",
]  # fmt: skip

logger = logging.getLogger("rlvideo.rllib")

Trigger = Callable[[int], bool]

_OF_RUNNER: weakref.WeakKeyDictionary[Any, list[RunnerVideos]] = weakref.WeakKeyDictionary()
"""The videos of each env runner in this process (the local runners share the driver's); a
list, for a runner given two video callback classes."""


@dataclass(frozen=True)
class RunnerSettings:
    """What :func:`rlvideo.rllib.video_callbacks` was given, checked: the same on every runner.

    Attributes:
        video_folder: A folder or an fsspec URL.
        episode_trigger: ``episode -> bool``, on each sub-env's episodes.
        step_trigger: ``step -> bool``, on each sub-env's steps.
        video_length: Frames per video; ``inf``: whole episodes.
        name_prefix: Start of every file name.
        env_runners: The worker indices to record on (None: all).
        options: rlvideo's recording options, as :func:`recorder_options` fills them in.
    """

    video_folder: str
    episode_trigger: Trigger | None
    step_trigger: Trigger | None
    video_length: float
    name_prefix: str
    env_runners: frozenset[int] | None
    options: Mapping[str, Any] = field(default_factory=dict)


def runner_prefix(name_prefix: str, worker_index: int, *, evaluation: bool) -> str:
    """The name prefix of one env runner's videos: ``{prefix}[-eval]-w{worker_index}``.

    Its sub-env ``k`` then names videos ``{prefix}-w{w}-env-{k}-episode-{i}.mp4``: runners of
    the training and evaluation groups, and sub-envs, never share a name.

    Example:
        >>> runner_prefix("ppo", 2, evaluation=False) + "-env-0-episode-5.mp4"
        'ppo-w2-env-0-episode-5.mp4'
        >>> runner_prefix("ppo", 0, evaluation=True)
        'ppo-eval-w0'
    """
    return f"{name_prefix}{'-eval' if evaluation else ''}-w{worker_index}"


class RunnerVideos:
    """One env runner's videos: its recorder, and a video machine per sub-env, made lazily.

    Args:
        settings: The callbacks' settings.
    """

    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.active = False
        """Whether this runner records (its worker index is in ``env_runners``)."""
        self.worker_index = 0
        self.evaluation = False
        self._sub_envs: list[Any] = []
        self._recorder: Recorder | ReplayRecorder | None = None
        self._spec_json = ""  # the sub-envs' spec, for replay=True
        self._reset_taken: set[int] = set()  # sub-envs whose coming reset is taken (replay)
        self._ended: set[int] = set()  # sub-envs whose episode ended, not yet created again
        self._machines: dict[int, VideoMachine] = {}
        self._finished: list[dict[str, Any]] = []
        self._fps: Any = None
        self._env_id: str | None = None
        self._stop_patched = False

    # -- RLlib's hooks, in the order it calls them ---------------------------------------------
    def environment_created(self, env_runner: Any, env: Any) -> None:
        """The runner made (or, after a failure, made again) its vector env ``env``.

        Raises:
            InvalidArgumentError: If the sub-envs cannot be recorded (:func:`recordable_sub_envs`).
        """
        self.worker_index = int(getattr(env_runner, "worker_index", 0) or 0)
        config = getattr(env_runner, "config", None)
        self.evaluation = bool(getattr(config, "in_evaluation", False))
        wanted = self.settings.env_runners
        self.active = wanted is None or self.worker_index in wanted
        if not self.active:
            return
        sub_envs = recordable_sub_envs(env, config)
        if self.settings.options.get("replay"):
            self._spec_json = replay_spec(sub_envs)
        local_only = wanted == frozenset({0}) and not self.evaluation
        if local_only and int(getattr(config, "num_env_runners", 0) or 0) > 0:
            logger.warning(
                "rlvideo.rllib: env_runners=[0] records the local env runner, which does not "
                "sample while there are remote ones (num_env_runners > 0): no video will be "
                "recorded; pick remote runners, e.g. env_runners=[1]"
            )
        try:  # the env was made again (a restart): its videos in progress end, cut short
            for env_index in self._machines:
                self._cut_short(env_index)
        except Exception:
            logger.exception("rlvideo: env runner %d could not end its videos", self.worker_index)
        self._sub_envs = list(sub_envs)
        self._reset_taken.clear()
        self._ended.clear()
        self._fps = self._sub_envs[0].metadata.get("render_fps", 30)
        self._env_id = getattr(getattr(self._sub_envs[0], "spec", None), "id", None)
        registered = _OF_RUNNER.setdefault(env_runner, [])
        if self not in registered:
            registered.append(self)
        if not self._stop_patched:
            _close_when_stopped(env_runner, self)
            self._stop_patched = True

    def episode_created(self, env_runner: Any, env_index: int) -> None:
        """Sub-env ``env_index`` is about to be reset.

        After its episode ended, that is its autoreset. Otherwise RLlib resets every sub-env
        at once (the first reset, or a forced one, as after ``sample(num_episodes=...)``) and
        abandons the episodes under way: their whole-episode videos end here, cut short.
        With ``replay=True`` the reset's seed or RNG state is taken: RLlib seeds only the
        resets of its ``_reset_envs`` while ``_needs_initial_reset`` (``seed + k`` for sub-env
        ``k``, as Gymnasium's vector env does); an autoreset draws from the sub-env's generator.
        """
        autoreset = env_index in self._ended
        self._ended.discard(env_index)
        machine = self._machines.get(env_index)
        if not autoreset and machine is not None and machine.video_length == float("inf"):
            self._cut_short(env_index)
        recorder = self._recorder_or_none()
        if not isinstance(recorder, ReplayRecorder):
            return
        seed = None
        if not autoreset and getattr(env_runner, "_needs_initial_reset", False):
            base = getattr(env_runner, "_seed", None)
            seed = base + env_index if isinstance(base, int) else None
        # the last one before the reset wins: RLlib may create an episode it never resets
        recorder.before_reset(self._sub_envs[env_index], seed, None, env_index)
        self._reset_taken.add(env_index)

    def episode_start(self, episode: Any, env_index: int) -> None:
        """Sub-env ``env_index`` was reset: a new episode, and its first frame."""
        machine = self._machine(env_index)
        if isinstance(self._recorder, ReplayRecorder) and env_index in self._reset_taken:
            self._reset_taken.discard(env_index)
            self._recorder.after_reset(_last(episode.get_observations), env_index)
        machine.begin_episode(None)
        if machine.recording:
            machine.reset_frame(_last(episode.get_infos))
            self._capture(machine, env_index)

    def episode_step(self, episode: Any, env_index: int) -> None:
        """Sub-env ``env_index`` stepped: count it, and record its frame while recording."""
        machine = self._machine(env_index)
        reward, action = episode.get_rewards(-1), _last(episode.get_actions)
        terminated, truncated = bool(episode.is_terminated), bool(episode.is_truncated)
        if isinstance(self._recorder, ReplayRecorder):
            self._recorder.after_step(
                action, _last(episode.get_observations), reward, terminated, truncated, env_index
            )
        machine.begin_step()
        machine.count_move(
            reward, terminated, truncated, action=action, info=_last(episode.get_infos)
        )
        if machine.recording:
            self._capture(machine, env_index)

    def episode_end(self, env_index: int) -> None:
        """Sub-env ``env_index``'s episode ended: its whole-episode video is finished now."""
        self._ended.add(env_index)
        machine = self._machines.get(env_index)
        if machine is not None and machine.recording and machine.video_length == float("inf"):
            machine.stop()

    def sample_end(self) -> list[dict[str, Any]]:
        """The records of the videos finished since the last call (handling those done)."""
        if isinstance(self._recorder, ReplayRecorder):
            self._recorder.send_ended()  # the runner steps no more until the next sample
        if self._recorder is not None:
            self._recorder.poll()
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> list[dict[str, Any]]:
        """Finish every video (one in progress is saved, ``cut_short``); their records.

        Called when the runner stops (``algo.stop()``) or by :func:`rlvideo.rllib.finish`;
        the runner records nothing after, and a second call does nothing.
        """
        self.active = False
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            finished, self._finished = self._finished, []
            return finished
        for machine in self._machines.values():
            machine.release()
        try:
            recorder.close()
        finally:
            finished, self._finished = self._finished, []
        return finished

    # -- internals ----------------------------------------------------------------------------
    def _capture(self, machine: VideoMachine, env_index: int) -> None:
        """The sub-env's frame for the video; with replay, only counted (the renderer draws it)."""
        recorder = self._recorder
        if isinstance(recorder, ReplayRecorder) and not recorder.is_live(machine.video_id):
            machine.count_frame()
        else:
            machine.capture(self._sub_envs[env_index].render())

    def _cut_short(self, env_index: int) -> None:
        """End sub-env ``env_index``'s video in progress, if any, as cut short."""
        machine = self._machines.get(env_index)
        if machine is None or machine.video_id is None:
            return
        annotate = getattr(self._recorder, "annotate", None)
        if annotate is not None:
            annotate(machine.video_id, cut_short=True)
        machine.stop()

    def _recorder_or_none(self) -> Recorder | ReplayRecorder | None:
        if self._recorder is None and self.active and self._sub_envs:
            try:
                self._recorder = self._make_recorder()
            except Exception:
                self.active = False  # said once, not at every step
                logger.exception(
                    "rlvideo: env runner %d cannot record (its recorder failed to start); "
                    "training goes on without its videos", self.worker_index,
                )  # fmt: skip
                return None
        return self._recorder

    def _machine(self, env_index: int) -> VideoMachine:
        machine = self._machines.get(env_index)
        if machine is None:
            recorder = self._recorder_or_none()
            if recorder is None:
                raise RLVideoError("this env runner's recorder could not start (logged)")
            settings = self.settings
            machine = VideoMachine(
                cast(VideoSink, recorder),
                name_prefix=runner_prefix(
                    settings.name_prefix, self.worker_index, evaluation=self.evaluation
                ),
                video_length=settings.video_length,
                triggers=Triggers(episode=settings.episode_trigger, step=settings.step_trigger),
                fps=self._fps,
                env_index=env_index,
            )
            self._machines[env_index] = machine
        return machine

    def _make_recorder(self) -> Recorder | ReplayRecorder:
        settings = self.settings
        options = dict(settings.options)
        user_hook = options.pop("on_video_saved", None)

        def on_video_saved(where: SavedPath, meta: VideoMetadata) -> None:
            self._finished.append(
                {**meta.to_dict(), "url": str(where), "worker": self.worker_index,
                 "evaluation": self.evaluation}
            )  # fmt: skip
            if user_hook is not None:
                user_hook(where, meta)

        if user_hook is not None and callable(getattr(user_hook, "flush", None)):
            on_video_saved.flush = user_hook.flush  # type: ignore[attr-defined]
        given = recorder_options("rlvideo.rllib.video_callbacks", options)
        given["on_video_saved"] = on_video_saved
        return make_recorder(
            settings.video_folder,
            name_prefix=runner_prefix(
                settings.name_prefix, self.worker_index, evaluation=self.evaluation
            ),
            fps=self._fps, env_id=self._env_id,
            spec_json=self._spec_json if given["replay"] else None, given=given,
            mid_episode=settings.step_trigger is not None,
        )  # fmt: skip


def recordable_sub_envs(env: Any, config: Any) -> list[Any]:
    """The sub-envs of a runner's vector env, once sure each can be rendered on its own.

    Raises:
        InvalidArgumentError: For a multi-agent config, an async vector env (no sub-env to
            render), or a sub-env not made with ``render_mode="rgb_array"``; naming the fix.
    """
    if getattr(config, "is_multi_agent", False) is True:
        raise InvalidArgumentError(
            "rlvideo.rllib.video_callbacks records single-agent env runners; this config is "
            "multi-agent: record its envs with rlvideo.pettingzoo.RecordVideo in the env "
            "creator instead"
        )
    sub_envs = getattr(env, "envs", None)
    if sub_envs is None:
        raise InvalidArgumentError(
            f"rlvideo.rllib.video_callbacks renders each sub-env, which {type(env).__name__} "
            "does not give; use RLlib's default sync vector env: "
            "config.env_runners(gym_env_vectorize_mode='sync')"
        )
    for sub_env in sub_envs:
        if getattr(sub_env, "render_mode", None) != "rgb_array":
            raise InvalidArgumentError(
                f"rlvideo.rllib.video_callbacks needs frames, but the env's render_mode is "
                f"{getattr(sub_env, 'render_mode', None)!r}; make it with "
                "config.environment(env, env_config={'render_mode': 'rgb_array'}) (an "
                "env creator passes render_mode='rgb_array' to gymnasium.make)"
            )
    return list(sub_envs)


def replay_spec(sub_envs: list[Any]) -> str:
    """The sub-envs' one spec, for ``replay=True``, or an error saying why it cannot replay."""
    specs = {check_replayable(sub_env) for sub_env in sub_envs}
    if len(specs) != 1:
        raise InvalidArgumentError(
            "replay=True needs the runner's sub-envs made from one spec (RLlib makes them so "
            "from an env id); these differ: record live"
        )
    return specs.pop()


def close_runner_videos(env_runner: Any) -> list[dict[str, Any]]:
    """Finish the videos of ``env_runner`` (run on it, as RLlib's ``foreach_env_runner`` does).

    Returns:
        The records of the videos finished since its last ``sample()``; [] for a runner that
        records nothing.
    """
    return [record for videos in _OF_RUNNER.get(env_runner, []) for record in videos.close()]


def _close_when_stopped(env_runner: Any, videos: RunnerVideos) -> None:
    """Make the runner's ``stop()`` (``algo.stop()``) finish its videos after closing its env."""
    stop = getattr(env_runner, "stop", None)
    if not callable(stop):
        return

    def stop_then_finish_videos(*args: Any, **kwargs: Any) -> Any:
        try:
            return stop(*args, **kwargs)
        finally:
            try:
                videos.close()
            except Exception:
                logger.exception("rlvideo could not finish the videos of env runner %s", env_runner)

    env_runner.stop = stop_then_finish_videos


def _last(get: Callable[..., Any]) -> Any:
    """The episode's last item (``episode.get_infos(-1)``), or None before it has one."""
    try:
        return get(-1)
    except (IndexError, KeyError, ValueError):
        return None
