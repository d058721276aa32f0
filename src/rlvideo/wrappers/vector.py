"""``RecordVideo`` for Gymnasium vector envs: tiled like Gymnasium 1.4's, or one video per env.

Tiled (the default) follows ``gymnasium.wrappers.vector.RecordVideo``: one video of every
sub-env's frame tiled into a grid, episodes counted on sub-env 0, both autoreset modes. The grid
pads prime env counts (5, 7) instead of collapsing to one strip
(:func:`rlvideo._core.grid.grid_shape`).

With ``per_env=True`` each sub-env gets its own videos, with its own episode boundaries and
counting: ``{name_prefix}-env-{k}-episode-{i}.mp4`` (and ``-env-{k}-step-{s}`` for step
triggers, ``s`` being the vector step).

``render()`` may return one frame per sub-env (Gymnasium's tuple) or one batch for all of them:
an ``(N, H, W, C)`` or ``(N, C, H, W)`` array or tensor, as GPU simulators render (IsaacLab,
ManiSkill, Brax, MuJoCo Playground). ``envs_to_record=[0, 3]`` (or ``k -> bool``) records only
those sub-envs: the frames of the others are never read, copied or sent off the device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from rlvideo._core.clips import fires, resolve_triggers
from rlvideo._core.frames import FrameConverter, is_frame
from rlvideo._core.grid import Tiler
from rlvideo._core.optional import import_optional
from rlvideo._core.options import RecordingOptions, constructor_args, recorder_options
from rlvideo._core.replay import step_digest
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._recorder import ClosesOnExit, VideoSink, records
from rlvideo.wrappers._machine import Triggers, VideoMachine, warn_if_unclosed
from rlvideo.wrappers._replay_state import ResetState, capture_reset, check_replayable
from rlvideo.wrappers._replaying import ReplayRecorder, make_recorder
from rlvideo.wrappers.gymnasium import check_render_mode, gymnasium_settings

import_optional("gymnasium", "gymnasium", feature="rlvideo.wrappers.vector.RecordVideo")

import gymnasium as gym  # noqa: E402 (after the check, which names the extra)
from gymnasium.vector import AutoresetMode, VectorWrapper  # noqa: E402
from gymnasium.vector.utils import iterate  # noqa: E402

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RecordVideo", "VectorOptions"]

logger = logging.getLogger(__name__)


class VectorOptions(RecordingOptions, total=False):
    """The vector wrapper's options: rlvideo's recording options, and which sub-envs to record.

    Attributes:
        per_env: One video per sub-env, ``{prefix}-env-{k}-episode-{i}``, each with its own
            episode boundaries and counting (default False: one tiled video).
        envs_to_record: The sub-envs to record, as indices (``[0, 3]``) or a predicate
            (``lambda k: k % 8 == 0``); None (default): all.
    """

    per_env: bool
    envs_to_record: Sequence[int] | Callable[[int], bool] | None


class _Track(VideoMachine):
    """One stream of videos: all envs tiled (counted on the first recorded one), or one sub-env.

    Besides the machine's counts, where sub-env ``source`` is in Gymnasium's autoreset.
    """

    def __init__(self, recorder: VideoSink, source: int, **settings: Any) -> None:
        super().__init__(recorder, **settings)
        self.source = source
        self.has_autoreset = False  # the next step is the sub-env's reset (next-step autoreset)
        self.reset_frame_next = False  # the next frame is a reset frame


class _SubEnvInfo(Mapping[str, Any]):
    """Sub-env ``index``'s view of a vector env's info: ``info[key][index]``, read on demand.

    Gymnasium's vector info holds an array per key and a mask ``"_key"`` saying which sub-envs
    have it; nothing is copied unless the overlay or the track asks for a key.
    """

    def __init__(self, info: Mapping[str, Any], index: int) -> None:
        self._info, self._index = info, index

    def __getitem__(self, key: str) -> Any:
        if key.startswith("_") or not self._has(key):
            raise KeyError(key)
        value = self._info[key]
        if isinstance(value, Mapping):
            return _SubEnvInfo(value, self._index)
        try:
            return value[self._index]
        except (TypeError, IndexError, KeyError):
            return value  # not per sub-env

    def _has(self, key: str) -> bool:
        if key not in self._info:
            return False
        mask = self._info.get(f"_{key}")
        try:
            return mask is None or bool(mask[self._index])
        except (TypeError, IndexError, KeyError):
            return True

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._info if not key.startswith("_") and self._has(key))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class RecordVideo(ClosesOnExit, VectorWrapper, gym.utils.RecordConstructorArgs):
    """Record videos of a vector env, streaming frames to a background encoder.

    A drop-in for ``gymnasium.wrappers.vector.RecordVideo``: the arguments up to ``gc_trigger``
    are Gymnasium 1.4's. Like :class:`rlvideo.RecordVideo`, a ``video_length=L`` video holds
    exactly L frames and a video whose name is taken is replaced once the new one is final (said
    once per folder; ``overwrite=False`` refuses it).

    Args:
        env: A vector env made with ``render_mode="rgb_array"``.
        video_folder: Where videos go: a folder, or an fsspec URL such as ``s3://bucket/videos``
            (see :mod:`rlvideo.storage`).
        video_aspect_ratio: The tiled video's target aspect ratio, e.g. ``(16, 9)``.
        record_first_only: Record sub-env 0 only.
        episode_trigger: ``episode_id -> bool`` (episodes of sub-env 0; per env: of each env).
        step_trigger: ``step_id -> bool`` on the vector step count.
        video_length: 0 records whole episodes; L > 0 records L frames.
        name_prefix: Start of every file name.
        fps: Frames per second; else ``metadata["render_fps"]``; else 30. Kept as
            ``frames_per_sec``, read as each video starts: a value set later applies to the
            next video.
        disable_logger: Accepted for compatibility (it silenced moviepy).
        gc_trigger: ``episode_id -> bool``: ``gc.collect()`` after a video of that episode.
        **options: Which sub-envs are recorded, how (:class:`VectorOptions`):

            - ``per_env``: one video per sub-env, ``{prefix}-env-{k}-episode-{i}``, each with
              its own episode boundaries and counting;
            - ``envs_to_record``: the sub-envs to record, as indices (``[0, 3]``) or a
              predicate (``lambda k: k % 8 == 0``); all by default. Tiled, their frames are
              tiled and episodes are counted on the first of them. The others cost nothing;

            and rlvideo's recording options, the same for every wrapper (format, codec, crf,
            overwrite, metadata, track, overlay, on_video_saved, keep_if, encoder,
            encoder_options, storage_options): see :class:`rlvideo._core.options.RecordingOptions`.
            Tiled, the overlay and the data track show the first recorded sub-env's values.

    Example:
        >>> import os
        >>> import gymnasium as gym
        >>> envs = gym.make_vec("CartPole-v1", num_envs=3, render_mode="rgb_array")
        >>> envs = RecordVideo(envs, "videos", per_env=True, episode_trigger=lambda e: e == 0)
        >>> _ = envs.reset(seed=1)
        >>> for _ in range(60):
        ...     _ = envs.step(envs.action_space.sample())
        >>> envs.close()
        >>> sorted(os.listdir("videos"))
        ['rl-video-env-0-episode-0.mp4', 'rl-video-env-1-episode-0.mp4', 'rl-video-env-2-episode-0.mp4']
    """  # noqa: E501 (doctest output stays on one line)

    def __init__(  # noqa: PLR0913 (Gymnasium's 11 arguments, same order: the drop-in's contract)
        self,
        env: gym.vector.VectorEnv[Any, Any, Any],
        video_folder: str,
        video_aspect_ratio: tuple[int, int] = (1, 1),
        record_first_only: bool = False,
        episode_trigger: Callable[[int], bool] | None = None,
        step_trigger: Callable[[int], bool] | None = None,
        video_length: int = 0,
        name_prefix: str = "rl-video",
        fps: int | None = None,
        disable_logger: bool = True,
        gc_trigger: Callable[[int], bool] | None = lambda episode: True,
        **options: Unpack[VectorOptions],
    ) -> None:
        VectorWrapper.__init__(self, env)
        per_env = bool(options.pop("per_env", False))
        envs_to_record = options.pop("envs_to_record", None)
        gym.utils.RecordConstructorArgs.__init__(
            self, _disable_deepcopy=True, **constructor_args(
                video_folder=video_folder, video_aspect_ratio=video_aspect_ratio,
                record_first_only=record_first_only, episode_trigger=episode_trigger,
                step_trigger=step_trigger, video_length=video_length, name_prefix=name_prefix,
                fps=fps, disable_logger=disable_logger, gc_trigger=gc_trigger, per_env=per_env,
                envs_to_record=envs_to_record, **options,
            ),
        )  # fmt: skip
        check_render_mode(env.render_mode)
        if (
            not isinstance(video_aspect_ratio, tuple)
            or len(video_aspect_ratio) != 2
            or min(video_aspect_ratio) <= 0
        ):
            raise InvalidArgumentError(
                f"video_aspect_ratio must be two positive numbers like (16, 9), "
                f"got {video_aspect_ratio!r}"
            )
        self.episode_trigger, self.step_trigger = resolve_triggers(episode_trigger, step_trigger)
        mode = env.metadata.get("autoreset_mode")
        if mode is None:
            logger.warning(
                "%s metadata doesn't specify its autoreset mode, therefore, defaulting to next "
                "step.", env,
            )  # fmt: skip
            mode = AutoresetMode.NEXT_STEP
        self.autoreset_mode = mode
        if mode == AutoresetMode.SAME_STEP:
            logger.warning(
                "Vector environment's autoreset mode is same-step: recorded episodes will not "
                "contain the last frame of the episode."
            )
        self.disable_logger = disable_logger
        self.gc_trigger = gc_trigger
        self.record_first_only = record_first_only
        self.video_aspect_ratio = video_aspect_ratio
        self.per_env = per_env
        self.video_folder, frames_per_sec, self.video_length = gymnasium_settings(
            self.metadata, video_folder, fps, video_length
        )
        self.name_prefix = name_prefix
        self.envs_to_record = _selected_envs(envs_to_record, record_first_only, self.num_envs)
        """The sub-envs recorded, in order."""
        spec = getattr(env, "spec", None)
        given = recorder_options("rlvideo.wrappers.vector.RecordVideo", options)
        spec_json = None
        if given["replay"]:
            if not per_env and (given["replay_options"] or {}).get("log") == "all":
                raise InvalidArgumentError(
                    'replay_options={"log": "all"} logs each sub-env\'s episodes: pass '
                    "per_env=True (a tiled video logs what it records)"
                )
            self._sub_envs = _SubEnvStates(env, mode)
            spec, spec_json = self._sub_envs.spec, self._sub_envs.spec_json
        recorder = make_recorder(
            self.video_folder, name_prefix=name_prefix, fps=frames_per_sec,
            env_id=getattr(spec, "id", None), spec_json=spec_json, given=given,
            mid_episode=self.step_trigger is not None,
        )  # fmt: skip
        self._recorder: VideoSink = recorder
        self._replay = recorder if isinstance(recorder, ReplayRecorder) else None
        if self._replay is not None:
            self._replay.renders_together = True  # render() draws every sub-env
            if not per_env:  # one video of every recorded sub-env's frame, tiled
                self._replay.tile(self.envs_to_record, video_aspect_ratio)
        triggers = Triggers(  # steps: for all at once; a replayed video holds no frames
            episode=self.episode_trigger, gc=None if self._replay else gc_trigger
        )
        settings = {
            "name_prefix": name_prefix, "video_length": self.video_length, "triggers": triggers,
            "fps": frames_per_sec,
        }  # fmt: skip
        self._tracks = [
            _Track(self._recorder, k, env_index=k if per_env else None, **settings)
            for k in (self.envs_to_record if per_env else self.envs_to_record[:1])
        ]
        self._tiler = Tiler(video_aspect_ratio)
        # replay=True: the sub-envs whose steps are logged, and whether each resets next step
        sources = [track.source for track in self._tracks] if per_env else self.envs_to_record
        self._logged_resets = dict.fromkeys(sources, False)
        if self._replay is not None:
            self._sub_envs.shim_resets(sources)
        self._tile_converters = {k: FrameConverter() for k in self.envs_to_record}

    # -- Gymnasium's attributes ------------------------------------------------------------------
    @property
    def episode_id(self) -> int:
        """Episodes started on sub-env 0 (-1 before the first reset)."""
        return self._tracks[0].episode_id

    @property
    def recording(self) -> bool:
        """Whether any video is being recorded."""
        return any(track.recording for track in self._tracks)

    @property
    def step_id(self) -> int:
        """Vector steps taken, counted from 0 (-1 before the first)."""
        return self._tracks[0].step_id

    @property
    def frames_per_sec(self) -> Any:
        """The next videos' frame rate (set it to change the videos that start after)."""
        return self._tracks[0].fps

    @frames_per_sec.setter
    def frames_per_sec(self, fps: Any) -> None:
        for track in self._tracks:
            track.fps = fps

    @property
    def has_autoreset(self) -> bool:
        """Whether sub-env 0 resets on the next step (next-step autoreset)."""
        return self._tracks[0].has_autoreset

    @property
    def frame_rows(self) -> int:
        """Rows of the tiled grid (-1 before the first frame)."""
        return self._tiler.rows

    @property
    def frame_cols(self) -> int:
        """Columns of the tiled grid (-1 before the first frame)."""
        return self._tiler.cols

    @property
    def saved_videos(self) -> list[Any]:
        """Paths (URLs when remote) of the videos finished so far (all of them after close)."""
        return list(self._recorder.saved)

    # -- the env loop ----------------------------------------------------------------------------
    @records
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset, counting an episode for every sub-env reset, then record the reset frames."""
        mask = None if options is None else options.get("reset_mask")
        if self._replay is not None:
            given = {k: v for k, v in (options or {}).items() if k != "reset_mask"}
            sub_options = given if options is not None else None
            resetting = [k for k in self._logged_resets if mask is None or mask[k]]
            unseeded = [k for k in resetting if _seed_of(seed, k) is None]
            states = self._sub_envs.before_reset(resetting, fetch=unseeded)
            for k in resetting:
                self._replay.before_reset(states.get(k), _seed_of(seed, k), sub_options, k)
        for track in self._tracks:
            if mask is None or mask[track.source]:
                self._new_episode(track, _seed_of(seed, track.source))
        obs, info = super().reset(seed=cast(Any, seed), options=options)  # Gymnasium takes lists
        if self._replay is not None:
            self._sub_envs.take_resets()  # taken above already (same-step: the reset shims)
            by_env = list(iterate(self.single_observation_space, obs))
            for k in self._logged_resets:
                if mask is None or mask[k]:
                    self._replay.after_reset(by_env[k], k)
                    self._logged_resets[k] = False
        self._capture(info, mask)
        for track in self._tracks:
            if mask is None or mask[track.source]:
                track.has_autoreset = False
        self._recorder.poll()
        return obs, info

    @records
    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step, follow each sub-env's episode boundaries, and record the frames."""
        if self._replay is not None:
            self._before_replayed_step()
        obs, rewards, terminations, truncations, info = self.env.step(actions)
        if self._replay is not None:
            self._after_replayed_step(actions, obs, rewards, terminations, truncations)
        stepped = []
        for track in self._tracks:
            k = track.source
            track.begin_step()
            done = bool(terminations[k] or truncations[k])
            outcome = (rewards[k], terminations[k], truncations[k])
            if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                if track.has_autoreset:  # this step was sub-env k's reset: a reset frame
                    self._new_episode(track)
                else:
                    stepped.append((track, outcome))
                track.has_autoreset = done
            elif self.autoreset_mode == AutoresetMode.SAME_STEP and done:
                # the episode's last step: counted, but its frame is lost to the reset
                track.count_move(*outcome, action=_action_of(actions, k), info=_SubEnvInfo(info, k))
                self._new_episode(track)
            else:
                stepped.append((track, outcome))
        if self.step_trigger and fires(self.step_trigger, self.step_id, "step_trigger"):
            for track in self._tracks:
                track.start_clip("step")
        for track, outcome in stepped:
            k = track.source
            track.count_move(*outcome, action=_action_of(actions, k), info=_SubEnvInfo(info, k))
        if self._replay is not None and self._sub_envs.same_step:
            self._log_same_step_resets(obs)  # after the steps they ended were counted
        self._capture(info)
        self._recorder.poll()
        return obs, rewards, terminations, truncations, info

    def close(self, **kwargs: Any) -> None:
        """Close the env, then finish every video (waiting for the encoder).

        Videos in progress end as in :meth:`rlvideo.RecordVideo.close`: saved, with
        ``cut_short`` in their metadata, or kept as ``.incomplete`` when the recording was cut
        off by a failure (an exception out of ``reset`` or ``step``, or out of a
        ``with envs:`` block).
        """
        try:
            super().close(**kwargs)
        finally:
            if self._replay is not None:
                self._sub_envs.remove_shims()
            for track in self._tracks:
                track.release()
            self._recorder.close()

    def start_recording(self, video_name: str) -> None:
        """Start a tiled video named ``video_name`` (not available with ``per_env=True``).

        Its metadata's ``kind`` is ``"manual"``; the triggers start ``"episode"`` and
        ``"step"`` videos.
        """
        self._only_track().start(video_name, "manual")

    def stop_recording(self) -> None:
        """Stop the tiled video; it is finalized in the background."""
        self._only_track().stop()

    # -- internals ---------------------------------------------------------------------------------
    def _before_replayed_step(self) -> None:
        """A sub-env that resets in this step (next-step autoreset): its RNG state before."""
        assert self._replay is not None
        resetting = [k for k, resets in self._logged_resets.items() if resets]
        if resetting:
            states = self._sub_envs.before_reset(resetting)
            for k in resetting:
                self._replay.before_reset(states[k], None, None, k)

    def _after_replayed_step(
        self,
        actions: Any,
        obs: Any,
        rewards: Any,
        terminations: Any,
        truncations: Any,
    ) -> None:
        """Each recorded sub-env's reset, or its action and the digest of its step.

        Same-step autoreset: a sub-env whose episode ended was reset inside the step; its step's
        digest was taken there (:meth:`_SubEnvStates.shim_resets`), and the reset is logged after
        the step was counted (:meth:`_log_same_step_resets`).
        """
        assert self._replay is not None
        by_env = list(iterate(self.single_observation_space, obs))
        same_step = self._sub_envs.same_step
        for k, resets in self._logged_resets.items():
            done = bool(terminations[k] or truncations[k])
            if resets:
                self._replay.after_reset(by_env[k], k)
            else:
                final = self._sub_envs.final_digests.pop(k) if same_step and done else None
                self._replay.after_step(
                    _action_of(actions, k), by_env[k], rewards[k], terminations[k],
                    truncations[k], k, digest=final,
                )  # fmt: skip
            self._logged_resets[k] = done and not same_step

    def _log_same_step_resets(self, obs: Any) -> None:
        """The resets inside this step (same-step autoreset): state taken, observation seen."""
        assert self._replay is not None
        states = self._sub_envs.take_resets()
        if not states:
            return
        by_env = list(iterate(self.single_observation_space, obs))
        for k, state in states.items():
            if k in self._logged_resets:
                self._replay.begin_reset(state, k, in_step=True)
                self._replay.after_reset(by_env[k], k)

    def _new_episode(self, track: _Track, seed: int | None = None) -> None:
        track.begin_episode(seed)
        track.reset_frame_next = True

    def _capture(self, info: Any, reset_mask: Any = None) -> None:
        """Each recording video's frame of this reset or step.

        A per-env video whose sub-env a masked reset (``reset_mask``) left alone takes no frame:
        its sub-env neither stepped nor reset, so the frame would repeat the last one.
        """
        for track in self._tracks:
            if track.reset_frame_next:
                track.reset_frame(_SubEnvInfo(info, track.source))
            track.reset_frame_next = False
        if not self.recording:
            return
        capturing = [
            t
            for t in self._tracks
            if t.recording and (reset_mask is None or not self.per_env or reset_mask[t.source])
        ]
        if not capturing:
            return
        replay = self._replay
        if replay is not None and not any(replay.is_live(t.video_id) for t in capturing):
            for track in capturing:
                track.count_frame()  # the renderer draws it
            return
        frames = _frames_by_env(self.env.render(), self.num_envs)
        for track in capturing:
            if self.per_env:
                frame = frames[track.source]  # a view: a tensor stays on its device
            else:
                frame = self._tiler(
                    [self._tile_converters[k](frames[k]) for k in self.envs_to_record]
                )
            if replay is None or replay.is_live(track.video_id):
                track.add_frame(frame)
            else:
                track.add_frame(None)
            track.stop_if_full()

    def __del__(self) -> None:
        # Gymnasium's tests call __del__ on an object whose __init__ never ran
        warn_if_unclosed(
            self.__dict__.get("_tracks", []), "rlvideo.wrappers.vector.RecordVideo", "envs"
        )

    def _only_track(self) -> _Track:
        if self.per_env:
            raise InvalidArgumentError(
                "start_recording/stop_recording name one tiled video; with per_env=True the "
                "triggers start and stop each sub-env's videos"
            )
        return self._tracks[0]


def _selected_envs(
    envs_to_record: Sequence[int] | Callable[[int], bool] | None,
    record_first_only: bool,
    num_envs: int,
) -> list[int]:
    """The sub-envs to record: all, the first, the listed ones, or those a predicate picks.

    Example:
        >>> _selected_envs(None, False, 4), _selected_envs([3, 0], False, 4)
        ([0, 1, 2, 3], [0, 3])
        >>> _selected_envs(lambda k: k % 2 == 1, False, 4), _selected_envs(None, True, 4)
        ([1, 3], [0])
    """
    if envs_to_record is None:
        return [0] if record_first_only else list(range(num_envs))
    if record_first_only:
        raise InvalidArgumentError(
            "pass record_first_only=True or envs_to_record, not both (envs_to_record=[0] is "
            "record_first_only)"
        )
    if callable(envs_to_record):
        chosen = [k for k in range(num_envs) if envs_to_record(k)]
    elif isinstance(envs_to_record, (str, bytes)) or not isinstance(envs_to_record, Sequence):
        chosen = None
    else:
        chosen = sorted(set(envs_to_record))
    if not chosen or any(
        isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < num_envs for k in chosen
    ):
        raise InvalidArgumentError(
            f"envs_to_record must pick at least one sub-env: indices in [0, {num_envs - 1}] "
            f"or a predicate k -> bool; got {envs_to_record!r}"
        )
    return chosen


def _frames_by_env(frames: Any, num_envs: int) -> Any:
    """What ``render()`` gave, indexable by sub-env: one frame each, or one batch for all."""
    if isinstance(frames, Sequence) and not isinstance(frames, str) and len(frames) == num_envs:
        return frames
    shape = getattr(frames, "shape", None)
    if is_frame(frames) and shape is not None and len(shape) == 4 and shape[0] == num_envs:
        return frames  # (N, H, W, C) or (N, C, H, W), NumPy or a tensor: indexed, not copied
    got = type(frames).__name__ + ("" if shape is None else f" of shape {tuple(shape)}")
    raise InvalidArgumentError(
        f"render() of the vector env returned {got}; expected one frame per sub-env "
        f"({num_envs}): a sequence of {num_envs} frames, or one ({num_envs}, H, W, C) or "
        f"({num_envs}, C, H, W) batch. Make it with render_mode='rgb_array'."
    )


def _action_of(actions: Any, index: int) -> Any:
    """Sub-env ``index``'s action, or None when it cannot be told apart."""
    if actions is None:
        return None
    try:
        return actions[index]
    except (TypeError, IndexError, KeyError):
        return None


def _seed_of(seed: int | list[int] | None, index: int) -> int | None:
    """The seed a vector reset gives sub-env ``index`` (Gymnasium: ``seed + index``)."""
    if seed is None:
        return None
    if isinstance(seed, int):
        return seed + index
    return seed[index] if index < len(seed) else None


class _SubEnvStates:
    """The sub-envs of a vector env that ``replay=True`` replays, or a clear error.

    ``before_reset(ks)`` gives what :func:`capture_reset` reads of each sub-env about to reset:
    the sub-env itself in a sync vector env; in an async one, a stand-in holding its
    ``np_random``, fetched from the worker processes (one round trip for every sub-env that
    resets at once, none for resets given a seed).
    """

    def __init__(self, env: Any, mode: Any) -> None:
        base = env.unwrapped
        self.envs: list[Any] | None = getattr(base, "envs", None)
        self.vector = env
        makers = getattr(base, "env_fns", None)
        problem = ""
        if self.envs is None and makers is None:
            problem = (
                "needs sync sub-envs or an AsyncVectorEnv's: make the vector env with "
                'gymnasium.make_vec(..., vectorization_mode="sync" or "async")'
            )
        elif mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            problem = f"needs next-step or same-step autoreset; this vector env autoresets {mode}"
        elif mode == AutoresetMode.SAME_STEP and self.envs is None:
            problem = (
                "in same-step autoreset needs sync sub-envs (an async one resets in its worker, "
                "where its RNG state cannot be taken): "
                'gymnasium.make_vec(..., vectorization_mode="sync")'
            )
        if problem:
            raise InvalidArgumentError(f"replay=True with a vector env {problem}, or record live")
        self.same_step = mode == AutoresetMode.SAME_STEP
        self._taken: dict[int, ResetState] = {}  # same-step: resets inside the vector step
        self.final_digests: dict[int, int] = {}  # same-step: the digests of the steps they ended
        self._shimmed: list[tuple[Any, dict[str, Any]]] = []  # (env, its own methods)
        if self.envs is not None:
            self.spec = getattr(self.envs[0], "spec", None)
            self.spec_json = _one_spec([check_replayable(sub) for sub in self.envs])
            return
        assert makers is not None
        probe = makers[0]()  # a sub-env made here, as the workers made theirs, to check it
        try:
            self.spec = getattr(probe, "spec", None)
            self.spec_json = check_replayable(probe)
            if getattr(probe.unwrapped, "ale", None) is not None:
                raise InvalidArgumentError(
                    "replay=True with an async vector env of Atari games: ALE's state stays in "
                    'the worker processes; use gymnasium.make_vec(..., vectorization_mode="sync"),'
                    " or record live"
                )
        finally:
            probe.close()
        specs = [sub.to_json() if sub is not None else "" for sub in env.get_attr("spec")]
        _one_spec([self.spec_json, *specs])

    def before_reset(
        self, indices: Sequence[int], fetch: Sequence[int] | None = None
    ) -> dict[int, Any]:
        """What to take each sub-env's state from, for ``indices`` about to reset.

        Async, only the sub-envs in ``fetch`` (default: all) are asked for their state: a reset
        given a seed needs none.
        """
        if self.envs is not None:
            return {k: self.envs[k] for k in indices}
        fetch = indices if fetch is None else fetch
        if not fetch:
            return {}
        generators = self.vector.get_attr("np_random")  # copies, pickled by the workers
        return {k: _FetchedState(generators[k]) for k in fetch}

    def shim_resets(self, indices: Sequence[int]) -> None:
        """Same-step autoreset: take these sub-envs' RNG state before each of their resets.

        The vector step resets them inside, where nothing else can take it; and the step that
        ended the episode is digested there, before that reset (an env may return one array,
        filled again by its reset, that ``info["final_obs"]`` then shows). Called once the
        wrapper is built (a constructor that fails leaves the envs alone), for the sub-envs
        logged only; their own ``reset`` and ``step`` are given back at close
        (:meth:`remove_shims`).
        """
        if self.same_step and self.envs is not None:
            for index in indices:
                self._shim(index, self.envs[index])

    def _shim(self, index: int, env: Any) -> None:
        reset, step = env.reset, env.step

        def logged_reset(*, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
            self._taken[index] = capture_reset(env, seed, options)
            return reset(seed=seed, options=options)

        def digested_step(action: Any) -> Any:
            result = step(action)
            obs, reward, terminated, truncated, _ = result
            if terminated or truncated:  # its reset comes next, inside the vector step
                self.final_digests[index] = step_digest(obs, reward, terminated, truncated)
            return result

        own = {name: env.__dict__[name] for name in ("reset", "step") if name in env.__dict__}
        env.reset, env.step = logged_reset, digested_step
        self._shimmed.append((env, own))

    def take_resets(self) -> dict[int, ResetState]:
        """The resets taken since the last call, by sub-env (same-step autoreset).

        The final digests not taken by then (a step that raised) are let go with them.
        """
        taken, self._taken = self._taken, {}
        self.final_digests.clear()
        return taken

    def remove_shims(self) -> None:
        """Give the sub-envs their own ``reset`` and ``step`` back."""
        for env, own in self._shimmed:
            for name in ("reset", "step"):
                env.__dict__.pop(name, None)
            env.__dict__.update(own)  # what the env had set on itself, if anything
        self._shimmed.clear()


class _FetchedState:
    """An async sub-env's ``np_random``, as :func:`capture_reset` reads it from an env."""

    def __init__(self, np_random: Any) -> None:
        self.np_random = np_random
        self.unwrapped = self


def _one_spec(specs: list[str]) -> str:
    """The sub-envs' spec: they must all be made alike."""
    if len(set(specs)) != 1:
        raise InvalidArgumentError(
            "replay=True with a vector env needs sub-envs made from one spec (gymnasium.make_vec "
            "makes them so); these differ, or record live"
        )
    return specs[0]
