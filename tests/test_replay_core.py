"""The replay file's pure parts (issue 23, started): the step digest and the header."""

from __future__ import annotations

import numpy as np
import pytest

from rlvideo._core.replay import FORMAT, VERSION, ReplayHeader, obs_digest, step_digest
from rlvideo.errors import InvalidArgumentError


def test_the_digest_sees_every_leaf_its_dtype_and_shape() -> None:
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    obs = {"image": image, "direction": 1, "mission": "go"}
    same = {"mission": "go", "direction": 1, "image": image.copy()}
    assert obs_digest(obs) == obs_digest(same)  # key order does not matter
    changed = dict(obs, image=obs["image"].copy())
    changed["image"][1, 1, 2] += 1
    assert obs_digest(changed) != obs_digest(obs)  # one pixel
    assert obs_digest(dict(obs, mission="stop")) != obs_digest(obs)
    assert obs_digest(np.zeros((2, 3))) != obs_digest(np.zeros((3, 2)))  # the shape
    assert obs_digest(np.zeros(3, np.float32)) != obs_digest(np.zeros(3, np.float64))  # the dtype


def test_a_view_digests_as_its_contiguous_copy() -> None:
    frame = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    view = frame[:, ::-1]
    assert obs_digest(view) == obs_digest(np.ascontiguousarray(view))


def test_the_step_digest_covers_reward_and_the_end_flags() -> None:
    obs = np.ones(4, np.float32)
    digests = {
        step_digest(obs, 1.0, False, False),
        step_digest(obs, 0.5, False, False),
        step_digest(obs, 1.0, True, False),
        step_digest(obs, 1.0, False, True),
    }
    assert len(digests) == 4


def test_an_observation_that_cannot_be_digested_says_what_replay_needs() -> None:
    with pytest.raises(InvalidArgumentError, match="replay=True needs observations made of"):
        obs_digest(object())


def test_the_header_round_trips_and_refuses_other_files() -> None:
    header = ReplayHeader(
        env={"id": "CartPole-v1"},
        video={"stem": "rl-video-episode-0", "frames": 11},
        writer={"format": "mp4"},
        segments=[{"episode": 0, "reset": {"seed": 3}}],
        versions={"gymnasium": "1.4.0"},
    )
    text = header.to_json()
    assert text.startswith(f'{{"format": "{FORMAT}", "version": {VERSION}')
    assert ReplayHeader.from_json(text) == header
    with pytest.raises(InvalidArgumentError, match="not an rlvideo replay file"):
        ReplayHeader.from_json('{"format": "something else"}')
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        ReplayHeader.from_json("{")
    with pytest.raises(InvalidArgumentError, match="upgrade rlvideo"):
        ReplayHeader.from_json(f'{{"format": "{FORMAT}", "version": {VERSION + 1}}}')
