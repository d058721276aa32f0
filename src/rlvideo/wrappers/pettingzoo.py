"""``RecordVideo`` for PettingZoo multi-agent envs, AEC and parallel, streaming.

``RecordVideo(env, video_folder, ...)`` takes :class:`rlvideo.RecordVideo`'s arguments (the same
as ``pettingzoo.utils.RecordVideo``'s) and rlvideo's keyword-only recording options
(:class:`rlvideo._core.options.RecordingOptions`), with the same triggers (by default the capped
cubic schedule on episodes), file names (``{name_prefix}-episode-{i}.mp4``, ``-step-{s}``), metadata
sidecars, ``keep_if`` and ``on_video_saved``, and the same endings: ``close()`` saves a video
in progress (``cut_short`` in its metadata unless its episode had ended), and keeps it as
``<name>.incomplete.mp4`` when the recording was cut off by a failure (an exception out of
``reset`` or ``step``, or out of a ``with env:`` block).

``RecordVideo`` picks the wrapper for the env: an AEC env (``pettingzoo.AECEnv``, or anything
with ``agent_iter``) gets an :class:`AECRecordVideo`, a PettingZoo ``BaseWrapper``; a parallel
env (``pettingzoo.ParallelEnv``) gets a :class:`ParallelRecordVideo`, a
``BaseParallelWrapper``. Both are :class:`RecordVideo` instances, and either can be made
directly. Everything the wrapper does not define (``agent_iter``, ``last``, ``agents``,
``action_space``, ...) reaches the env, as with any PettingZoo wrapper.

How a multi-agent rollout is counted:

- **the episode** ends when every agent is done: ``env.agents`` is empty, or every agent left
  is terminated or truncated. Its metadata's ``terminated`` (``truncated``) says some agent was
  terminated (truncated) at the end.
- **frames**: the reset frame, then, for a parallel env, one frame per ``step(actions)``; for
  an AEC env, one frame after every agent's ``step(action)``, since each move changes the
  scene. The ``step(None)`` that removes a dead agent (part of the AEC API) changes nothing and
  adds no frame. ``video_length`` counts these frames.
- **steps** (the ``step_trigger``'s index, ``-step-{s}`` in names, ``first_step`` and ``steps``
  in metadata) count env cycles: one ``step(actions)`` of a parallel env; for an AEC env, one
  cycle is every live agent acting once (a two-player game's cycle is two moves), and the move
  that ends the episode ends its cycle. A step video starts with the frame after the cycle that
  fired the trigger; a video that stops mid-cycle counts that partial cycle as a step.
- **rewards**: ``episode_return`` sums the rewards of every agent (a zero-sum game's is 0):
  each move's rewards (an AEC env's ``env.rewards`` after the move) count toward the video
  holding the frame after that move.
- **fps**: the ``fps`` argument, else ``env.metadata["render_fps"]``, else 30, as in Gymnasium;
  ``env_id`` in metadata is ``env.metadata["name"]`` (``"connect_four_v3"``).

An AEC env converted from a parallel one (``pettingzoo.make("aec", "butterfly/pistonball-v6")``)
moves its pieces only when the cycle's last agent acts, so its videos repeat frames; wrap its
parallel version instead.

Example:
    >>> import os
    >>> import pettingzoo
    >>> env = pettingzoo.make("aec", "classic/tictactoe-v3", render_mode="rgb_array")
    >>> env = RecordVideo(env, "videos", episode_trigger=lambda e: True)
    >>> for episode in range(2):
    ...     env.reset(seed=episode)
    ...     for agent in env.agent_iter():
    ...         obs, reward, terminated, truncated, info = env.last()
    ...         mask = None if terminated or truncated else obs["action_mask"]
    ...         env.step(None if mask is None else int(mask.argmax()))
    >>> env.close()
    >>> sorted(os.listdir("videos"))
    ['rl-video-episode-0.mp4', 'rl-video-episode-1.mp4']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlvideo._core.clips import resolve_triggers
from rlvideo._core.optional import import_optional
from rlvideo._core.options import RecordingOptions, recorder_options
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._recorder import ClosesOnExit, Recorder, records
from rlvideo.wrappers._machine import (
    MachineAttributes,
    Triggers,
    VideoMachine,
    warn_if_unclosed,
)
from rlvideo.wrappers.gymnasium import check_render_mode, gymnasium_settings

if TYPE_CHECKING:
    from typing_extensions import Unpack

    class _Wrapper:
        """What mypy sees of PettingZoo's wrapper classes (PettingZoo ships no type hints)."""

        env: Any

        def __init__(self, env: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...  # the env's attributes, as at run time
        def close(self) -> None: ...

    _AECBase = _Wrapper
    _ParallelBase = _Wrapper
    _ENV_CLASSES: tuple[type, type]
else:
    _utils = import_optional(
        "pettingzoo.utils", "pettingzoo", feature="rlvideo.wrappers.pettingzoo"
    )
    _Wrapper = object  # RecordVideo holds the shared logic; its subclasses add the real base
    _AECBase, _ParallelBase = _utils.BaseWrapper, _utils.BaseParallelWrapper
    _ENV_CLASSES = (_utils.env.AECEnv, _utils.env.ParallelEnv)

__all__ = ["AECRecordVideo", "ParallelRecordVideo", "RecordVideo"]


def _is_aec(env: Any) -> bool:
    """Whether ``env`` is an AEC env; raise for what is neither AEC nor parallel."""
    aec, parallel = _ENV_CLASSES
    if isinstance(env, (aec, parallel)):
        return isinstance(env, aec)
    if hasattr(env, "agent_iter"):
        return True
    if hasattr(env, "possible_agents"):
        return False
    raise InvalidArgumentError(
        f"rlvideo.wrappers.pettingzoo.RecordVideo records PettingZoo envs (AEC or parallel), got "
        f"{type(env).__name__}; for a Gymnasium env use rlvideo.RecordVideo"
    )


class RecordVideo(ClosesOnExit, MachineAttributes, _Wrapper):
    """Record videos of a PettingZoo env's rollouts, streaming frames to a background encoder.

    ``RecordVideo(env, ...)`` returns an :class:`AECRecordVideo` for an AEC env and a
    :class:`ParallelRecordVideo` for a parallel one (see the module's documentation for how
    frames, steps and rewards are counted).

    Args:
        env: A PettingZoo env made with ``render_mode="rgb_array"``.
        video_folder: Where videos go: a folder, or an fsspec URL such as
            ``s3://bucket/videos`` (see :mod:`rlvideo.storage`).
        episode_trigger: ``episode_id -> bool``: start a video at that episode.
        step_trigger: ``step_id -> bool``: start a video after that env cycle (counted over
            every episode).
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
        InvalidArgumentError: For an env that is not a PettingZoo env, or a bad trigger,
            video_length, fps, format, codec or prefix.

    Example:
        >>> import pettingzoo
        >>> env = pettingzoo.make(
        ...     "parallel", "butterfly/pistonball-v6", render_mode="rgb_array", max_cycles=5
        ... )
        >>> saved = []
        >>> env = RecordVideo(env, "videos", on_video_saved=lambda path, meta: saved.append(meta))
        >>> type(env).__name__, env.frames_per_sec
        ('ParallelRecordVideo', 20)
        >>> observations, infos = env.reset(seed=0)
        >>> while env.agents:
        ...     _ = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
        >>> env.close()
        >>> meta = saved[0]
        >>> meta.frames, meta.steps, meta.truncated, meta.env_id
        (6, 5, True, 'pistonball_v6')
    """

    def __new__(cls, env: Any = None, *args: Any, **kwargs: Any) -> RecordVideo:
        """Make the wrapper for ``env``'s kind: ``RecordVideo(env)`` is never a bare base."""
        chosen: type[RecordVideo] = cls
        if cls is RecordVideo:
            chosen = AECRecordVideo if _is_aec(env) else ParallelRecordVideo
        return super().__new__(chosen)

    def __init__(
        self,
        env: Any,
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
        super().__init__(env)  # the PettingZoo wrapper's: self.env
        check_render_mode(getattr(env, "render_mode", None), 'env(render_mode="rgb_array")')
        self.episode_trigger, self.step_trigger = resolve_triggers(episode_trigger, step_trigger)
        self.disable_logger = disable_logger
        self.gc_trigger = gc_trigger
        env_metadata: dict[str, Any] = dict(getattr(env, "metadata", None) or {})
        self.video_folder, frames_per_sec, self.video_length = gymnasium_settings(
            env_metadata, video_folder, fps, video_length
        )
        self.name_prefix = name_prefix
        self._acted: set[Any] = set()  # AEC: the agents that moved in this cycle
        self._actions: dict[Any, Any] = {}  # AEC: their actions, the cycle's step's action
        name = env_metadata.get("name")
        self._recorder = Recorder(
            self.video_folder, name_prefix=name_prefix,
            fps=frames_per_sec,
            env_id=name if isinstance(name, str) else None,
            **recorder_options("RecordVideo", options),
        )  # fmt: skip
        self._machine = VideoMachine(
            self._recorder, name_prefix=name_prefix, video_length=self.video_length,
            fps=frames_per_sec,
            triggers=Triggers(self.episode_trigger, self.step_trigger, gc_trigger),
        )  # fmt: skip

    @property
    def saved_videos(self) -> list[Any]:
        """Paths (URLs when remote) of the videos finished so far (all of them after close)."""
        return list(self._recorder.saved)

    def close(self) -> None:
        """Close the env, then finish every video (waiting for the encoder).

        A video in progress is saved, its metadata saying ``cut_short`` unless its episode
        had ended; if the recording was cut off by a failure (an exception out of ``reset``
        or ``step``, or out of a ``with env:`` block), it is kept as
        ``<name>.incomplete.<ext>`` instead.
        """
        try:
            super().close()
        finally:
            self._machine.release()  # a partial cycle counts as a step
            self._recorder.close()

    def start_recording(self, video_name: str) -> None:
        """Start a video named ``video_name`` by hand (its metadata's ``kind``: ``"manual"``)."""
        self._machine.start(video_name, "manual")

    def stop_recording(self) -> None:
        """Stop the current video; it is finalized in the background."""
        self._machine.stop()

    # -- the shared control flow ----------------------------------------------------------------
    def _after_reset(self, seed: int | None, info: Any) -> None:
        self._machine.begin_episode(seed)
        if self.recording:
            self._machine.reset_frame(info)
            self._capture_frame()
        self._recorder.poll()

    def _after_move(self, reward: float, step: _Step) -> None:
        """Count a move (a parallel step, or one AEC agent's): its frame, reward and cycle."""
        if step.cycle_end:
            self._machine.begin_step()
        self._machine.count_move(
            reward, step.terminated, step.truncated, step_end=step.cycle_end, action=step.action,
            info=step.info,
        )  # fmt: skip
        if self.recording:
            self._capture_frame()
        self._recorder.poll()

    def _capture_frame(self) -> None:
        frame = self.env.render()
        if isinstance(frame, list):
            if not frame:
                self._machine.stop_if_full()
                return
            frame = frame[-1]
        self._machine.capture(frame)

    def __del__(self) -> None:
        machine = self.__dict__.get("_machine")  # not getattr: PettingZoo forwards misses
        warn_if_unclosed([] if machine is None else [machine], "RecordVideo", "env")


@dataclass(frozen=True)
class _Step:
    """How a move ends its env cycle (the step): the step's flags, actions and infos."""

    cycle_end: bool
    terminated: bool = False
    truncated: bool = False
    action: Any = None  # the cycle's actions, by agent
    info: Any = None  # the env's infos, by agent


def _episode_end(agents: Any, terminations: Any, truncations: Any) -> tuple[bool, bool, bool]:
    """``(over, terminated, truncated)``: the episode is over when every agent is done.

    Example:
        >>> _episode_end(["a", "b"], {"a": True, "b": False}, {"a": False, "b": True})
        (True, True, True)
        >>> _episode_end(["a", "b"], {"a": True, "b": False}, {"a": False, "b": False})
        (False, False, False)
        >>> _episode_end([], {}, {})
        (True, True, False)
    """
    live = [a for a in agents if not (terminations.get(a) or truncations.get(a))]
    if live:
        return False, False, False
    terminated = any(bool(terminations.get(a)) for a in agents)
    truncated = any(bool(truncations.get(a)) for a in agents)
    if not (terminated or truncated):  # agents removed without a flag: the episode ended
        terminated = True
    return True, terminated, truncated


class AECRecordVideo(RecordVideo, _AECBase):
    """:class:`RecordVideo` for an AEC env: a frame after every agent's move.

    A ``pettingzoo.utils.BaseWrapper``: ``agent_iter``, ``last``, ``observe`` and the rest
    work as on the env. Steps count cycles: every live agent acting once.

    Example:
        >>> import pettingzoo
        >>> env = pettingzoo.make("aec", "classic/connect_four-v3", render_mode="rgb_array")
        >>> env = AECRecordVideo(env, "videos", step_trigger=lambda s: s == 1, video_length=3)
        >>> env.reset(seed=0)
        >>> for column in (0, 1, 0, 1):  # two cycles: cycle 1 ends with the fourth move
        ...     env.step(column)
        >>> env.step(0)
        >>> env.step(1)
        >>> env.recording
        False
        >>> env.close()
        >>> [p.name for p in env.saved_videos]
        ['rl-video-step-1.mp4']
    """

    @records
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Reset the env, and start a video if the episode trigger fires."""
        self.env.reset(seed=seed, options=options)
        self._acted.clear()
        self._actions = {}
        self._after_reset(seed, getattr(self.env, "infos", None))

    @records
    def step(self, action: Any) -> None:
        """Step the current agent; record the frame unless it was a dead agent's ``None``."""
        env = self.env
        agent = env.agent_selection
        dead = bool(env.terminations.get(agent) or env.truncations.get(agent))
        env.step(action)
        if dead:  # removing a dead agent changes nothing on screen
            self._recorder.poll()
            return
        reward = sum(float(r) for r in env.rewards.values())
        over, terminated, truncated = _episode_end(env.agents, env.terminations, env.truncations)
        self._acted.add(agent)
        self._actions[agent] = action
        live = {a for a in env.agents if not (env.terminations.get(a) or env.truncations.get(a))}
        step = _Step(over or live <= self._acted)
        if step.cycle_end:
            step = _Step(True, terminated, truncated, self._actions, getattr(env, "infos", None))
            self._acted.clear()
            self._actions = {}
        self._after_move(reward, step)


class ParallelRecordVideo(RecordVideo, _ParallelBase):
    """:class:`RecordVideo` for a parallel env: a frame and a step per ``step(actions)``.

    A ``pettingzoo.utils.BaseParallelWrapper``.

    Example:
        >>> import pettingzoo
        >>> env = pettingzoo.make(
        ...     "parallel", "butterfly/pistonball-v6", render_mode="rgb_array", max_cycles=20
        ... )
        >>> env = ParallelRecordVideo(env, "videos", step_trigger=lambda s: s % 10 == 0,
        ...                           video_length=2)
        >>> _ = env.reset(seed=0)
        >>> while env.agents:
        ...     _ = env.step({agent: env.action_space(agent).sample() for agent in env.agents})
        >>> env.close()
        >>> sorted(p.name for p in env.saved_videos)
        ['rl-video-step-0.mp4', 'rl-video-step-10.mp4']
    """

    @records
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
        """Reset the env, and start a video if the episode trigger fires."""
        observations, infos = self.env.reset(seed=seed, options=options)
        self._after_reset(seed, infos)
        return observations, infos

    @records
    def step(
        self, actions: dict[Any, Any]
    ) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, bool], dict[Any, bool], dict[Any, Any]]:
        """Step every agent, start a video if the step trigger fires, and record the frame."""
        observations, rewards, terminations, truncations, infos = self.env.step(actions)
        # done agents leave env.agents; with none left, the flags of the last step say how
        agents = self.env.agents or list(terminations)
        _, terminated, truncated = _episode_end(agents, terminations, truncations)
        reward = sum(float(r) for r in rewards.values())
        self._after_move(reward, _Step(True, terminated, truncated, actions, infos))
        return observations, rewards, terminations, truncations, infos
