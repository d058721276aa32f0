"""``RecordVideo`` for a single Gymnasium env: Gymnasium 1.4's wrapper, streaming.

Same signature, file names, trigger rules, episode and step counting, fps resolution and
render-mode check as ``gymnasium.wrappers.RecordVideo``; but frames go to a background encoder
as they are rendered instead of into a list, so memory stays flat and ``step``, ``reset`` and
``close`` never wait for an encode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from numbers import Integral
from typing import TYPE_CHECKING, Any, SupportsFloat

from rlvideo._core.clips import resolve_triggers
from rlvideo._core.optional import import_optional
from rlvideo._core.options import RecordingOptions, constructor_args, recorder_options
from rlvideo.errors import InvalidArgumentError, RenderModeError
from rlvideo.recording._recorder import ClosesOnExit, VideoSink, records
from rlvideo.storage import resolve_location
from rlvideo.wrappers._machine import (
    MachineAttributes,
    Triggers,
    VideoMachine,
    warn_if_unclosed,
)
from rlvideo.wrappers._replay_state import check_replayable
from rlvideo.wrappers._replaying import ReplayRecorder, make_recorder

import_optional("gymnasium", "gymnasium", feature="RecordVideo")

import gymnasium as gym  # noqa: E402 (after the check, which names the extra)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RecordVideo", "check_render_mode", "check_wrapper_video_length", "gymnasium_settings"]

logger = logging.getLogger(__name__)

_NO_IMAGE_MODES = {None, "human", "ansi"}


def check_render_mode(
    render_mode: str | None, make: str = 'gymnasium.make(env_id, render_mode="rgb_array")'
) -> None:
    """Raise :class:`RenderModeError` for render modes that yield no image.

    ``make`` shows how the env is made with an image mode, in the env's own API.
    """
    if render_mode in _NO_IMAGE_MODES:
        raise RenderModeError(
            f"Render mode is {render_mode}, which is incompatible with RecordVideo. "
            "Initialize your environment with a render_mode that returns an image, such as "
            f"rgb_array: {make}."
        )


def check_wrapper_video_length(video_length: Any) -> int:
    """``video_length`` for the wrappers: 0 means whole episodes, else a positive frame count."""
    if isinstance(video_length, bool) or not isinstance(video_length, Integral) or video_length < 0:
        raise InvalidArgumentError(
            InvalidArgumentError.Term("video_length"),
            " must be 0 (record whole episodes) or a positive number of frames, "
            f"got {video_length!r}",
            value=video_length,
        )
    return int(video_length)


def gymnasium_settings(
    metadata: dict[str, Any], video_folder: str, fps: Any, video_length: Any
) -> tuple[str, Any, float]:
    """``video_folder``, ``frames_per_sec`` and ``video_length`` as Gymnasium's wrappers set them.

    The fps is the argument, else ``metadata["render_fps"]``, else 30 (None when the env says
    ``render_fps: None``, as in Gymnasium; the video then gets 30). A ``video_length`` of 0 means
    whole episodes: ``inf``.

    Example:
        >>> gymnasium_settings({"render_fps": 50}, "/tmp/v", None, 0)
        ('/tmp/v', 50, inf)
    """
    frames_per_sec = metadata.get("render_fps", 30) if fps is None else fps
    length = check_wrapper_video_length(video_length) or float("inf")
    return resolve_location(video_folder), frames_per_sec, length


def _attribute(env: Any, name: str) -> bool:
    """``hasattr`` that survives envs whose attributes raise before ``reset``."""
    try:
        return hasattr(env, name)
    except Exception:
        return True  # it exists: it only refused to be read yet


def _check_gymnasium_env(env: Any) -> None:
    """Name the right rlvideo path for a PettingZoo or old gym env (Gymnasium's TypeError doesn't).

    Duck typing: neither PettingZoo nor gym is imported.

    Example:
        >>> class ParallelEnv:
        ...     possible_agents = ["a", "b"]
        >>> _check_gymnasium_env(ParallelEnv())
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: ParallelEnv is a PettingZoo env; record it with rlvideo.pettingzoo.RecordVideo(env, video_folder, ...), which takes the same arguments
    """  # noqa: E501 (doctest output stays on one line)
    if isinstance(env, gym.Env):
        return
    name = type(env).__name__
    if any(_attribute(env, attr) for attr in ("possible_agents", "agent_iter", "agents")):
        raise InvalidArgumentError(
            f"{name} is a PettingZoo env; record it with "
            "rlvideo.pettingzoo.RecordVideo(env, "
            "video_folder, ...), which takes the same arguments"
        )
    modules = [getattr(cls, "__module__", "") or "" for cls in type(env).__mro__]
    is_gym = any(module == "gym" or module.startswith("gym.") for module in modules)
    if is_gym and all(_attribute(env, attr) for attr in ("step", "reset", "render")):
        raise InvalidArgumentError(
            f"{name} is an env of the old gym package, not Gymnasium; rlvideo.RecordVideo "
            "wraps Gymnasium envs. With gym, collect the frames of env.render() and save them "
            "with rlvideo.save_video(frames, video_folder, ...), gym's save_video (or move to "
            "Gymnasium: pip install gymnasium)"
        )


class RecordVideo(
    ClosesOnExit,
    MachineAttributes,
    gym.Wrapper,
    gym.utils.RecordConstructorArgs,
):
    """Record videos of an env's rollouts, streaming frames to a background encoder.

    A drop-in for ``gymnasium.wrappers.RecordVideo``: the arguments up to ``gc_trigger`` are
    Gymnasium 1.4's, with the same meaning. Differences: a video of ``video_length=L`` holds
    exactly L frames (Gymnasium's hold L + 1), a re-run replaces its earlier videos only as each
    new one is final (with their sidecars and tracks; said once per folder, as Gymnasium warns;
    ``overwrite=False`` refuses a taken name), and memory does not grow with the episode.

    Args:
        env: The env, made with a render mode that yields images (``"rgb_array"`` or
            ``"rgb_array_list"``).
        video_folder: Where videos go: a folder, or an fsspec URL such as
            ``s3://bucket/videos`` (each video is encoded locally and uploaded once final; see
            :mod:`rlvideo.storage`).
        episode_trigger: ``episode_id -> bool``: start a video at that episode.
        step_trigger: ``step_id -> bool``: start a video at that (global) step.
        video_length: 0 records whole episodes; L > 0 records L frames (possibly spanning
            several episodes).
        name_prefix: Start of every file name.
        fps: Frames per second; else ``env.metadata["render_fps"]``; else 30. Kept as
            ``frames_per_sec``, read as each video starts: a value set later applies to the
            next video (as highway-env's ``set_record_video_wrapper`` does).
        disable_logger: Accepted for compatibility (it silenced moviepy's progress bar).
        gc_trigger: ``episode_id -> bool``: run ``gc.collect()`` after a video of that episode.
        **options: rlvideo's recording options, the same for every wrapper (format, codec,
            crf, overwrite, metadata, track, overlay, on_video_saved, keep_if, encoder,
            encoder_options, storage_options): see :class:`rlvideo._core.options.RecordingOptions`.

    Raises:
        RenderModeError: If the env's render mode yields no image.
        InvalidArgumentError: For a bad trigger, video_length, fps, format, codec or prefix;
            for a PettingZoo env (it names :class:`rlvideo.pettingzoo.RecordVideo`) or an old gym
            env (it names :func:`rlvideo.save_video`).

    Example:
        >>> import os
        >>> import gymnasium as gym
        >>> env = gym.make("CartPole-v1", render_mode="rgb_array")
        >>> env = RecordVideo(env, "videos", episode_trigger=lambda e: e % 2 == 0)
        >>> for episode in range(4):
        ...     _ = env.reset(seed=episode)
        ...     done = False
        ...     while not done:
        ...         _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        ...         done = terminated or truncated
        >>> env.close()
        >>> sorted(os.listdir("videos"))
        ['rl-video-episode-0.mp4', 'rl-video-episode-2.mp4']
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        video_folder: str,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        video_length: int = 0,
        name_prefix: str = "rl-video",
        fps: int | None = None,
        disable_logger: bool = True,
        gc_trigger: Callable[[int], bool] | None = lambda episode: True,
        **options: Unpack[RecordingOptions],
    ) -> None:
        _check_gymnasium_env(env)  # before Gymnasium's TypeError, which names no way out
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, **constructor_args(
                video_folder=video_folder, episode_trigger=episode_trigger,
                step_trigger=step_trigger, video_length=video_length, name_prefix=name_prefix,
                fps=fps, disable_logger=disable_logger, gc_trigger=gc_trigger, **options,
            ),
        )  # fmt: skip
        gym.Wrapper.__init__(self, env)
        check_render_mode(env.render_mode)
        self.episode_trigger, self.step_trigger = resolve_triggers(episode_trigger, step_trigger)
        self.disable_logger = disable_logger
        self.gc_trigger = gc_trigger
        self.video_folder, frames_per_sec, self.video_length = gymnasium_settings(
            self.metadata, video_folder, fps, video_length
        )
        self.name_prefix = name_prefix
        self.render_history: list[Any] = []
        spec = getattr(env, "spec", None)
        given = recorder_options("RecordVideo", options)
        recorder = make_recorder(
            self.video_folder, name_prefix=name_prefix, fps=frames_per_sec,
            env_id=getattr(spec, "id", None),
            spec_json=check_replayable(env) if given["replay"] else None, given=given,
            mid_episode=self.step_trigger is not None,
        )  # fmt: skip
        self._recorder: VideoSink = recorder
        self._replay = recorder if isinstance(recorder, ReplayRecorder) else None
        # its steps taken whole (ReplayRecorder.lean_step): not with a step trigger to ask
        self._lean = self._replay if self.step_trigger is None else None
        self._machine = VideoMachine(
            self._recorder, name_prefix=name_prefix, video_length=self.video_length,
            fps=frames_per_sec,
            triggers=Triggers(  # a replayed video holds no frames: nothing to collect
                self.episode_trigger, self.step_trigger, None if self._replay else gc_trigger
            ),
        )  # fmt: skip

    @property
    def saved_videos(self) -> list[Any]:
        """Paths (URLs when remote) of the videos finished so far (all of them after close)."""
        return list(self._recorder.saved)

    # -- Gymnasium's control flow --------------------------------------------------------------
    @records
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env, and start a video if the episode trigger fires."""
        if self._replay is not None:
            self._replay.before_reset(self.env, seed, options)
        obs, info = super().reset(seed=seed, options=options)
        if self._replay is not None:
            self._replay.after_reset(obs)
        self._machine.begin_episode(seed)
        if self.recording:
            self._machine.reset_frame(info)
            self._capture_frame()
        self._recorder.poll()
        return obs, info

    @records
    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, start a video if the step trigger fires, and record the frame."""
        result = self.env.step(action)
        lean = self._lean  # every step comes here: few lookups (issue 23's loop cost)
        machine = self._machine
        if lean is not None and lean.lean is not None and lean.lean_step(machine, action, result):
            return result  # a step taken whole: of a replayed video, or of an episode not logged
        obs, reward, terminated, truncated, info = result
        replay = self._replay
        if replay is not None:
            replay.after_step(action, obs, reward, terminated, truncated)
            if machine.count_replayed(replay.add_step, reward, terminated, truncated):
                replay.poll()
                return result
        machine.begin_step()
        machine.count_move(reward, terminated, truncated, action=action, info=info)
        if machine.video_id is not None:
            self._capture_frame()
        self._recorder.poll()
        return result

    @records
    def render(self) -> Any:
        """Render; in ``rgb_array_list`` mode the frames rendered since are recorded too."""
        render_out: Any = super().render()
        replayed = self._replay is not None and not self._replay.is_live(self._machine.video_id)
        if self.recording and isinstance(render_out, list) and not replayed:
            for frame in render_out:
                self._machine.add_frame(frame)
        if self.render_history:
            history, self.render_history = self.render_history, []
            return history + render_out
        return render_out

    def close(self) -> None:
        """Close the env, then finish every video (waiting for the encoder).

        A video in progress is saved, its metadata saying ``cut_short`` unless its episode
        had ended; if the recording was cut off by a failure (an exception or Ctrl-C out of
        ``reset``, ``step`` or ``render``, or out of a ``with env:`` block), it is kept as
        ``<name>.incomplete.<ext>`` instead.
        """
        try:
            super().close()
        finally:
            self._machine.release()
            self._recorder.close()

    def start_recording(self, video_name: str) -> None:
        """Start a video named ``video_name`` by hand (stopping the current one first).

        Its metadata's ``kind`` is ``"manual"``; the triggers start ``"episode"`` and
        ``"step"`` videos.
        """
        self._machine.start(video_name, "manual")

    def stop_recording(self) -> None:
        """Stop the current video; it is finalized in the background."""
        self._machine.stop()

    # -- internals ----------------------------------------------------------------------------
    def _capture_frame(self) -> None:
        if self._replay is not None and not self._replay.is_live(self._machine.video_id):
            self._machine.count_frame()  # the renderer draws it
            return
        frame = self.env.render()
        if isinstance(frame, list):
            if not frame:
                logger.warning(
                    "Trying to capture render frame but 'env.render()' has just been called. "
                    "The frame cannot be captured."
                )
                self._machine.stop_if_full()
                return
            self.render_history += frame
            frame = frame[-1]
        self._machine.capture(frame)

    def __del__(self) -> None:
        machine = self.__dict__.get("_machine")
        warn_if_unclosed([] if machine is None else [machine], "RecordVideo", "env")
