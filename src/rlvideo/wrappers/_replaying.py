"""``replay=True`` on the env's side: log what replaying needs, render nothing in the loop.

:class:`ReplayRecorder` stands where a :class:`~rlvideo.recording._recorder.Recorder` stands
under a wrapper's :class:`~rlvideo.wrappers._machine.VideoMachine`: the machine starts, feeds
and stops videos exactly as in live recording (the same triggers, names, counts), but a
"frame" is only counted. The wrapper tells it, besides, what replaying needs:
:meth:`~ReplayRecorder.before_reset` (the RNG state, before the env's reset),
:meth:`~ReplayRecorder.after_reset` and :meth:`~ReplayRecorder.after_step` (the action and a
digest of what the env returned: about 0.5 us a CartPole step; a step of a video under way
(or of an episode that keeps nothing) goes the short way, :meth:`~ReplayRecorder.lean_step`).

When a video ends, ``keep_if`` decides on its metadata (every field is known without
pixels), its replay file ``<stem>.replay.npz`` is written beside where the video goes, and a
:class:`~rlvideo.wrappers._renderer.RenderPool` renders it in the background. ``poll()`` and
``close()`` collect the results: the videos are saved and handed to ``on_video_saved`` in the
env's thread, as live recording does. A replay that diverges (or an env that cannot be made
again) is said once, on the ``rlvideo.replay`` logger, and later videos are recorded live
(``fallback="live"``) by a live :class:`Recorder` made then.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import pickle
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.naming import check_file_name, check_name_prefix, clip_stem
from rlvideo._core.options import DEFAULTS
from rlvideo._core.replay import (
    REPLAY_SUFFIX,
    LoggedSegment,
    LoggedVideo,
    ReplayHeader,
    check_replay_options,
    chosen_by_return,
    file_arrays,
    logged_segment,
    replay_file,
    step_digest,
    unreplayable_actions,
)
from rlvideo._core.spec import WriterSpec, check_fps
from rlvideo._core.track import check_track, reward_value
from rlvideo.errors import InvalidArgumentError, RLVideoError, StorageError
from rlvideo.io.recovery import remove_leftovers
from rlvideo.io.replayfile import write_replay
from rlvideo.recording._interrupts import deferred_interrupts
from rlvideo.recording._recorder import DEFAULT_FPS, Recorder
from rlvideo.storage import SavedPath, open_destination
from rlvideo.wrappers._ray_pool import RayRenderPool
from rlvideo.wrappers._renderer import RenderPool, RenderResult, package_versions
from rlvideo.wrappers._replay_state import ResetState, capture_reset, free_camera_lookat

if TYPE_CHECKING:
    from rlvideo.wrappers._machine import VideoMachine

__all__ = ["ReplayRecorder", "make_recorder"]

logger = logging.getLogger("rlvideo.replay")


class _Episode:
    """One live episode: its reset and, per step, the action and the digest."""

    def __init__(self, index: int, reset: ResetState, digest: int, first_step: int) -> None:
        self.index = index
        self.reset = reset
        self.actions: list[Any] = []
        self.digests = [digest]
        self.shown: list[Any] = []  # per step, the reward the wrapper shows, where it has its own
        self.first_step = first_step  # the global index of its first step
        self.episode_return = 0.0
        self.ended = False  # terminated or truncated
        self.logged = True  # False: no video can take its steps, so none are kept

    @property
    def events(self) -> int:
        """Its reset and steps so far (the event of the next frame is ``events - 1``)."""
        return len(self.digests)


class _Stream:
    """One stream of episodes: the env's, or a vector sub-env's (``per_env=True``)."""

    def __init__(self, index: int | None) -> None:
        self.index = index  # the sub-env, None for a single env
        self.episode: _Episode | None = None
        self.reset: ResetState | None = None
        self.steps = 0  # env steps over every episode


@dataclass
class _Segment:
    episode: _Episode
    first_event: int  # 0: the reset frame; t: the frame after step t
    frames: int = 0
    counted_to: int = -1  # the last event counted into the video (SB3: one after its frames)


@dataclass
class _Tile:
    """One more sub-env of a tiled video: its episodes' events, frame by frame."""

    stream: int
    segments: list[_Segment] = field(default_factory=list)
    holds: list[int] = field(default_factory=list)  # frames showing its last image again


def _count_event(segments: list[_Segment], holds: list[int], episode: _Episode, at: int) -> None:
    """Count frame ``at`` of a tiled video to one of its sub-envs.

    The frame shows ``episode``'s latest event, or, with none since the last frame (a masked
    reset left this sub-env alone), the last image again.
    """
    event = episode.events - 1
    last = segments[-1] if segments else None
    if last is not None and last.episode is episode and last.first_event + last.frames > event:
        holds.append(at)
        return
    if last is None or last.episode is not episode:
        segments.append(_Segment(episode, event))
    segments[-1].frames += 1


class _Lean:
    """What :meth:`ReplayRecorder.lean_step` updates, at hand.

    A video's (``video_id``; its metadata and its segment on the latest episode), or no
    video's (``video_id``, ``meta`` and ``segment`` None): an episode nothing logs.
    """

    __slots__ = ("episode", "meta", "segment", "stream", "video_id")

    def __init__(
        self, video_id: int | None, meta: VideoMetadata | None, segment: _Segment | None,
        episode: _Episode, stream: _Stream,
    ) -> None:  # fmt: skip
        self.video_id = video_id
        self.meta = meta
        self.segment = segment
        self.episode = episode
        self.stream = stream


@dataclass
class _Video:
    meta: VideoMetadata
    start: dict[str, Any]  # Recorder.start's arguments, for the renderer
    file_name: str
    overwrite: bool | None
    segments: list[_Segment] = field(default_factory=list)
    live_id: int | None = None  # a video recorded live (after a fallback)
    stream: int | None = None  # its sub-env, for a per-env vector video
    shown_first: bool = False  # its first frame follows a step shown, not counted (SB3)
    tiles: list[_Tile] | None = None  # a tiled video's other sub-envs (its own is ``stream``)
    holds: list[int] = field(default_factory=list)  # tiled: frames its own sub-env sat out
    counted: list[list[float]] = field(default_factory=list)  # tiled: what each step counted
    checked: bool = True  # False: its name is checked on disk when it is sent (send_ended)
    refused: bool = False  # its name was refused (an error said so): it is not rendered


class ReplayRecorder:
    """The recorder of a ``replay=True`` wrapper (see the module's docstring).

    Args:
        video_folder: Where videos (and their replay files) go: a folder or fsspec URL.
        name_prefix: Start of every file name.
        fps: Every video's frame rate unless :meth:`start` is given one.
        env_id: The env's id, for the metadata.
        spec_json: The env's spec (:func:`~rlvideo.wrappers._replay_state.check_replayable`).
        mid_episode: Whether a trigger may start a video after an episode's reset (a step
            trigger). Without one, an episode that no video holds after its reset keeps
            nothing of its steps: most episodes, under a sparse episode schedule. A video
            started by hand in such an episode is recorded live.
        **options: The recording options, ``replay_options`` included.
    """

    def __init__(
        self,
        video_folder: str,
        *,
        name_prefix: str,
        fps: Any,
        env_id: str | None,
        spec_json: str,
        mid_episode: bool = True,
        **options: Any,
    ) -> None:
        check_name_prefix(name_prefix)
        given = {**DEFAULTS, **options}
        self.options = given
        self.replay = check_replay_options(given["replay_options"])
        self.spec = WriterSpec.build(
            format=given["format"], fps=DEFAULT_FPS if fps is None else fps,
            codec=given["codec"], crf=given["crf"], options=given["encoder_options"],
            overwrite=given["overwrite"], float_range=given["float_range"],
        )  # fmt: skip
        check_track(given["track"], metadata=given["metadata"])
        for name in ("on_video_saved", "keep_if"):
            if given[name] is not None and not callable(given[name]):
                raise InvalidArgumentError(
                    f"{name} must be a callable or None, got {given[name]!r}"
                )
        self.video_folder = video_folder
        self.name_prefix = name_prefix
        self.env_id = env_id
        self.spec_json = spec_json
        self.mid_episode = mid_episode or self.replay["log"] == "all"
        self.keep_if = given["keep_if"]
        self.on_video_saved = given["on_video_saved"]
        self.destination = open_destination(video_folder, given["storage_options"])
        self.destination.prepare()
        self._present = self._names_present()  # see _check_name
        self._before = frozenset(self._present or ())  # the folder as the run started
        self._names_checked = False  # whether a name was checked on disk (and its folder)
        self.saved: list[SavedPath] = []
        """Every video saved so far, in the order their renders finished."""
        self._replay_names: list[str] = []  # the replay files written so far
        self._taken: deque[tuple[int, RenderResult]] = deque()  # results taken, not handled
        self._to_publish: list[str] = []  # replay files to upload (outside Ctrl-C's hold)
        self._writer = self._writer_settings(given)
        self._overlay = self._pickled_overlay(given["overlay"])
        self._versions = package_versions()
        self._videos: dict[int, _Video] = {}
        self._next_id = 0
        self._streams: dict[int | None, _Stream] = {}
        self._envs: dict[int | None, Any] = {}  # each stream's live env, when it is here
        self._lookat: dict[int | None, list[float] | None] = {}  # see _first_frame
        self.renders_together = False
        """Whether a live frame renders every stream's env at once (a vector env's render)."""
        self._tiling: tuple[list[int], tuple[float, float], tuple[int, int] | None] | None = None
        self._action: dict[str, Any] | None = None  # the actions' dtype, from the first
        self._written: set[str] = set()  # stems with a replay file
        self._candidates: list[tuple[str, float, str]] = []  # (replay, return, stem): best/worst
        self._jobs: dict[int, tuple[str, str]] = {}  # render job -> (replay file, stem)
        self._held: list[str] = []  # replay files to render at close()
        self._writes: dict[int, tuple[str, bool]] = {}  # write job -> (replay, render at close)
        self._unwritten: dict[int, tuple[str, _Video]] = {}  # sent, until its file is confirmed
        self._env_cache: tuple[Any, dict[str, Any]] | None = None  # see _env_entry
        self._ending: list[tuple[_Video, bool]] = []  # ended, to send (video, render it)
        self._send_soon = False  # a renderer has nothing to do and videos wait: send them
        self.lean: _Lean | None = None
        """The video whose steps :meth:`lean_step` takes whole (None: none; see it)."""
        self._names: dict[str, str] = {}  # replay file written -> its final name
        self._errors: list[BaseException] = []
        self.interrupted = False
        self._live: Recorder | None = None  # videos recorded live (after a fallback: all)
        self._fell_back = False  # the replay failed: every later video is recorded live
        self._specs: dict[Any, tuple[WriterSpec, float, list[int]]] = {}  # see _spec_at
        workers = self.replay["workers"]
        self._pool: RenderPool | RayRenderPool = (
            RayRenderPool()
            if workers == "ray"
            else RenderPool(int(workers), nice=self.replay["nice"])
        )
        self._probe = self._pool.submit({"probe": spec_json})  # the env is made once, early
        _UNCLOSED.add(self)

    @property
    def replays(self) -> list[SavedPath]:
        """Every replay file written so far (Paths when local, URLs when remote)."""
        return [self.destination.final(name) for name in self._replay_names]

    # -- what the wrapper says of the env ------------------------------------------------------
    def before_reset(
        self,
        env: Any,
        seed: int | None,
        options: dict[str, Any] | None,
        stream: int | None = None,
    ) -> None:
        """Take what replaying the coming reset needs (call it just before the reset).

        ``stream`` is the sub-env of a per-env vector wrapper (None: the env).
        """
        if env is not None:
            self._envs[stream] = env
        self.begin_reset(capture_reset(env, seed, options), stream)

    def watch(self, env: Any, stream: int | None = None) -> None:
        """``env`` is the live env of ``stream`` (SB3's shim: its resets are taken in place)."""
        self._envs[stream] = env

    def tile(
        self,
        streams: list[int],
        aspect: tuple[float, float] = (1, 1),
        grid: tuple[int, int] | None = None,
    ) -> None:
        """Make every video tile the frames of ``streams``, as a vector env's tiled video does.

        ``streams`` are the sub-envs, counted on the first; ``aspect`` and ``grid`` the
        grid's (:class:`~rlvideo._core.grid.Tiler`). A video may start in the middle of the other
        sub-envs' episodes: their steps are always logged, and each episode's are let go once it
        ended and no video holds it.
        """
        self._tiling = (list(streams), aspect, grid)

    def begin_reset(
        self, reset: ResetState, stream: int | None = None, *, in_step: bool = False
    ) -> None:
        """A reset comes whose state was taken already (:func:`capture_reset`).

        ``in_step``: the env was reset inside the step that ended its episode (a vector env's
        same-step autoreset), so that step showed no frame of the episode: the next one's reset.
        """
        self.lean = None
        state = self._streams.setdefault(stream, _Stream(stream))
        self._end_episode(state, in_step=in_step)
        state.reset = reset

    def after_reset(self, obs: Any, stream: int | None = None) -> None:
        """The reset happened: a new episode begins with its observation."""
        self.lean = None
        state = self._streams[stream]
        assert state.reset is not None  # before_reset came first
        index = 0 if state.episode is None else state.episode.index + 1
        state.episode = _Episode(
            index, state.reset, step_digest(obs, 0.0, False, False), state.steps
        )

    def after_step(
        self,
        action: Any,
        obs: Any,
        reward: Any,
        terminated: Any,
        truncated: Any,
        stream: int | None = None,
        *,
        shown: Any = None,
        digest: int | None = None,
    ) -> None:
        """A step happened: its action, and the digest of what it returned.

        ``shown``: the reward the wrapper shows for this step when it is not the env's (SB3's
        ``DummyVecEnv`` keeps rewards as float32, and ``VecNormalize`` scales them): kept, the
        renderer shows it in the track, overlay and metadata, and the digest still checks the
        env's own ``reward``. ``digest``: the step's digest, taken already (``obs`` unused).
        """
        state = self._streams.get(stream)
        if state is None:  # a step before any reset: the env errs on it anyway
            return
        state.steps += 1
        episode = state.episode
        if episode is None:  # a step before any reset: the env errs on it anyway
            return
        if not episode.logged or (
            len(episode.digests) == 1
            and not self.mid_episode
            and not self._holds(stream)
            and not self._tiled_in(stream)
        ):  # no video took its reset, and no trigger can start one later: nothing kept
            episode.logged = False
            episode.ended = bool(terminated or truncated)  # a video may start after it
            if stream is None:  # its next steps: lean_step, until the next reset
                self.lean = _Lean(None, None, None, episode, state)
            return
        if self._action is None:
            self._action = _action_spec(action)
            if self._action.get("dtype", "|O") == "|O":
                raise unreplayable_actions(action)
        if isinstance(action, np.ndarray):  # copied: a caller may fill the buffer again
            action = action.copy()
        elif isinstance(action, np.integer):  # a Discrete space's: pickles 10x faster as int
            action = int(action)
        episode.actions.append(action)
        episode.digests.append(
            step_digest(obs, reward, terminated, truncated) if digest is None else digest
        )
        if shown is not None:
            episode.shown.append(shown)
        episode.episode_return += reward_value(reward if shown is None else shown)
        episode.ended = bool(terminated or truncated)

    def _spec_at(self, name: str, fps: Any) -> tuple[WriterSpec, float, list[int]]:
        """The video spec at frame rate ``fps`` (None: the recorder's), and the rate as numbers.

        The rate as a float and as ``[numerator, denominator]``, made once per rate: the
        wrappers give theirs to every video.
        """
        try:
            return self._specs[fps]
        except (KeyError, TypeError):  # TypeError: fps unhashable
            pass
        spec = self.spec if fps is None else self.spec.replace(fps=_fps(name, fps))
        entry = (spec, float(spec.fps), [spec.fps.numerator, spec.fps.denominator])
        with contextlib.suppress(TypeError):  # checked once per rate, named per video
            self._specs[fps] = entry
        return entry

    def _inside_unlogged(self, stream: int | None) -> bool:
        """Whether a video starting now on ``stream`` starts inside an episode kept no step of.

        Not between episodes: after the last step of one (it ended) or once the next reset was
        announced (:meth:`begin_reset`), the video's frames come from the next episode.
        """
        state = self._streams.get(stream)
        episode = None if state is None else state.episode
        return (
            episode is not None
            and not episode.logged
            and not episode.ended
            and state is not None
            and state.reset is episode.reset
        )

    def _tiled_in(self, stream: int | None) -> bool:
        """Whether ``stream`` is one of a tiled video's other sub-envs (always logged)."""
        return self._tiling is not None and stream in self._tiling[0][1:]

    def _holds(self, stream: int | None) -> bool:
        """Whether a replayed video is open on ``stream``."""
        return any(v.stream == stream and v.live_id is None for v in self._videos.values())

    def is_live(self, video_id: int | None) -> bool:
        """Whether the video ``video_id`` takes rendered frames (recorded live)."""
        video = None if video_id is None else self._videos.get(video_id)
        return video is not None and video.live_id is not None

    # -- the Recorder's interface, for the VideoMachine ---------------------------------------
    def start(
        self,
        name: str,
        *,
        kind: str,
        episode: int,
        first_step: int,
        episode_step: int = 0,
        episode_return: float = 0.0,
        fps: Any = None,
        **extra: Any,
    ) -> int:
        """Open the video ``name``; its id. A taken name raises here, as live."""
        self.lean = None
        self._look()  # a replay that failed: this video is recorded live
        video_id = self._next_id
        self._next_id += 1
        stream = extra.get("env_index") if self._tiling is None else self._tiling[0][0]
        unlogged = self._inside_unlogged(stream)
        if self._fell_back or unlogged:
            if unlogged and not self._fell_back:
                logger.info(
                    "%s starts inside an episode not logged for replay: recorded live", name
                )
            live_id = self._live_recorder().start(
                name, kind=kind, episode=episode, first_step=first_step,
                episode_step=episode_step, episode_return=episode_return, fps=fps, **extra,
            )  # fmt: skip
            meta = VideoMetadata(path="", kind=kind)
            self._videos[video_id] = _Video(meta, {}, "", None, live_id=live_id)
            return video_id
        spec, fps_value, fps_ratio = self._spec_at(name, fps)
        file_name = f"{name}.{spec.format}"
        if spec.overwrite is False:  # a taken name raises here, as live
            self.destination.check_free(file_name, overwrite=False)
        else:  # the disk is asked when the video is sent, with others (send_ended)
            check_file_name(file_name)
        meta = VideoMetadata(
            path=self.destination.final_text(file_name), kind=kind, env_id=self.env_id,
            episode=episode, first_step=first_step, fps=fps_value, codec=spec.codec,
            **extra,
        )  # fmt: skip
        start = {
            "stem": name, "kind": kind, "episode": episode, "first_step": first_step,
            "episode_step": episode_step, "episode_return": float(episode_return),
            "seed": extra.get("seed"), "env_index": extra.get("env_index"),
            "fps": fps_ratio, "name_prefix": self.name_prefix,
        }  # fmt: skip
        tiles = None if self._tiling is None else [_Tile(k) for k in self._tiling[0][1:]]
        self._videos[video_id] = _Video(
            meta, start, file_name, spec.overwrite, stream=stream, tiles=tiles,
            checked=spec.overwrite is False,
        )  # fmt: skip
        return video_id

    def frame(self, video_id: int, frame: Any) -> int:
        """Count a frame (the wrapper's event): the renderer will draw it."""
        self.lean = None
        video = self._videos[video_id]
        if video.live_id is not None:
            assert self._live is not None
            return self._live.frame(video.live_id, frame)
        episode = self._streams[video.stream].episode
        assert episode is not None  # frames come after a reset
        if video.stream not in self._lookat:
            self._first_frame(video.stream)
        segments = video.segments
        if video.tiles is not None:  # each sub-env's latest event, or its last image again
            at = video.meta.frames
            if at == 0 and video.meta.steps == 0 and episode.events > 1 and not video.shown_first:
                video.start["first_uncounted"] = True  # started by hand, then a masked reset
            _count_event(segments, video.holds, episode, at)
            for tile in video.tiles:
                other = self._streams[tile.stream].episode
                assert other is not None  # every sub-env resets with the first
                _count_event(tile.segments, tile.holds, other, at)
        else:
            if not segments or segments[-1].episode is not episode:
                segments.append(_Segment(episode, episode.events - 1))
            segments[-1].frames += 1
            self._lean_on(video_id, video, segments[-1])
        video.meta.frames += 1
        return video.meta.frames

    def add_step(self, video_id: int, reward: Any, terminated: Any, truncated: Any) -> int | None:
        """:meth:`step`, then :meth:`frame`, in one call: the frames counted; None if not done.

        Every recorded step of a single env comes here (:meth:`VideoMachine.count_replayed
        <rlvideo.wrappers._machine.VideoMachine.count_replayed>`). Only a replayed video
        whose frame goes on its latest episode takes it; another (recorded live, tiled, or at
        an episode's first frame) is left as it was: None, and the two calls follow.
        """
        video = self._videos[video_id]
        segments = video.segments
        if video.live_id is not None or video.tiles is not None or not segments:
            return None
        segment = segments[-1]
        episode = segment.episode
        if not segment.frames or episode is not self._streams[video.stream].episode:
            return None
        segment.counted_to = len(episode.digests) - 1
        segment.frames += 1
        meta = video.meta
        meta.steps += 1
        meta.episode_return += reward_value(reward)
        meta.terminated, meta.truncated = bool(terminated), bool(truncated)
        meta.frames += 1
        self._lean_on(video_id, video, segment)
        return meta.frames

    def _lean_on(self, video_id: int, video: _Video, segment: _Segment) -> None:
        """Let :meth:`lean_step` take the video's next steps, on a logged episode of its own."""
        episode = segment.episode
        if self._action is not None and episode.logged and not episode.shown:
            self.lean = _Lean(video_id, video.meta, segment, episode, self._streams[video.stream])

    def lean_step(self, machine: VideoMachine, action: Any, result: tuple[Any, ...]) -> bool:
        """A single env's step, taken whole: whether it was (else nothing was done).

        Once a replayed video has taken a step whole (:meth:`add_step`), or an episode was
        found to keep nothing (:meth:`after_step`), the steps that follow, until anything else
        happens (a reset, a stop, another video), come here: the step is appended to its
        episode and counted, for the video and for ``machine`` (as
        :meth:`VideoMachine.count_replayed
        <rlvideo.wrappers._machine.VideoMachine.count_replayed>` would), and :meth:`poll` is
        called only when it has something to do. Every step of a fast env comes here: each
        call and check of the general path cost it about 10% of a CartPole step. False when
        :attr:`lean` is not the video in progress's.
        """
        lean = self.lean
        if lean is None or lean.video_id != machine.video_id:
            return False
        obs, reward, terminated, truncated, _ = result
        value = reward_value(reward)  # as the general path counts it (NaN for a vector)
        episode = lean.episode
        lean.stream.steps += 1
        meta = lean.meta
        if meta is None:  # an episode nothing logs
            episode.ended = bool(terminated or truncated)
        else:
            if isinstance(action, np.integer):  # as after_step keeps it
                action = int(action)
            elif isinstance(action, np.ndarray):
                action = action.copy()
            digests = episode.digests
            digests.append(step_digest(obs, reward, terminated, truncated))
            episode.actions.append(action)
            episode.episode_return += value
            meta.terminated, meta.truncated = bool(terminated), bool(truncated)
            episode.ended = meta.terminated or meta.truncated
            segment = lean.segment
            assert segment is not None  # a video's
            segment.counted_to = len(digests) - 1
            segment.frames += 1
            meta.steps += 1
            meta.episode_return += value
            meta.frames += 1
        machine.step_id += 1
        count = machine.count
        count.step += 1
        count.episode_return += value
        if meta is not None and meta.frames >= machine.video_length:
            machine.stop()
        if self._send_soon or self._errors or self._live is not None or self._pool.due():
            self.poll()
        return True

    def _first_frame(self, stream: int | None) -> None:
        """The first frame of ``stream``: a live wrapper's first ``render()`` of its env.

        Gymnasium's MuJoCo envs aim their free camera at their first render and keep it so
        (:func:`~rlvideo.wrappers._replay_state.free_camera_lookat`); the renderer aims its env
        as each was. A vector env renders every sub-env at once (:attr:`renders_together`).
        """
        streams = [s for s in self._envs if s not in self._lookat] if self.renders_together else []
        for each in {stream, *streams}:
            self._lookat[each] = free_camera_lookat(self._envs.get(each))

    def step(
        self,
        video_id: int,
        reward: Any,
        terminated: Any,
        truncated: Any,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
        counted: tuple[Any, Any, Any] | None = None,
    ) -> None:
        """Count a step to the video's metadata (the renderer replays its overlay and track)."""
        self.lean = None
        video = self._videos[video_id]
        if video.live_id is not None:
            assert self._live is not None
            self._live.step(
                video.live_id, reward, terminated, truncated, action=action, info=info,
                counted=counted,
            )  # fmt: skip
            return
        episode = self._streams[video.stream].episode
        if episode is not None and not video.segments:  # a step counted before the first frame
            video.segments.append(_Segment(episode, episode.events - 1))  # (same-step: it ended)
        if video.segments and episode is not None and video.segments[-1].episode is episode:
            video.segments[-1].counted_to = episode.events - 1
        meta = video.meta
        total, ended, cut = (reward, terminated, truncated) if counted is None else counted
        if video.tiles is not None and counted is not None:  # SB3's sums over every env
            video.counted.append([reward_value(total), float(bool(ended)), float(bool(cut))])
        meta.steps += 1
        meta.episode_return += reward_value(total)
        meta.terminated, meta.truncated = bool(ended), bool(cut)

    def show(self, video_id: int, *args: Any, **kwargs: Any) -> None:
        """A step shown but not counted: the renderer replays it (live videos: passed on)."""
        self.lean = None
        video = self._videos[video_id]
        if video.live_id is not None and self._live is not None:
            self._live.show(video.live_id, *args, **kwargs)
        elif video.meta.frames == 0:
            video.shown_first = True

    def reset(self, video_id: int, episode: int, info: Mapping[str, Any] | None = None) -> None:
        """An episode began inside the video (the renderer replays it)."""
        self.lean = None
        video = self._videos[video_id]
        if video.live_id is not None and self._live is not None:
            self._live.reset(video.live_id, episode, info)

    def annotate(self, video_id: int, **fields: Any) -> None:
        """Set fields of a video's metadata, as :meth:`Recorder.annotate` does.

        A replayed video's ``cut_short`` goes to the renderer with its start (RLlib's
        callbacks mark so the video of an episode RLlib abandoned).
        """
        video = self._videos[video_id]
        if video.live_id is not None:
            assert self._live is not None
            self._live.annotate(video.live_id, **fields)
            return
        for name, value in fields.items():
            if not hasattr(video.meta, name):
                raise InvalidArgumentError(f"VideoMetadata has no field {name!r}")
            setattr(video.meta, name, value)
        if "cut_short" in fields:
            video.start["cut_short"] = bool(fields["cut_short"])

    def frames(self, video_id: int) -> int:
        """Frames in the video so far."""
        video = self._videos[video_id]
        if video.live_id is not None and self._live is not None:
            return self._live.frames(video.live_id)
        return video.meta.frames

    def stop(self, video_id: int) -> None:
        """End a video: ``keep_if`` asked, its replay file written and its render queued.

        An error of this video's end (``keep_if`` raising) is raised here; one found before
        (a render refused) waits for :meth:`poll` at the end of the call, so that a reset
        that ends a video still starts the next.
        """
        before = len(self._errors)
        self._finish(video_id)
        if len(self._errors) > before:
            raise self._errors.pop(before)

    def _finish(self, video_id: int) -> None:
        """:meth:`stop`, its errors kept for later (``close()`` goes on past them)."""
        self.lean = None
        video = self._videos.pop(video_id)
        if video.live_id is not None:
            assert self._live is not None
            self._live.stop(video.live_id)
            return
        meta = video.meta
        if meta.frames == 0:
            logger.warning("Ignored saving a video as there were zero frames to save.")
        elif self.keep_if is not None and not self._keep(meta):
            logger.info("keep_if rejected %s", Path(meta.path).name)
            if self.replay["log"] == "all":
                self._end(video, render=False)
        else:
            self._end(video, render=True)

    def discard(self, video_id: int) -> None:
        """End a video and forget it: no replay file, no render."""
        self.lean = None
        video = self._videos.pop(video_id, None)
        if video is not None and video.live_id is not None and self._live is not None:
            self._live.discard(video.live_id)

    def final(self, file_name: str) -> SavedPath:
        """Where a file named ``file_name`` ends up."""
        return self.destination.final(file_name)

    def interrupt(self) -> None:
        """A failure cut the recording off: open videos keep only their replay files."""
        self.lean = None
        self.interrupted = True
        if self._live is not None:
            self._live.interrupt()

    def resume(self) -> None:
        """A recording call completed."""
        self.interrupted = False
        if self._live is not None:
            self._live.resume()

    def poll(self) -> None:
        """Send the videos that ended, take finished renders (save and hand off their videos).

        Every env step comes here; the renderers are asked at most every 5 ms.
        """
        self._look()
        if self._live is not None:
            self._live.poll()
        if self._errors:
            self.raise_errors()

    def _look(self) -> None:
        """Send what ended (now, to a renderer with nothing to do), take finished renders."""
        if self._send_soon or self._pool.due():
            self.send_ended()
            self.poll_renders()

    def poll_renders(self, *, wait: bool = False) -> None:
        """Handle the renders that finished (``wait``: send what ended, wait for every job).

        A Ctrl-C never loses a result: it goes through only while nothing is taken (the wait);
        a result is taken and noted in one block it waits for, and handled whole (but for
        ``on_video_saved``, which it may interrupt: the results after stay for the next call).
        """
        if wait:
            self.send_ended()
        while True:
            with deferred_interrupts():
                self._taken.extend(self._pool.results(now=wait))
            self._handle_taken()
            if not wait or not self._pool.pending:
                return
            self._pool.wait_any()

    def _handle_taken(self) -> None:
        """Handle each result taken, whole; then upload the replay files it left to upload."""
        while self._taken:
            with deferred_interrupts():
                self._take_result(*self._taken.popleft())
        while self._to_publish:  # a Ctrl-C here: uploaded again by a later call
            self._publish_replay(self._to_publish[0])
            self._to_publish.pop(0)

    def _take_result(self, job_id: int, result: RenderResult) -> None:
        """Handle a finished job: a replay file written, a video rendered (or not)."""
        unwritten = self._unwritten.pop(job_id, None)
        if unwritten is not None and result.error is not None:  # e.g. the renderer died
            written = self._write_here(*unwritten)  # the replay file is kept, whatever happened
            if written and job_id in self._writes:  # all that job had to do: done here
                result = RenderResult(result.replay, "")
        if job_id in self._writes:
            self._written_only(job_id, result)
        elif job_id == self._probe:
            if result.error is not None:
                self._replay_failed(
                    f"the renderer cannot make the env again ({result.error})", None
                )
        else:
            self._rendered(job_id, result)

    def close(self) -> None:
        """End every open video, render what is due, wait for the renders, stop the workers."""
        self.lean = None
        unwinding = self.interrupted
        unrendered: list[str] = []
        try:
            self._end_videos(cut_off=unwinding)
            if unwinding:
                unrendered = self._cut_off()
            else:
                try:
                    self.poll_renders(wait=True)  # every replay file written
                    self._render_at_close()
                    self.poll_renders(wait=True)
                except BaseException:  # Ctrl-C while close() waits: the run is cut off here
                    unwinding = True
                    unrendered = self._cut_off()
                    raise
        finally:
            _UNCLOSED.discard(self)
            self._write_unwritten(sent=False)  # close() cut off: what was never sent
            try:
                self._stop_renderers(kill=unwinding, unrendered=unrendered)
            finally:
                if self._live is not None:
                    if unwinding:
                        self._live.interrupt()
                    self._live.close()
                self.destination.close()
        if not unwinding:
            self.raise_errors()

    def _end_videos(self, *, cut_off: bool) -> None:
        """End every open video: sent to render, or (``cut_off``) kept as its replay file."""
        for video_id in sorted(self._videos):
            video = self._videos[video_id]
            if video.live_id is not None:
                continue  # the live recorder's close() ends it
            if cut_off:
                self._videos.pop(video_id)
                if video.meta.frames:
                    path = self._write_now(video)
                    logger.warning(
                        "the recording was cut off: kept the replay file %s of the video "
                        "in progress; render it with: rlvideo render %s", path, path,
                    )  # fmt: skip
                continue
            meta = video.meta
            meta.cut_short = not (meta.terminated or meta.truncated)
            video.start["cut_short"] = meta.cut_short
            self._finish(video_id)  # its errors raised at the end: the others go on
        for state in self._streams.values():
            self._end_episode(state, closing=True)

    def _cut_off(self) -> list[str]:
        """The run is cut off: save the renders that came back; the replay files of the rest."""
        self.poll_renders()  # the renders that came back are saved, not counted lost
        return self._unrendered_at_cut_off()

    def __del__(self) -> None:
        """Dropped without ``close()``: the videos that ended still go to the renderers."""
        if self.__dict__.get("_ending"):
            self._send_unclosed()

    def _send_unclosed(self) -> None:
        """Send what ended, waiting for room: the loop is gone (no ``close()``), not the renderers.

        They render what they were sent after this process is gone, as they always did.
        """
        try:
            self.send_ended()
            self._pool.flush()
        except Exception:
            logger.exception("could not send the videos that ended to the renderer")

    def raise_errors(self) -> None:
        """Raise the first error met, once."""
        if self._errors:
            raise self._errors.pop(0)

    # -- internals ----------------------------------------------------------------------------
    def _keep(self, meta: VideoMetadata) -> bool:
        assert self.keep_if is not None
        try:
            return bool(self.keep_if(meta))
        except Exception as exc:
            self._errors.append(
                InvalidArgumentError(f"keep_if raised {exc!r} for {Path(meta.path).name}; kept it")
            )
            return True

    def _end_episode(self, state: _Stream, *, closing: bool = False, in_step: bool = False) -> None:
        """The episode under way ends: with ``log="all"``, its replay file if it has none.

        Its video shows its reset and each step, as live, but for the step that ended it when
        the reset came ``in_step`` (:meth:`begin_reset`): replayed and verified, not drawn.
        """
        episode = state.episode
        if episode is None or self.replay["log"] != "all":
            return
        stem = clip_stem(self.name_prefix, "episode", episode.index, env_index=state.index)
        if stem in self._written:
            return
        fps = self.spec.fps
        start = {
            "stem": stem, "kind": "episode", "episode": episode.index,
            "first_step": episode.first_step, "episode_step": 0, "episode_return": 0.0,
            "seed": episode.reset.seed, "env_index": state.index,
            "fps": [fps.numerator, fps.denominator], "name_prefix": self.name_prefix,
            "cut_short": closing and not episode.ended,
        }  # fmt: skip
        file_name = f"{stem}.{self.spec.format}"
        meta = VideoMetadata(path=str(self.final(file_name)), kind="episode")
        events = episode.events
        meta.frames = events - 1 if in_step and episode.ended else events
        meta.steps = events - 1
        meta.episode_return = episode.episode_return
        segment = _Segment(episode, 0, meta.frames, counted_to=events - 1)
        video = _Video(meta, start, file_name, True, [segment], stream=state.index)
        self._end(video, render=False)

    def _end(self, video: _Video, *, render: bool) -> None:
        """A video ended: its replay file is to be written (and, by the options, rendered).

        A renderer process writes it (about 3 ms a file, off the loop) and renders it next
        (``render="kept"``). The videos that end while a renderer is busy go to it together,
        at the next :meth:`poll` past 5 ms (:meth:`send_ended`): every episode of a fast env
        ends a video every ~0.3 ms, and one message a video cost the loop most of a video's
        price. A renderer with nothing to do is sent it at the end of the call (:meth:`poll`).
        """
        self._written.add(video.start["stem"])
        self._ending.append((video, render))
        if self._pool.idle:  # only results() frees a renderer: poll() looks then
            self._send_soon = True

    def send_ended(self) -> None:
        """Send the renderers every video that ended and waits, in one message.

        :meth:`poll` does it at most every 5 ms; a caller that stops stepping for long (RLlib's
        runner at the end of a sample, an evaluation's end) calls it so that none waits.
        """
        self._send_soon = False
        if not self._ending:
            return
        for video, _ in self._ending:  # may ask an object store: Ctrl-C goes through here
            if not video.checked:
                self._check_name(video)
        with deferred_interrupts():  # sent and noted as sent together: Ctrl-C waits (~0.1 ms)
            self._send_ending()

    def _send_ending(self) -> None:
        how = self.replay["render"]
        jobs: list[dict[str, Any]] = []
        sent: list[tuple[str, _Video]] = []  # each job's replay file and video
        for video, render in self._ending:  # left there until sent: a run cut off writes them
            if video.refused:  # (send_ended checked every name)
                if self.replay["log"] != "all":
                    continue  # dropped, as live recording drops it
                render = False  # its episode's replay file is kept
            local = self._place(video)
            job: dict[str, Any] = (
                {"log": (local, self._logged_video(video))}  # the renderer builds the file
                if video.tiles is None
                else {"write": (local, *self._file(video))}
            )
            if render and how == "kept":
                job.update(self._render_job(local, video))
            elif render and how == "close":
                job["held"] = True
            jobs.append(job)
            sent.append((local, video))
        ids: list[int | None]
        try:
            ids = list(self._pool.submit_batch(jobs))
        except Exception:  # a job that does not pickle (storage_options): each on its own
            ids = [self._submit_alone(job, *each) for job, each in zip(jobs, sent, strict=True)]
        self._ending.clear()
        for job_id, job, (local, video) in zip(ids, jobs, sent, strict=True):
            if job_id is None:
                continue
            if "replay" in job:
                self._jobs[job_id] = (local, video.start["stem"])
            else:
                self._writes[job_id] = (local, bool(job.get("held")))
            self._unwritten[job_id] = (local, video)

    def _submit_alone(self, job: dict[str, Any], local: str, video: _Video) -> int | None:
        """Send one job; None if it cannot be (its replay file is then written here)."""
        try:
            return self._pool.submit(job)
        except Exception as exc:
            self._errors.append(RLVideoError(f"cannot send {local} to the renderer: {exc!r}"))
            self._write_here(local, video)
            return None

    def _check_name(self, video: _Video) -> bool:
        """Check the video's name on disk, as live recording does at its start.

        Asked when the video is sent, not at its start. A local folder is listed once, as the
        run starts: after the first name (which checks the folder too), only a name that was
        there then, or that this run sent before, is asked of the disk (a new name's lookup
        cost ~6 us, in a folder the renderer writes to). A name that appears later, from
        another process, is the renderer's to check: it replaces it, as ``overwrite=None``
        says. A name taken (``overwrite=None``) is replaced, said once per folder; an error
        (the folder not writable, the name a folder) is raised by the call that sent the video
        (or by ``close()``, once every other video is done), and the video is dropped.
        """
        video.checked = True
        present, name = self._present, video.file_name
        if present is not None and self._names_checked and name not in present:
            present.add(name)  # this run's own: asked on disk if it comes again
            return True
        try:
            taken = self.destination.check_free(name, overwrite=video.overwrite)
        except RLVideoError as exc:
            video.refused = True
            self._errors.append(exc)
            return False
        self._names_checked = True
        if present is not None:
            present.add(name)
        if taken and video.overwrite is None:
            video.overwrite = True
        return True

    def _names_present(self) -> set[str] | None:
        """The names in a local folder as the run starts (None: ask the disk for every name)."""
        if self.destination.remote:
            return None
        try:
            return set(os.listdir(self.destination.location))
        except OSError:
            return None

    def _write_now(self, video: _Video) -> str:
        """Write the video's replay file in this process (the run is cut off); its path."""
        local = self._place(video)
        header, arrays = self._file(video)
        write_replay(local, header, file_arrays(arrays), overwrite=True)
        return local

    def _place(self, video: _Video) -> str:
        """Where the video's replay file is written (noted for the run)."""
        stem = video.start["stem"]
        name = f"{stem}{REPLAY_SUFFIX}"
        destination = self.destination
        local = (
            str(destination.staging_path(name, unique=f"replay-{stem}"))
            if destination.remote
            else destination.final_text(name)  # no Path made: one a video cost the loop
        )
        self._written.add(stem)
        self._replay_names.append(name)
        self._names[local] = name
        self._candidates.append((local, video.meta.episode_return, stem))
        return local

    def _written_only(self, job_id: int, result: RenderResult) -> None:
        """A replay file was written (not rendered): held for close(), or published."""
        replay, held = self._writes.pop(job_id)
        if result.error is not None:  # a full disk: this video is lost, the run goes on
            logger.error("cannot write the replay file %s: %s", replay, result.error)
            self._errors.append(RLVideoError(f"cannot write {replay}: {result.error}"))
        elif held:
            self._held.append(replay)
        elif self.destination.remote and not isinstance(self.replay["render"], dict):
            self._to_publish.append(replay)

    def _write_unwritten(self, *, sent: bool = True) -> list[str]:
        """Write here the replay files never sent, and (``sent``) those sent and not confirmed.

        For a run cut off; ``sent=False`` for a ``close()`` cut off, whose renderers still
        finish what they were sent. Returns the replay files of the videos never sent that
        were to be rendered.
        """
        ending, self._ending = self._ending, []
        unrendered = []
        for video, render in ending:
            if video.refused and self.replay["log"] != "all":
                continue  # its name was refused: dropped, as send_ended drops it
            local = self._place(video)
            self._write_here(local, video)
            if render and not video.refused:
                unrendered.append(local)
        if sent:
            for local, video in self._unwritten.values():
                self._write_here(local, video)
            self._unwritten.clear()
        return unrendered

    def _unrendered_at_cut_off(self) -> list[str]:
        """A run cut off: the replay files of the videos that ended and are not rendered.

        They are written here if need be (:meth:`_write_unwritten`); :meth:`_say_unrendered`
        names them once the renderers are stopped.
        """
        left = [replay for replay, _ in self._jobs.values()]  # sent, not rendered yet
        left += [replay for replay, held in self._writes.values() if held]  # render="close"
        return left + self._held + self._write_unwritten()

    def _say_unrendered(self, left: list[str]) -> None:
        """Name the replay files of ``left`` whose video the stopped renderers did not finish.

        One warning, with the command that renders them: in a local folder ``rlvideo render
        FOLDER`` (it renders each replay file there without a video), or the files themselves
        where one would replace an earlier run's video (the folder's command skips those).
        """
        files = left
        if not self.destination.remote:
            before = self._before
            files, stale = [], False
            for replay in left:
                name = self._names.get(replay, Path(replay).name)
                video = f"{name.removesuffix(REPLAY_SUFFIX)}.{self.spec.format}"
                there = os.path.exists(str(self.final(video)))
                if there and video not in before:
                    continue  # rendered just before the renderer stopped
                stale = stale or there
                files.append(str(self.final(name)))
        if not files:
            return
        shown = ", ".join(Path(f).name for f in files[:3])
        shown += f" and {len(files) - 3} more" if len(files) > 3 else ""
        local_folder = not self.destination.remote and not stale
        logger.warning(
            "the recording was cut off: %d video(s) that ended were not rendered (%s); their "
            "replay files are kept: render them with: rlvideo render %s",
            len(files), shown, self.destination.location if local_folder else " ".join(files),
        )  # fmt: skip

    def _stop_renderers(self, *, kill: bool, unrendered: list[str]) -> None:
        """Stop the renderers: after their jobs, or (``kill``: a run cut off) now.

        Killed mid-video, a renderer leaves the video's hidden files: they go (the replay
        files stay), and the videos of ``unrendered`` still without a video are named.
        """
        self._pool.close(kill=kill)
        if not kill:
            return
        if not self.destination.remote and self._jobs and self._present is not None:
            names = [f"{stem}.{self.spec.format}" for _, stem in self._jobs.values()]
            try:  # an earlier run's leftovers (there at the start) are rlvideo recover's
                remove_leftovers(self.destination.location, names, keep=self._before)
            except OSError as exc:
                logger.warning("could not remove the stopped renders' files: %s", exc)
        self._say_unrendered(unrendered)

    def _write_here(self, local: str, video: _Video) -> bool:
        """Write a video's replay file here (again, if a renderer did: the same bytes)."""
        try:
            header, arrays = self._file(video)
            write_replay(local, header, file_arrays(arrays), overwrite=True)
        except Exception as exc:
            logger.error("cannot write the replay file %s: %s", local, exc)
            return False
        return True

    def _render_job(self, replay: str, video: _Video | None) -> dict[str, Any]:
        return {
            "replay": replay, "folder": self.video_folder,
            "overwrite": True if video is None else video.overwrite,
            "storage_options": self.options["storage_options"], "overlay": self._overlay,
        }  # fmt: skip

    def _submit(self, replay: str, video: _Video | None) -> None:
        stem = Path(replay).name.removesuffix(REPLAY_SUFFIX)
        self._jobs[self._pool.submit(self._render_job(replay, video))] = (replay, stem)

    def _render_at_close(self) -> None:
        how = self.replay["render"]
        held, self._held = self._held, []
        if isinstance(how, dict):
            returns = [ret for _, ret, _ in self._candidates]
            chosen = chosen_by_return(returns, how["best"], how["worst"])
            held = [self._candidates[i][0] for i in chosen]
            if self.destination.remote:
                for replay, _, _ in self._candidates:
                    if replay not in held:
                        self._publish_replay(replay)
        for replay in held:
            self._submit(replay, None)

    def _rendered(self, job_id: int, result: RenderResult) -> None:
        replay, stem = self._jobs.pop(job_id, (result.replay, result.stem))
        if self.destination.remote:
            self._to_publish.append(replay)
        if result.error is not None and result.path is None:
            if result.refused:  # its name (a folder made there since the run began, ...)
                self._errors.append(StorageError(
                    f"{stem} was not rendered: {result.error}. Its replay file is kept: "
                    f"rlvideo render {replay}"
                ))  # fmt: skip
                return
            self._replay_failed(f"{stem} could not be rendered: {result.error}", replay)
            return
        if not result.verified:
            self._replay_failed(
                f"the replay of {stem} diverged at step {result.diverged_at_step} of its "
                f"episode: kept its first {result.diverged_at_frame} frames. The env is not "
                "reproducible from its spec, RNG state and actions (an RNG outside "
                "env.unwrapped.np_random, a stateful wrapper, or other package versions)",
                replay,
            )
        meta = result.metadata()
        if result.path is None or meta is None:
            return
        where: SavedPath = result.path if self.destination.remote else Path(result.path)
        self.saved.append(where)
        if self.on_video_saved is not None:
            try:
                callback = functools.partial(self.on_video_saved, where, meta)
                deferred_interrupts().let_through(callback, held_first=False)
            except Exception as exc:
                logger.error("on_video_saved raised %r for %s", exc, where)
                self._errors.append(exc)

    def _replay_failed(self, what: str, replay: str | None) -> None:
        """Say it once; record later videos live, or raise (``fallback="error"``)."""
        if self.replay["fallback"] == "error":
            self._errors.append(RLVideoError(f"replay=True: {what}"))
            return
        if not self._fell_back:
            logger.warning("%s; later videos are recorded live", what)
            self._fell_back = True
            self._live_recorder()
        else:
            logger.warning("%s", what)

    def _live_recorder(self) -> Recorder:
        """The recorder of the videos recorded live (made at the first)."""
        if self._live is None:
            options = {
                k: v for k, v in self.options.items() if k not in ("replay", "replay_options")
            }
            self._live = Recorder(
                self.video_folder, name_prefix=self.name_prefix,
                fps=float(self.spec.fps), env_id=self.env_id, **options,
            )  # fmt: skip
            self._live.saved = self.saved  # one list: the wrapper's saved_videos has them all
        return self._live

    def _publish_replay(self, local: str) -> None:
        """Upload a replay file to a URL folder (a local one has it in place already)."""
        name = self._names.get(local)
        if not self.destination.remote or name is None:
            return
        try:
            self.destination.publish(Path(local), name, overwrite=True)
        except Exception as exc:
            logger.error("could not upload the replay file %s: %s", name, exc)

    def _logged_video(self, video: _Video) -> LoggedVideo:
        """``video`` as a renderer takes it (:func:`~rlvideo._core.replay.replay_file`).

        References to what the loop holds, nothing built: the renderer makes the header and
        the arrays (building them here cost the loop ~10 us a video).
        """
        start = video.start
        start.setdefault("cut_short", video.meta.cut_short)
        start["shown_first"] = video.shown_first
        lookat = self._lookat.get(video.stream)
        if lookat is not None:
            start["lookat"] = lookat
        meta = video.meta
        counts = (meta.frames, meta.steps, meta.episode_return)
        segments = [_logged(segment) for segment in video.segments]
        return (self._env_entry(), start, counts, self._writer, self._versions, segments)

    def _env_entry(self) -> dict[str, Any]:
        """The header's ``env`` entry: one dict while the action's spec stays (pickled once)."""
        cached = self._env_cache
        if cached is None or cached[0] is not self._action:
            env = {"id": self.env_id, "spec": self.spec_json, "action": self._action or {}}
            cached = self._env_cache = (self._action, env)
        return cached[1]

    def _file(self, video: _Video) -> tuple[ReplayHeader, dict[str, Any]]:
        """The replay file of ``video``: a header, and its arrays as logged (lists).

        The renderer makes the arrays (:func:`~rlvideo._core.replay.file_arrays`): building
        and pickling NumPy arrays in the loop cost about as much as the rest of a video's end.
        """
        logged_video = self._logged_video(video)
        if video.tiles is None or self._tiling is None:
            return replay_file(logged_video)
        env, start, (frames, steps, episode_return), writer, versions, own = logged_video
        logged: dict[str, Any] = {}
        segments = [logged_segment(logged, i, segment) for i, segment in enumerate(own)]
        index = len(segments)  # the other sub-envs' arrays are numbered on from the video's
        others = []
        for tile in video.tiles:
            logs = [
                logged_segment(logged, index + i, _logged(segment))
                for i, segment in enumerate(tile.segments)
            ]
            index += len(logs)
            others.append({
                "env_index": tile.stream, "segments": logs, "holds": tile.holds,
                "lookat": self._lookat.get(tile.stream),
            })  # fmt: skip
        if video.counted:
            logged["counted"] = video.counted
        grid = self._tiling[2]
        start["tiled"] = {
            "aspect": list(self._tiling[1]), "grid": None if grid is None else list(grid),
            "env_index": video.stream, "holds": video.holds, "others": others,
        }  # fmt: skip
        header = ReplayHeader(
            env=env, video={**start, "frames": frames, "steps": steps, "return": episode_return},
            writer=writer, segments=segments, versions=versions,
        )  # fmt: skip
        return header, logged

    @staticmethod
    def _writer_settings(given: Mapping[str, Any]) -> dict[str, Any]:
        overlay = given["overlay"]
        return {
            "format": given["format"], "codec": given["codec"], "crf": given["crf"],
            "encoder_options": given["encoder_options"],
            "float_range": list(given["float_range"]), "metadata": given["metadata"],
            "track": given["track"],
            "overlay": overlay if overlay is None or isinstance(overlay, (bool, list)) else None,
        }  # fmt: skip

    @staticmethod
    def _pickled_overlay(overlay: Any) -> bytes | None:
        """An overlay object for the renderer (a callable, an Overlay): pickled, if it can be."""
        if overlay is None or isinstance(overlay, (bool, list)):
            return None
        try:
            return pickle.dumps(overlay)
        except Exception:
            logger.warning(
                "replay=True: the overlay %r cannot be sent to the renderer (it does not "
                "pickle); the videos show the default overlay fields", overlay,
            )  # fmt: skip
            return pickle.dumps(True)


_UNCLOSED: weakref.WeakSet[ReplayRecorder] = weakref.WeakSet()


@atexit.register
def _send_ended_at_exit() -> None:
    """At interpreter exit without ``close()``: the videos that ended still go to the renderers."""
    for recorder in list(_UNCLOSED):
        recorder._send_unclosed()


def _fps(name: str, fps: Any) -> Any:
    try:
        return check_fps(fps)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"{name}: frames_per_sec is {fps!r}, which no video can have: {exc}"
        ) from None


def _logged(segment: _Segment) -> LoggedSegment:
    """A segment as the renderer takes it: its episode's lists by reference, cut if longer."""
    episode = segment.episode
    reset = episode.reset
    digests, actions = episode.digests, episode.actions
    shown = episode.shown or None  # rewards the wrapper shows (SB3's), if it has its own
    events = max(segment.first_event + segment.frames, segment.counted_to + 1)
    if len(digests) > events:  # a video that ended inside its episode: its part only
        digests, actions = digests[:events], actions[: events - 1]
        shown = None if shown is None else shown[: events - 1]
    return (
        episode.index, reset.seed, reset.options, reset.rng, segment.first_event,
        segment.frames, segment.counted_to, digests, actions, shown, reset.ale,
    )  # fmt: skip


def _action_spec(action: Any) -> dict[str, Any]:
    """How to give a logged action back to the env: its dtype, and whether it was a Python value."""
    python = next(
        (name for kind, name in ((bool, "bool"), (int, "int"), (float, "float"))
         if type(action) is kind), None,
    )  # fmt: skip
    with contextlib.suppress(Exception):
        return {"dtype": np.asarray(action).dtype.str, "python": python}
    return {"python": python}


def make_recorder(
    video_folder: str,
    *,
    name_prefix: str,
    fps: Any,
    env_id: str | None,
    spec_json: str | None,
    given: Mapping[str, Any],
    mid_episode: bool = True,
) -> Recorder | ReplayRecorder:
    """A wrapper's recorder: live, or (``spec_json``, the replayable env's spec) replaying.

    ``given`` is :func:`~rlvideo._core.options.recorder_options`'s, ``replay`` included;
    ``mid_episode``: whether a trigger may start a video after an episode's reset (see
    :class:`ReplayRecorder`).
    """
    if spec_json is not None:
        return ReplayRecorder(
            video_folder, name_prefix=name_prefix, fps=fps, env_id=env_id, spec_json=spec_json,
            mid_episode=mid_episode, **given,
        )  # fmt: skip
    return Recorder(video_folder, name_prefix=name_prefix, fps=fps, env_id=env_id, **given)
