"""Gym's trigger rules as table tests: no encoding, no files."""

from __future__ import annotations

import numpy as np
import pytest

from rlvideo import capped_cubic_video_schedule, every_n
from rlvideo._core.clips import (
    Clip,
    check_video_length,
    fires,
    plan_episode_clip,
    plan_step_clips,
    resolve_triggers,
)
from rlvideo.errors import InvalidArgumentError


def test_capped_cubic_matches_gym_formula_everywhere():
    def gym(i):
        return round(i ** (1.0 / 3)) ** 3 == i if i < 1000 else i % 1000 == 0

    assert all(capped_cubic_video_schedule(i) == gym(i) for i in range(20_000))
    assert not capped_cubic_video_schedule(4)


def test_default_trigger_only_when_both_are_none():
    assert resolve_triggers(None, None) == (capped_cubic_video_schedule, None)
    step = every_n(5)
    assert resolve_triggers(None, step) == (None, step)


def test_non_callable_trigger_rejected():
    with pytest.raises(InvalidArgumentError, match="episode_trigger must be a callable"):
        resolve_triggers(5, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("trigger", "episode", "length", "expected"),
    [
        (capped_cubic_video_schedule, 8, None, Clip("episode", 8, 0, None)),
        (capped_cubic_video_schedule, 9, None, None),
        (lambda i: True, 3, 10, Clip("episode", 3, 0, 10)),
        (None, 0, None, None),
    ],
)
def test_episode_clip(trigger, episode, length, expected):
    assert plan_episode_clip(trigger, episode, length) == expected


@pytest.mark.parametrize(
    ("frames", "start", "length", "trigger", "expected"),
    [
        # 5 frames: reset + steps 0..3. Every step, no length: each clip runs to the end.
        (5, 0, None, lambda s: True, [(0, 1, 5), (1, 2, 5), (2, 3, 5), (3, 4, 5)]),
        # overlapping fixed-length clips
        (6, 0, 3, lambda s: s in (0, 1), [(0, 1, 4), (1, 2, 5)]),
        # the step index starts at step_starting_index
        (4, 100, 2, lambda s: s % 2 == 0, [(100, 1, 3), (102, 3, 4)]),
        # a clip longer than what is left is cut at the end
        (4, 0, 50, lambda s: s == 2, [(2, 3, 4)]),
        # only the reset frame: no step, no clip
        (1, 0, None, lambda s: True, []),
        (10, 0, None, lambda s: False, []),
    ],
)
def test_step_clips(frames, start, length, trigger, expected):
    clips = plan_step_clips(trigger, frames, start, length)
    assert [(c.index, c.start, c.stop) for c in clips] == expected
    assert all(c.kind == "step" for c in clips)


def test_step_clips_match_gym_slicing():
    frames = list(range(37))
    for length in (None, 1, 5, 100):
        for start in (0, 7):
            trigger = every_n(3, offset=1)
            gym = {
                s: frames[k + 1 : (k + 1 + length) if length else None]
                for k, s in enumerate(range(start, start + len(frames) - 1))
                if trigger(s)
            }
            ours = {
                c.index: frames[c.start : c.stop]
                for c in plan_step_clips(trigger, 37, start, length)
            }
            assert ours == gym


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True])
def test_bad_video_length(value):
    with pytest.raises(InvalidArgumentError, match="video_length must be a positive number"):
        check_video_length(value)


@pytest.mark.parametrize("value", [None, 1, 200, np.int64(5)])
def test_good_video_length(value):
    assert check_video_length(value) == value


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(True, True), (False, False), (np.bool_(True), True), (0, False), (1, True)],
)
def test_trigger_answers_accepted(answer, expected):
    assert fires(lambda i: answer, 0, "step_trigger") is expected


@pytest.mark.parametrize("answer", [None, "yes", 1.0, [True]])
def test_trigger_non_bool_rejected(answer):
    with pytest.raises(
        InvalidArgumentError, match=r"step_trigger\(3\) returned .*a trigger must return a bool"
    ):
        fires(lambda i: answer, 3, "step_trigger")


def test_trigger_that_raises_is_named():
    def broken(i):
        raise KeyError(i)

    with pytest.raises(InvalidArgumentError, match=r"episode_trigger\(7\) raised KeyError\(7\)"):
        fires(broken, 7, "episode_trigger")


def test_every_n_validation():
    assert [i for i in range(10) if every_n(4, offset=2)(i)] == [2, 6]
    with pytest.raises(InvalidArgumentError, match="every_n needs n >= 1"):
        every_n(-3)
