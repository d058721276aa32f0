"""Which frames become which videos: gym's trigger rules, with no encoding.

``save_video(frames, ...)`` in gym and Gymnasium writes

- an *episode* video, ``frames[:video_length]``, when ``episode_trigger(episode_index)`` fires;
- a *step* video for every step ``s = step_starting_index + k`` over ``frames[1:]`` (frame 0
  comes from ``reset``) where ``step_trigger(s)`` fires: ``frames[k + 1 : k + 1 + video_length]``,
  to the end when ``video_length`` is None. Step videos may overlap.

When both triggers are None the episode trigger is :func:`capped_cubic_video_schedule`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import Literal

import numpy as np

from rlvideo._core.schedules import capped_cubic_video_schedule
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "Clip",
    "Trigger",
    "check_video_length",
    "fires",
    "plan_episode_clip",
    "plan_step_clips",
    "resolve_triggers",
]

Trigger = Callable[[int], bool]


@dataclass(frozen=True)
class Clip:
    """One video to write: frames ``[start, stop)`` of the episode.

    Attributes:
        kind: ``"episode"`` or ``"step"``: which trigger fired.
        index: The episode index or the step index that fired.
        start: The first frame, counted from the reset frame.
        stop: One past the last frame; None for "to the end of the frames".
    """

    kind: Literal["episode", "step"]
    index: int
    start: int
    stop: int | None


def resolve_triggers(
    episode_trigger: Trigger | None, step_trigger: Trigger | None
) -> tuple[Trigger | None, Trigger | None]:
    """Apply gym's default: with neither trigger given, episodes follow the capped cubic schedule.

    Example:
        >>> resolve_triggers(None, None)[0].__name__
        'capped_cubic_video_schedule'
    """
    for name, trigger in (("episode_trigger", episode_trigger), ("step_trigger", step_trigger)):
        if trigger is not None and not callable(trigger):
            raise InvalidArgumentError(
                InvalidArgumentError.Term(name),
                f" must be a callable taking an int and returning a bool, got {trigger!r}. "
                f"Example: {name}=lambda i: i % 10 == 0",
                value=trigger,
            )
    if episode_trigger is None and step_trigger is None:
        return capped_cubic_video_schedule, None
    return episode_trigger, step_trigger


def check_video_length(video_length: int | None) -> int | None:
    """Return ``video_length`` if it is None or a positive int, else raise a clear error.

    Example:
        >>> check_video_length(0)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: video_length must be a positive number of frames or None (the whole episode), got 0
    """  # noqa: E501
    if video_length is None:
        return None
    if isinstance(video_length, bool) or not isinstance(video_length, Integral) or video_length < 1:
        raise InvalidArgumentError(
            InvalidArgumentError.Term("video_length"),
            " must be a positive number of frames or None (the whole episode), "
            f"got {video_length!r}",
            value=video_length,
        )
    return int(video_length)


def fires(trigger: Trigger, index: int, name: str) -> bool:
    """Call ``trigger(index)`` and insist on a bool-like answer.

    Example:
        >>> fires(lambda i: i % 2 == 0, 4, "step_trigger")
        True
        >>> fires(lambda i: "yes", 4, "step_trigger")
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: step_trigger(4) returned 'yes' (str); a trigger must return a bool
    """  # noqa: E501
    try:
        answer = trigger(index)
    except Exception as exc:
        raise InvalidArgumentError(
            InvalidArgumentError.Term(name), f"({index}) raised {exc!r}", value=trigger
        ) from exc
    if isinstance(answer, bool):
        return answer
    if isinstance(answer, (Integral, np.bool_)):
        return bool(answer)
    raise InvalidArgumentError(
        InvalidArgumentError.Term(name),
        f"({index}) returned {answer!r} ({type(answer).__name__}); a trigger must return a bool",
        value=trigger,
    )


def plan_episode_clip(
    episode_trigger: Trigger | None, episode_index: int, video_length: int | None
) -> Clip | None:
    """The episode video to write, or None when the trigger does not fire.

    Example:
        >>> plan_episode_clip(lambda i: True, 3, 100)
        Clip(kind='episode', index=3, start=0, stop=100)
        >>> plan_episode_clip(lambda i: i == 0, 3, None) is None
        True
    """
    if episode_trigger is None or not fires(episode_trigger, episode_index, "episode_trigger"):
        return None
    return Clip("episode", episode_index, 0, video_length)


def plan_step_clips(
    step_trigger: Trigger | None,
    frame_count: int,
    step_starting_index: int,
    video_length: int | None,
) -> list[Clip]:
    """The step videos to write for an episode of ``frame_count`` frames (reset frame included).

    Example:
        >>> plan_step_clips(lambda s: s % 4 == 0, 10, 0, 3)
        [Clip(kind='step', index=0, start=1, stop=4), Clip(kind='step', index=4, start=5, stop=8), Clip(kind='step', index=8, start=9, stop=10)]
    """  # noqa: E501
    if step_trigger is None:
        return []
    clips = []
    for frame_index in range(1, frame_count):
        step_index = step_starting_index + frame_index - 1
        if fires(step_trigger, step_index, "step_trigger"):
            stop = (
                frame_count
                if video_length is None
                else min(frame_index + video_length, frame_count)
            )
            clips.append(Clip("step", step_index, frame_index, stop))
    return clips
