"""Stable-Baselines3: ``VecVideoRecorder``, SB3's wrapper, streaming; ``EvalVideoCallback``.

Same signature, trigger rule, frame count, file names, fps and render-mode check as
``stable_baselines3.common.vec_env.VecVideoRecorder`` (SB3 2.x), and like it a
``VecEnvWrapper``, so it goes wherever SB3 expects a ``VecEnv``. What SB3 records, it records:
every frame is ``venv.render()``, all the envs tiled into one image. But each frame goes to a
background encoder as it is rendered instead of into a list, so memory stays flat, training
never stops to encode a video, and no moviepy is needed.

:class:`EvalVideoCallback` is an SB3 callback that plays evaluation episodes on an env of its
own every N training steps, records each into a folder and hands it to the trackers of
:mod:`rlvideo.loggers` at the training step it started at (SB3's own ``Video`` logger object
needs moviepy, and TensorBoard's video path is broken on moviepy 2).

Needs the ``sb3`` extra: ``pip install "rlvideo[sb3]"``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlvideo._core.clips import fires
from rlvideo._core.frames import is_frame
from rlvideo._core.grid import sb3_grid
from rlvideo._core.metadata import OnVideoSaved, SavedPath, VideoMetadata
from rlvideo._core.naming import eval_clip_stem, step_range_stem
from rlvideo._core.optional import import_optional
from rlvideo._core.options import RecordingOptions, recorder_options
from rlvideo._core.replay import step_digest
from rlvideo.errors import InvalidArgumentError, RenderModeError
from rlvideo.recording._recorder import ClosesOnExit, Recorder, VideoSink, records
from rlvideo.storage import resolve_location
from rlvideo.wrappers._machine import MachineAttributes, VideoMachine, warn_if_unclosed
from rlvideo.wrappers._replay_state import ResetState, capture_reset, check_replayable
from rlvideo.wrappers._replaying import ReplayRecorder, make_recorder

import_optional("stable_baselines3", "sb3", feature="rlvideo.wrappers.sb3.VecVideoRecorder")

from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402 (after the check)
from stable_baselines3.common.vec_env import sync_envs_normalization  # noqa: E402
from stable_baselines3.common.vec_env.base_vec_env import (  # noqa: E402
    VecEnv,
    VecEnvObs,
    VecEnvStepReturn,
    VecEnvWrapper,
)
from stable_baselines3.common.vec_env.dummy_vec_env import DummyVecEnv  # noqa: E402
from stable_baselines3.common.vec_env.subproc_vec_env import SubprocVecEnv  # noqa: E402

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["EvalVideoCallback", "VecVideoRecorder"]

logger = logging.getLogger(__name__)


class _RenderModeAssertionError(RenderModeError, AssertionError):
    """A :class:`RenderModeError` that is also the ``AssertionError`` SB3's wrapper raises."""


class VecVideoRecorder(ClosesOnExit, MachineAttributes, VecEnvWrapper):
    """Record videos of a vector env's rollouts, streaming frames to a background encoder.

    A drop-in for SB3's ``VecVideoRecorder``: the positional arguments are SB3's, with the same
    meaning, and it records the same frames into files of the same names. The global step count
    ``step_id`` starts at 0 and grows by one per ``step``. A video starts in ``reset()`` when
    ``record_video_trigger(step_id)`` fires, or after a ``step`` that is not recording and where
    the trigger fires for the new ``step_id``. Its first frame is the one rendered right then,
    and one more is rendered after each step, so a video holds ``video_length + 1`` frames (like
    SB3's) and ends after the step ``start + video_length``. It is named
    ``{name_prefix}-step-{start}-to-step-{start + video_length}.mp4``. While a video records,
    the trigger is not asked; a ``reset()`` where it fires starts a new video, ending the one in
    progress. ``close()`` closes the envs, then ends the video in progress (shorter) and waits for
    every video to be written.

    The frame rate is the envs' ``metadata["render_fps"]``, else 30: ``frames_per_sec``, read
    as each video starts, so a value set after the wrapper is made applies to the next video.

    Differences from SB3: frames are never held in memory and no moviepy is needed; an existing
    file is replaced only once the new video is final (said once per folder;
    ``overwrite=False`` refuses it); a ``reset()`` that interrupts a video
    saves it under its own name (SB3 writes it under the new video's name, which the new video
    then overwrites; when the names are the same, the old video is dropped, as in SB3); the
    trigger must return a bool and ``video_length`` must be at least 1 (SB3 makes two-frame
    videos of 0); messages go to :mod:`logging` instead of ``print``.

    Args:
        venv: The vector env, made with ``render_mode="rgb_array"``.
        video_folder: Where videos go: a folder, created if needed, or an fsspec URL such as
            ``s3://bucket/videos`` (see :mod:`rlvideo.storage`).
        record_video_trigger: ``step_id -> bool``: start a video at that global step.
        video_length: Steps per video; a video holds ``video_length + 1`` frames.
        name_prefix: Start of every file name.
        **options: rlvideo's recording options, the same for every wrapper (format, codec,
            crf, overwrite, metadata, track, overlay, on_video_saved, keep_if, encoder,
            encoder_options, storage_options): see :class:`rlvideo._core.options.RecordingOptions`.
            Here, in the metadata, ``first_step`` is the step in the name, ``episode`` counts
            the episodes of env 0, ``episode_return`` sums the rewards of all the envs over the
            recorded steps, and ``terminated``/``truncated`` say whether any env's episode
            ended so at the last recorded step; the overlay and the data track show the same
            sums, their ``step`` and ``return`` counted from the video's first frame.

    Raises:
        RenderModeError: If the envs' render mode is not ``"rgb_array"`` (it is also an
            ``AssertionError``, which is what SB3 raises).
        InvalidArgumentError: For a bad trigger, video_length, format, codec, crf or prefix.

    Example:
        >>> import os
        >>> import gymnasium as gym
        >>> import numpy as np
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> venv = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array")] * 2)
        >>> venv = VecVideoRecorder(
        ...     venv, "videos", record_video_trigger=lambda step: step % 20 == 0, video_length=10
        ... )
        >>> obs = venv.reset()
        >>> for _ in range(50):
        ...     obs, rewards, dones, infos = venv.step(np.array([0, 1]))
        >>> venv.close()
        >>> sorted(os.listdir("videos"))  # doctest: +NORMALIZE_WHITESPACE
        ['rl-video-step-0-to-step-10.mp4', 'rl-video-step-20-to-step-30.mp4',
         'rl-video-step-40-to-step-50.mp4']

        With an SB3 model it records while training::

            model = PPO("MlpPolicy", venv)
            model.learn(total_timesteps=100_000)
            venv.close()
    """

    video_name: str
    """The file name of the latest video started (set when one starts)."""
    video_path: str
    """Its absolute path (its URL when ``video_folder`` is a URL)."""

    def __init__(
        self,
        venv: VecEnv,
        video_folder: str | os.PathLike[str],
        record_video_trigger: Callable[[int], bool],
        video_length: int = 200,
        name_prefix: str = "rl-video",
        **options: Unpack[RecordingOptions],
    ) -> None:
        VecEnvWrapper.__init__(self, venv)
        self.env = venv
        env_metadata = _env_metadata(venv)
        self.env.metadata = env_metadata  # as SB3 does: the venv gets the envs' metadata
        if self.env.render_mode != "rgb_array":
            raise _RenderModeAssertionError(
                f"The render_mode must be 'rgb_array', not {self.env.render_mode}. Make the envs "
                'with gymnasium.make(env_id, render_mode="rgb_array") (make_vec_env: '
                'env_kwargs={"render_mode": "rgb_array"}).'
            )
        frames_per_sec = env_metadata.get("render_fps", 30)
        if not callable(record_video_trigger):
            raise InvalidArgumentError(
                "record_video_trigger must be a callable taking the step count and returning a "
                f"bool, got {record_video_trigger!r}. Example: lambda step: step % 10_000 == 0"
            )
        if isinstance(video_length, bool) or not isinstance(video_length, int) or video_length < 1:
            raise InvalidArgumentError(
                InvalidArgumentError.Term("video_length"),
                f" must be a positive number of steps, got {video_length!r}",
                value=video_length,
            )
        self.record_video_trigger = record_video_trigger
        self.video_folder = resolve_location(video_folder)
        self.name_prefix = name_prefix
        self.video_length = video_length
        self._actions: Any = None  # the step's actions, from step_async
        given = recorder_options("VecVideoRecorder", options)
        sub_envs, spec_json = _replayable_envs(venv) if given["replay"] else ([], None)
        recorder = make_recorder(
            self.video_folder, name_prefix=name_prefix, fps=frames_per_sec, env_id=_env_id(venv),
            spec_json=spec_json, given=given,
        )  # fmt: skip
        self._recorder: VideoSink = recorder
        self._replay = recorder if isinstance(recorder, ReplayRecorder) else None
        self._shims: list[_ReplayShim] = []  # replay=True: each env's resets and steps logged
        if self._replay is not None:
            one = len(sub_envs) == 1
            self._shims = [
                _ReplayShim(env, self._replay, None if one else k) for k, env in enumerate(sub_envs)
            ]
            if not one:  # the frame is SB3's tile_images of every env's
                self._replay.renders_together = True
                self._replay.tile(list(range(len(sub_envs))), grid=sb3_grid(len(sub_envs)))
        # frames: the start's, then one per step; episodes and the track follow env 0; SB3's
        # trigger is asked here, only while no video records
        self._machine = VideoMachine(
            self._recorder, name_prefix=name_prefix, video_length=video_length + 1,
            fps=frames_per_sec,
        )  # fmt: skip
        self._machine.step_id = 0  # SB3 counts steps from 0: the trigger's first call is at 0

    @property
    def saved_videos(self) -> list[Any]:
        """Paths (URLs when remote) of the videos finished so far (all of them after close)."""
        return list(self._recorder.saved)

    # -- SB3's control flow --------------------------------------------------------------------
    @records
    def reset(self) -> VecEnvObs:
        """Reset the envs, and start a video if the trigger fires at the current step count."""
        obs = self.venv.reset()
        for shim in self._shims:
            shim.flush()
        self._machine.begin_episode()
        info = _first(getattr(self.venv, "reset_infos", None))
        if self._video_enabled():
            self._start_video_recorder(info)
        else:
            self._machine.reset_frame(info)
        self._recorder.poll()
        return obs

    def step_async(self, actions: Any) -> None:
        """Start a step (SB3's ``step`` calls it, then :meth:`step_wait`); keep its actions."""
        self._actions = actions
        self.venv.step_async(actions)

    @records
    def step_wait(self) -> VecEnvStepReturn:
        """Finish the step; record its frame, or start a video if the trigger fires."""
        obs, rewards, dones, infos = self.venv.step_wait()
        for k, shim in enumerate(self._shims):
            shim.log_step(rewards[k])  # the reward shown, as SB3 gives it
        self._machine.step_id += 1
        cut = [bool(info.get("TimeLimit.truncated", False)) for info in infos]
        ended = [bool(done) and not c for done, c in zip(dones, cut, strict=True)]
        shown = (rewards[0], ended[0], cut[0])  # env 0's: the track and overlay follow it
        seen = {"action": _first(self._actions), "info": infos[0]}
        if self.recording or not self._video_enabled():
            counted = (np.sum(rewards), any(ended), any(cut))  # the metadata sums every env
            self._machine.count_move(*shown, counted=counted, **seen)
        else:
            self._start_recording(self._stem(), episode=self._machine.episode_id + int(dones[0]))
            self._machine.show_move(*shown, **seen)  # frame 0 follows it
        for shim in self._shims:  # the resets that followed, after the step was counted
            shim.flush(in_step=True)
        if dones[0]:  # env 0 was reset automatically: the frame is its reset frame
            self._new_episode(_first(getattr(self.venv, "reset_infos", None)))
        if self.recording:
            self._capture_frame()
        self._recorder.poll()
        return obs, rewards, dones, infos

    def close(self) -> None:
        """Close the envs, then end the video in progress and wait for every video.

        The video in progress is saved, shorter, its metadata saying ``cut_short`` unless an
        episode ended at its last step; when the recording was cut off by a failure (an
        exception out of ``reset`` or ``step``, or out of a ``with venv:`` block) it is kept as
        ``<name>.incomplete.<ext>`` instead.
        """
        try:
            VecEnvWrapper.close(self)
        finally:
            for shim in self._shims:
                shim.remove()
            self._machine.release()
            self._recorder.close()

    # -- SB3's helpers, same names -------------------------------------------------------------
    def _video_enabled(self) -> bool:
        return fires(self.record_video_trigger, self.step_id, "record_video_trigger")

    def _start_video_recorder(self, info: Any = None) -> None:
        self._start_recording(self._stem())
        self._machine.reset_frame(info)  # its first frame: the reset's
        self._capture_frame()

    def _stem(self) -> str:
        return step_range_stem(self.name_prefix, self.step_id, self.step_id + self.video_length)

    def _new_episode(self, info: Any) -> None:
        """Env 0 began an episode: a video in progress shows it from its next frame."""
        self._machine.begin_episode()
        self._machine.reset_frame(info)

    def _start_recording(self, stem: str, *, episode: int | None = None) -> None:
        """Start a video (ending the one in progress first); a taken name raises here."""
        if self.recording:
            # The same name means no step since it started: SB3's file ends up holding the new
            # video, so the old one (a single frame) is dropped rather than saved and replaced.
            self._stop_recording(discard=stem == Path(self.video_name).stem)
        name = f"{stem}.{self._recorder.spec.format}"
        self._machine.start(stem, "step", first_step=self.step_id, episode=episode)
        self.video_name = name
        self.video_path = str(self._recorder.final(name))

    def _capture_frame(self) -> None:
        assert self.recording, "Cannot capture a frame, recording wasn't started."
        if self._replay is not None and not self._replay.is_live(self._machine.video_id):
            self._machine.count_frame()  # the renderer draws it
        else:
            self._machine.capture(self.env.render())
        if not self.recording:  # full (or the render was no image): stopped
            logger.info("Saving video to %s", self.video_path)

    def _stop_recording(self, *, discard: bool = False) -> None:
        """End the video in progress: it is finished in the background (or dropped)."""
        if not discard:
            logger.info("Saving video to %s", self.video_path)
        self._machine.stop(discard=discard)

    def __del__(self) -> None:
        machine = self.__dict__.get("_machine")  # not getattr: VecEnvWrapper forwards it
        warn_if_unclosed([] if machine is None else [machine], "VecVideoRecorder", "venv")


class EvalVideoCallback(BaseCallback):
    """Record evaluation episodes every ``every`` training steps and hand them to trackers.

    At each multiple of ``every`` training timesteps (``model.num_timesteps``, all envs
    counted) the callback plays ``n_eval_episodes`` episodes of ``eval_env`` with
    ``model.predict`` and records each as ``{name_prefix}-step-{t}-episode-{k}.mp4`` in
    ``video_folder``. Frames go to rlvideo's background encoder as they are rendered, so memory
    stays flat and training goes on while the videos are encoded; each video, once final, goes
    to ``loggers`` (and ``on_video_saved``), at step ``t``: its metadata says ``first_step=t``,
    ``kind="episode"`` and ``episode=k``. When training ends, the callback waits for its videos
    and their hand-offs (and starts afresh on the next ``learn()``).

    Args:
        eval_env: A Gymnasium env made with ``render_mode="rgb_array"``: each video is its
            ``render()`` after ``reset`` and after every step, as ``rlvideo.RecordVideo``
            records. Or an SB3 ``VecEnv`` of one env (e.g. with ``VecNormalize``, whose
            statistics are synced from the training env as SB3's ``EvalCallback`` does): its
            ``render()`` after ``reset`` and after every step but the last, which the
            ``VecEnv``'s automatic reset hides.
        video_folder: Where videos go: a folder, or an fsspec URL (see :mod:`rlvideo.storage`).
        every: Training timesteps between evaluations.
        n_eval_episodes: Episodes, and videos, per evaluation.
        deterministic: Whether the policy acts deterministically.
        name_prefix: Start of every file name.
        loggers: A logger of :mod:`rlvideo.loggers` or any ``(path, meta)`` callable, or a
            list of them; each gets every video (one that raises does not keep the video from
            the others; its error is raised once they all had it).
        max_episode_steps: End an evaluation episode after this many steps (None: when the
            env ends it).
        verbose: SB3's verbosity: 1 logs each evaluation.
        **options: rlvideo's recording options (format, codec, crf, overwrite, metadata,
            track, overlay, on_video_saved, keep_if, encoder, encoder_options,
            storage_options): see :class:`rlvideo._core.options.RecordingOptions`.

    Raises:
        RenderModeError: If ``eval_env`` does not render RGB images.
        InvalidArgumentError: For a bad ``every``, ``n_eval_episodes`` or option.

    Example:
        >>> import os
        >>> import gymnasium as gym
        >>> from stable_baselines3 import PPO
        >>> from rlvideo.loggers import TensorBoardLogger
        >>> eval_env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=50)
        >>> callback = EvalVideoCallback(
        ...     eval_env, "videos", every=256, loggers=TensorBoardLogger("runs/ppo")
        ... )
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=256, seed=0)
        >>> model = model.learn(total_timesteps=512, callback=callback)
        >>> sorted(os.listdir("videos"))
        ['eval-step-256-episode-0.mp4', 'eval-step-512-episode-0.mp4']
    """

    def __init__(
        self,
        eval_env: Any,
        video_folder: str | os.PathLike[str],
        *,
        every: int = 10_000,
        n_eval_episodes: int = 1,
        deterministic: bool = True,
        name_prefix: str = "eval",
        loggers: OnVideoSaved | Sequence[OnVideoSaved] = (),
        max_episode_steps: int | None = None,
        verbose: int = 0,
        **options: Unpack[RecordingOptions],
    ) -> None:
        super().__init__(verbose)
        for name, value in (("every", every), ("n_eval_episodes", n_eval_episodes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be a positive int, got {value!r}")
        if max_episode_steps is not None and (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, int)
            or max_episode_steps < 1
        ):
            raise InvalidArgumentError(
                f"max_episode_steps must be a positive int or None, got {max_episode_steps!r}"
            )
        self.vectorized = isinstance(eval_env, VecEnv)
        if self.vectorized and eval_env.num_envs != 1:
            raise InvalidArgumentError(
                f"eval_env must be one env (or a VecEnv of one), got {eval_env.num_envs} envs"
            )
        if eval_env.render_mode != "rgb_array":
            raise RenderModeError(
                f"eval_env's render_mode must be 'rgb_array', not {eval_env.render_mode!r}: make "
                'it with gymnasium.make(env_id, render_mode="rgb_array")'
            )
        self.eval_env = eval_env
        self.video_folder = resolve_location(video_folder)
        self.every = every
        self.n_eval_episodes = n_eval_episodes
        self.deterministic = deterministic
        self.name_prefix = name_prefix
        self.max_episode_steps = max_episode_steps
        hand_offs = [loggers] if callable(loggers) else list(loggers)
        user_hook = options.pop("on_video_saved", None)
        if user_hook is not None:
            hand_offs.append(user_hook)
        if not all(callable(hand_off) for hand_off in hand_offs):
            raise InvalidArgumentError(
                f"loggers must be a (path, meta) callable or a list of them, got {loggers!r}"
            )
        self.hand_off = _FanOut(hand_offs)
        """Every video goes to each of ``loggers`` (and ``on_video_saved``) through this."""
        self._options = recorder_options("EvalVideoCallback", options)
        self._options["on_video_saved"] = self.hand_off if hand_offs else None
        metadata = _env_metadata(eval_env) if self.vectorized else eval_env.metadata
        self._fps = metadata.get("render_fps") or 30
        self._env_id = _env_id(eval_env) if self.vectorized else _gym_env_id(eval_env)
        self._spec_json: str | None = None  # replay=True: the eval env's spec
        if self._options["replay"]:
            if self.vectorized:
                raise InvalidArgumentError(
                    "replay=True with EvalVideoCallback needs a Gymnasium eval_env made with "
                    "gymnasium.make, not a VecEnv: pass the env itself, or record live"
                )
            self._spec_json = check_replayable(eval_env)
        self._recorder: Recorder | ReplayRecorder | None = None
        self._replay: ReplayRecorder | None = None
        self._next = every
        self.evaluations = 0
        """Evaluations recorded so far."""

    @property
    def saved_videos(self) -> list[SavedPath]:
        """Paths (URLs when remote) of the videos finished so far, in this ``learn()``."""
        return [] if self._recorder is None else list(self._recorder.saved)

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            while self._next <= self.num_timesteps:
                self._next += self.every
            with self._finished_on_error():
                self._evaluate()
        return True

    def _on_rollout_end(self) -> None:
        if self._recorder is not None:
            with self._finished_on_error():
                self._recorder.poll()  # hand finished videos off, between rollouts

    @contextlib.contextmanager
    def _finished_on_error(self) -> Iterator[None]:
        """Finish the videos already ended (and hand them off) before an error propagates.

        An error out of a callback ends ``learn()``, and SB3 then calls no ``_on_training_end``.
        """
        try:
            yield
        except BaseException:
            if self._recorder is not None:
                self._recorder.interrupt()  # no error of the recorder's hides this one
            self._on_training_end()
            raise

    def _on_training_end(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()  # waits for the videos and their hand-offs (their flush())

    def _evaluate(self) -> None:
        if self._recorder is None:
            recorder = make_recorder(
                self.video_folder, name_prefix=self.name_prefix, fps=self._fps,
                env_id=self._env_id, spec_json=self._spec_json, given=self._options,
            )  # fmt: skip
            self._recorder = recorder
            self._replay = recorder if isinstance(recorder, ReplayRecorder) else None
        if self.vectorized:
            with contextlib.suppress(AttributeError):  # as SB3's EvalCallback does
                sync_envs_normalization(self.training_env, self.eval_env)
        step = self.num_timesteps
        returns = []
        for episode in range(self.n_eval_episodes):
            name = eval_clip_stem(self.name_prefix, step, episode)
            video_id = self._recorder.start(name, kind="episode", episode=episode, first_step=step)
            try:
                returns.append(self._play(video_id))
            except BaseException:
                self._recorder.discard(video_id)
                raise
            self._recorder.stop(video_id)
        if self._replay is not None:
            self._replay.send_ended()  # training goes on: no step of this env until the next
        self._recorder.poll()
        self.evaluations += 1
        if self.verbose >= 1:
            logger.info(
                "evaluation at step %d: %d episode(s), mean return %.3g, videos in %s",
                step, len(returns), float(np.mean(returns)), self.video_folder,
            )  # fmt: skip

    def _play(self, video_id: int) -> float:
        """Play one episode, recording it; return its return."""
        assert self._recorder is not None
        assert self.model is not None
        recorder, env, replay = self._recorder, self.eval_env, self._replay
        if self.vectorized:
            observation = env.reset()
        else:
            if replay is not None:
                replay.before_reset(env, None, None)
            observation, _ = env.reset()
            if replay is not None:
                replay.after_reset(observation)
        self._frame(video_id, None if self._replayed(video_id) else env.render())
        state, start, total, steps = None, np.ones((1,), dtype=bool), 0.0, 0
        while True:
            action, state = self.model.predict(
                observation, state=state, episode_start=start, deterministic=self.deterministic
            )
            steps += 1
            if self.vectorized:
                observation, rewards, dones, infos = env.step(action)
                info, taken = infos[0], action[0]
                truncated = bool(info.get("TimeLimit.truncated", False))
                reward, terminated = float(rewards[0]), bool(dones[0]) and not truncated
                start = np.asarray(dones, dtype=bool)
            else:
                observation, reward, terminated, truncated, info = env.step(action)
                start, taken = np.zeros((1,), dtype=bool), action
                if replay is not None:
                    replay.after_step(action, observation, reward, terminated, truncated)
            total += float(reward)
            recorder.step(video_id, reward, terminated, truncated, action=taken, info=info)
            ended = bool(terminated or truncated)
            if not (ended and self.vectorized):  # a VecEnv has reset already
                self._frame(video_id, None if self._replayed(video_id) else env.render())
            if ended or (self.max_episode_steps is not None and steps >= self.max_episode_steps):
                return total

    def _replayed(self, video_id: int) -> bool:
        """Whether the video is replayed (replay=True): its frames are rendered later."""
        return self._replay is not None and not self._replay.is_live(video_id)

    def _frame(self, video_id: int, frame: Any) -> None:
        assert self._recorder is not None
        if frame is None and self._replayed(video_id):
            self._recorder.frame(video_id, None)  # counted: the renderer draws it
            return
        if not is_frame(frame):
            raise RenderModeError(
                f"eval_env.render() returned {type(frame).__name__}, not an image: make it with "
                'render_mode="rgb_array"'
            )
        self._recorder.frame(video_id, frame)


class _FanOut:
    """``(path, meta)`` to each hand-off; ``flush()`` to each that has one.

    One failing does not keep the video from the others: the first error is raised once every
    one was tried.
    """

    def __init__(self, hand_offs: list[OnVideoSaved]) -> None:
        self.hand_offs = hand_offs

    def __call__(self, where: SavedPath, meta: VideoMetadata) -> None:
        self._each(lambda hand_off: hand_off(where, meta))

    def flush(self) -> None:
        def flush(hand_off: OnVideoSaved) -> None:
            method = getattr(hand_off, "flush", None)
            if callable(method):
                method()

        self._each(flush)

    def _each(self, action: Callable[[OnVideoSaved], object]) -> None:
        errors = []
        for hand_off in self.hand_offs:
            try:
                action(hand_off)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


def _first(values: Any) -> Any:
    """Env 0's entry of a per-env sequence (actions, infos), or None when there is none."""
    try:
        return None if values is None else values[0]
    except (TypeError, IndexError, KeyError):
        return None


def _gym_env_id(env: Any) -> str | None:
    env_id = getattr(getattr(env, "spec", None), "id", None)
    return env_id if isinstance(env_id, str) else None


def _env_metadata(venv: VecEnv) -> dict[str, Any]:
    """The envs' metadata (``render_fps`` and so on), found as SB3 finds it."""
    inner = venv
    while isinstance(inner, VecEnvWrapper):
        inner = inner.venv
    if isinstance(inner, (DummyVecEnv, SubprocVecEnv)):
        found: dict[str, Any] = inner.get_attr("metadata")[0]
        return found
    return inner.metadata  # pragma: no cover - another VecEnv: its own metadata, as in SB3


def _env_id(venv: VecEnv) -> str | None:
    """The registered id of env 0 (``env.spec.id``), for the videos' metadata, if it has one."""
    try:
        spec = venv.get_attr("spec", indices=0)[0]
    except Exception:  # a VecEnv without specs (or without get_attr) records no id
        return None
    env_id = getattr(spec, "id", None)
    return env_id if isinstance(env_id, str) else None


def _replayable_envs(venv: VecEnv) -> tuple[list[Any], str]:
    """The envs of a ``DummyVecEnv`` that ``replay=True`` replays, and their one spec's JSON.

    Raises:
        InvalidArgumentError: For another ``VecEnv`` (its envs live in other processes), or
            envs made from different specs.
    """
    base = venv.unwrapped
    if not isinstance(base, DummyVecEnv):
        raise InvalidArgumentError(
            "replay=True with VecVideoRecorder needs a DummyVecEnv (its envs are in this "
            f"process); this is a {type(base).__name__}: record live, or make it with "
            "make_vec_env(..., vec_env_cls=DummyVecEnv)"
        )
    specs = {check_replayable(_without_monitor(env)) for env in base.envs}
    if len(specs) != 1:
        raise InvalidArgumentError(
            "replay=True with VecVideoRecorder needs every env made from one spec (the renderer "
            "makes each again from it); these differ: record live"
        )
    return list(base.envs), specs.pop()


def _without_monitor(env: Any) -> Any:
    """The env under SB3's ``Monitor`` wrappers (they keep statistics, and change nothing)."""
    while type(env).__name__ == "Monitor" and type(env).__module__.startswith("stable_baselines3"):
        env = env.env
    return env


class _ReplayShim:
    """Log one env's resets and steps as the ``DummyVecEnv`` makes them, for replay.

    SB3 resets an env inside ``step_wait`` as its episode ends: the RNG state before that reset
    exists only there. The shim sets the env's own ``reset`` and ``step`` (instance attributes,
    removed by :meth:`remove`) to take the state first, and keeps the raw observations (before
    any ``VecNormalize``). The wrapper logs them in its own order: the step with the reward it
    shows (:meth:`log_step`: ``DummyVecEnv``'s float32, or ``VecNormalize``'s), then, once it
    counted that step, the reset that followed it (:meth:`flush`).
    """

    def __init__(self, env: Any, replay: ReplayRecorder, stream: int | None = None) -> None:
        self.env, self.replay, self.stream = env, replay, stream  # stream: the env's index
        replay.watch(env, stream)
        self.step: tuple[Any, ...] | None = None  # a step's action, outcome and digest
        self.reset: tuple[ResetState, Any] | None = None  # a reset's state and observation
        step, reset = env.step, env.reset

        def logged_step(action: Any) -> Any:
            result = step(action)
            obs, reward, terminated, truncated = result[:4]
            digest = step_digest(obs, reward, terminated, truncated)  # now: a reset may follow
            self.step = (action, reward, terminated, truncated, digest)  # and reuse obs's buffer
            return result

        def logged_reset(*, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
            state = capture_reset(env, seed, options)
            obs, info = reset(seed=seed, options=options)
            self.reset = (state, obs)
            return obs, info

        env.step, env.reset = logged_step, logged_reset

    def log_step(self, shown: Any = None) -> None:
        """Log the step that happened, showing reward ``shown`` (default: the env's)."""
        if self.step is not None:
            action, reward, terminated, truncated, digest = self.step
            shown = reward if shown is None else shown
            self.replay.after_step(
                action, None, reward, terminated, truncated, self.stream, shown=shown,
                digest=digest,
            )  # fmt: skip
            self.step = None

    def flush(self, *, in_step: bool = False) -> None:
        """Log the reset that happened, if one did (a step before it first).

        ``in_step``: after a step (``DummyVecEnv`` resets an env inside the step that ended its
        episode, so that step shows the next reset, no frame of its own episode).
        """
        self.log_step()
        if self.reset is not None:
            state, obs = self.reset
            self.replay.begin_reset(state, self.stream, in_step=in_step)
            self.replay.after_reset(obs, self.stream)
            self.reset = None

    def remove(self) -> None:
        """Give the env its own methods back."""
        for name in ("step", "reset"):
            self.env.__dict__.pop(name, None)
