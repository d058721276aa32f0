"""The recording state machine every wrapper drives: trigger, start, capture, stop-if-full.

A wrapper (or a callback-driven recorder, such as RLlib's callbacks) tells a
:class:`VideoMachine` what the env did, in order, and the machine decides when a video starts
and stops, counts steps and returns, and hands frames to the
:class:`~rlvideo.recording._recorder.Recorder`. Nothing here knows an env's API:

- :meth:`~VideoMachine.begin_episode` when an episode begins (a reset): a whole-episode video
  ends, and the episode trigger may start one;
- :meth:`~VideoMachine.begin_step` when an env step begins: the step trigger may start a video;
- :meth:`~VideoMachine.count_move` for what the step did (its reward, flags, action and info);
  a multi-agent env's move that does not end its step is counted with ``step_end=False``, and
  the moves' rewards go to the video as one step when the step ends;
- :meth:`~VideoMachine.reset_frame` just before the frame of a reset, while recording;
- :meth:`~VideoMachine.capture` for the frame that follows, while :attr:`~VideoMachine.recording`
  (render only then): a full video (``video_length`` frames) stops.

Example:
    >>> import numpy as np
    >>> from rlvideo._core.options import recorder_options
    >>> from rlvideo.recording._recorder import Recorder
    >>> recorder = Recorder("videos", name_prefix="demo", fps=30, env_id=None,
    ...                     **recorder_options("demo", {"encoder": "thread"}))
    >>> machine = VideoMachine(recorder, name_prefix="demo", video_length=3,
    ...                        triggers=Triggers(episode=lambda e: e == 0))
    >>> machine.begin_episode(seed=0)
    >>> for step in range(4):
    ...     if step:
    ...         machine.begin_step()
    ...         machine.count_move(1.0)
    ...     if machine.recording:
    ...         machine.capture(np.zeros((16, 16, 3), np.uint8))
    >>> machine.recording
    False
    >>> recorder.close()
    >>> [path.name for path in recorder.saved]
    ['demo-episode-0.mp4']
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rlvideo._core.clips import fires
from rlvideo._core.frames import is_frame
from rlvideo._core.naming import clip_stem
from rlvideo.errors import InvalidArgumentError
from rlvideo.recording._recorder import EpisodeCount, VideoSink

__all__ = ["MachineAttributes", "Triggers", "VideoMachine", "warn_if_unclosed"]

logger = logging.getLogger(__name__)

Trigger = Callable[[int], bool]


@dataclass(frozen=True)
class Triggers:
    """When videos start, and when memory is collected after one.

    Attributes:
        episode: ``episode_id -> bool``: start a video at that episode's reset.
        step: ``step_id -> bool``: start a video at that step.
        gc: ``episode_id -> bool``: ``gc.collect()`` after a video stops in that episode.
    """

    episode: Trigger | None = None
    step: Trigger | None = None
    gc: Trigger | None = None


class VideoMachine:
    """One stream of videos: its episode and step counts, and the video in progress.

    Args:
        recorder: Where videos go; the machine starts, feeds and stops videos in it, never
            closes it (the wrapper does, once, for all its machines).
        name_prefix: Start of every file name (:func:`rlvideo._core.naming.clip_stem`).
        video_length: Frames per video; ``inf``: whole episodes (a video ends at the next
            :meth:`begin_episode`).
        triggers: When videos start (none: only :meth:`start` starts one).
        fps: Each new video's frame rate (None: the recorder's); read as each video starts,
            so a value set later applies to the next video.
        env_index: The sub-env of a per-env vector stream: in file names (``-env-<k>``) and
            metadata.

    Attributes:
        episode_id: Episodes begun, counted from 0 (-1 before the first).
        step_id: Steps begun, counted from 0 (-1 before the first).
        seed: The seed of the episode under way's reset, if any.
        count: Steps and return of the episode under way, recording or not.
        video_id: The video in progress (its id in the recorder), or None.
    """

    def __init__(
        self,
        recorder: VideoSink,
        *,
        name_prefix: str,
        video_length: float,
        triggers: Triggers = Triggers(),
        fps: Any = None,
        env_index: int | None = None,
    ) -> None:
        self.recorder = recorder
        self.name_prefix = name_prefix
        self.video_length = video_length
        self.triggers = triggers
        self.fps = fps
        self.env_index = env_index
        self.episode_id = -1
        self.step_id = -1
        self.seed: int | None = None
        self.count = EpisodeCount()
        self.video_id: int | None = None
        self._pending_reward: Any = 0.0  # rewards of the moves since the last counted step
        self._pending = False  # whether moves await counting as a step

    @property
    def recording(self) -> bool:
        """Whether a video is in progress: render a frame for :meth:`capture` only then."""
        return self.video_id is not None

    # -- what the env did, in order ------------------------------------------------------------
    def begin_episode(self, seed: int | None = None) -> None:
        """An episode begins: a whole-episode video ends; the episode trigger may start one."""
        self.episode_id += 1
        self.seed = seed
        self.count.begin()
        if self.recording and self.video_length == float("inf"):
            self.stop()
        trigger = self.triggers.episode
        if trigger is not None and fires(trigger, self.episode_id, "episode_trigger"):
            self.start_clip("episode")

    def begin_step(self) -> None:
        """A step begins (``step_id`` grows); the step trigger may start a video."""
        self.step_id += 1
        trigger = self.triggers.step
        if trigger is not None and fires(trigger, self.step_id, "step_trigger"):
            self.start_clip("step")

    def count_move(
        self,
        reward: Any,
        terminated: Any = False,
        truncated: Any = False,
        *,
        step_end: bool = True,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
        counted: tuple[Any, Any, Any] | None = None,
    ) -> None:
        """Count what a move did: a whole step, or (``step_end=False``) an agent's move within one.

        The flags, ``action`` and ``info`` are the step's, given with its last move; ``counted``
        is what the metadata counts when it is not what the frames show (see
        :meth:`Recorder.step <rlvideo.recording._recorder.Recorder.step>`).
        """
        self.count.add(reward, step=step_end)
        if not self.recording:
            return
        self._pending_reward = self._pending_reward + reward if self._pending else reward
        self._pending = True
        if step_end:
            self._count_step(terminated, truncated, action=action, info=info, counted=counted)

    def count_replayed(
        self, add_step: Callable[[int, Any, Any, Any], int | None], reward: Any,
        terminated: Any, truncated: Any,
    ) -> bool:  # fmt: skip
        """:meth:`begin_step`, :meth:`count_move` and :meth:`count_frame` in one call.

        For ``replay=True``'s single env with no step trigger: every step comes here, and a
        frame is only counted. ``add_step`` is the recorder's (``ReplayRecorder.add_step``).
        Whether it was done: False (a step trigger, or a video that takes the step and frame
        one by one) changed nothing, and the three calls follow.
        """
        video_id = self.video_id
        if self.triggers.step is not None or self._pending:
            return False
        frames = None if video_id is None else add_step(video_id, reward, terminated, truncated)
        if video_id is not None and frames is None:
            return False
        self.step_id += 1
        self.count.add(reward)
        if frames is not None and frames >= self.video_length:
            self.stop()
        return True

    def show_move(
        self,
        reward: Any,
        terminated: Any = False,
        truncated: Any = False,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Count a step that the video, started after it, shows but does not count (SB3's)."""
        self.count.add(reward)
        if self.video_id is not None:
            self.recorder.show(
                self.video_id, reward, terminated, truncated, action=action, info=info
            )

    def reset_frame(self, info: Mapping[str, Any] | None = None) -> None:
        """The next frame is the reset frame of the episode begun: the video shows it so."""
        if self.video_id is None:
            return
        self._count_partial_step()  # the last episode's, when the video spans the reset
        self.recorder.reset(self.video_id, max(self.episode_id, 0), info)

    def capture(self, frame: Any) -> None:
        """Add ``frame`` to the video; stop it when full, or when ``frame`` is no image."""
        if self.video_id is None:
            return
        if is_frame(frame):
            self.recorder.frame(self.video_id, frame)
        else:
            self.stop()
            logger.warning(
                "Recording stopped: expected type of frame returned by render to be a numpy "
                "array, got instead %s.", type(frame),
            )  # fmt: skip
        self.stop_if_full()

    def add_frame(self, frame: Any) -> None:
        """Add an image to the video as it is, with no check and no stop (see :meth:`capture`)."""
        assert self.video_id is not None  # callers add frames only while recording
        self.recorder.frame(self.video_id, frame)

    def count_frame(self) -> None:
        """Count a frame that is drawn later (``replay=True``); stop the video once full."""
        assert self.video_id is not None  # callers count frames only while recording
        if self.recorder.frame(self.video_id, None) >= self.video_length:
            self.stop()

    def stop_if_full(self) -> None:
        """Stop the video once it holds ``video_length`` frames."""
        video_id = self.video_id
        if video_id is not None and self.recorder.frames(video_id) >= self.video_length:
            self.stop()

    # -- starting and stopping -----------------------------------------------------------------
    def start_clip(self, kind: str) -> None:
        """Start the ``kind`` (``"episode"`` or ``"step"``) video of the current episode or step."""
        index = self.episode_id if kind == "episode" else self.step_id
        name = clip_stem(self.name_prefix, kind, index, env_index=self.env_index)
        self.start(name, kind)

    def start(
        self,
        name: str,
        kind: str,
        *,
        first_step: int | None = None,
        episode: int | None = None,
    ) -> None:
        """Start a video named ``name`` (the stem), stopping the one in progress first.

        A step video starts with the frame of the step that fired (``step_id``), any other
        with the frame before the next step (``step_id + 1``), unless ``first_step`` says;
        ``episode`` is the episode under way unless given.
        """
        if self.video_id is not None:
            self.stop()
        if first_step is None:
            first_step = self.step_id if kind == "step" else self.step_id + 1
        extra = {} if self.env_index is None else {"env_index": self.env_index}
        self.video_id = self.recorder.start(
            name, kind=kind, episode=max(self.episode_id if episode is None else episode, 0),
            first_step=first_step, episode_step=self.count.step,
            episode_return=self.count.episode_return, seed=self.seed, fps=self.fps, **extra,
        )  # fmt: skip
        self._pending_reward, self._pending = 0.0, False

    def stop(self, *, discard: bool = False) -> None:
        """Stop the video in progress: finished in the background (or, ``discard``, deleted).

        Raises:
            InvalidArgumentError: If no video is in progress.
        """
        if self.video_id is None:
            raise InvalidArgumentError("stop_recording was called, but no recording was started")
        self._count_partial_step()
        video_id, self.video_id = self.video_id, None
        if discard:
            self.recorder.discard(video_id)
            return
        self.recorder.stop(video_id)
        if self.triggers.gc is not None and self.triggers.gc(self.episode_id):
            gc.collect()

    def release(self) -> None:
        """Let go of the video in progress: the recorder's ``close()`` finishes it."""
        self._count_partial_step()
        self.video_id = None

    # -- internals ----------------------------------------------------------------------------
    def _count_step(
        self,
        terminated: Any,
        truncated: Any,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
        counted: tuple[Any, Any, Any] | None = None,
    ) -> None:
        assert self.video_id is not None  # callers check
        self.recorder.step(
            self.video_id, self._pending_reward, terminated, truncated, action=action, info=info,
            counted=counted,
        )  # fmt: skip
        self._pending_reward, self._pending = 0.0, False

    def _count_partial_step(self) -> None:
        """A video that ends mid-step counts the moves it saw of that step as a step."""
        if self.video_id is not None and self._pending:
            self._count_step(False, False)


class MachineAttributes:
    """Gymnasium's ``RecordVideo`` attributes on a wrapper, read from its ``_machine``."""

    _machine: VideoMachine

    @property
    def frames_per_sec(self) -> Any:
        """The next video's frame rate (set it to change the videos that start after)."""
        return self._machine.fps

    @frames_per_sec.setter
    def frames_per_sec(self, fps: Any) -> None:
        self._machine.fps = fps

    @property
    def recording(self) -> bool:
        """Whether a video is being recorded."""
        return self._machine.recording

    @property
    def episode_id(self) -> int:
        """Episodes begun, counted from 0 (-1 before the first reset)."""
        return self._machine.episode_id

    @property
    def step_id(self) -> int:
        """Steps taken over every episode, counted from 0 (-1 before the first)."""
        return self._machine.step_id


def warn_if_unclosed(machines: Iterable[VideoMachine], wrapper: str, env: str) -> None:
    """Say, from a wrapper's ``__del__``, that videos in progress were never finished.

    Example:
        >>> warn_if_unclosed([], "RecordVideo", "env")  # nothing in progress: nothing said
    """
    open_videos = sum(machine.recording for machine in machines)
    if open_videos:
        one = open_videos == 1
        videos, kept, them = ("video", "is", "it") if one else ("videos", "are", "them")
        logger.warning(
            "%s was not closed: the %s in progress %s kept as .incomplete. Call %s.close() to "
            "finish %s.", wrapper, videos, kept, env, them,
        )  # fmt: skip
