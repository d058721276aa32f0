"""The replay file's pure parts (issue 23, started): the step digest and the header."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from rlvideo._core.replay import (
    FORMAT,
    VERSION,
    ReplayHeader,
    narrowed,
    obs_digest,
    replay_path,
    step_digest,
)
from rlvideo.errors import InvalidArgumentError
from rlvideo.io.replayfile import read_replay, write_replay


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
    assert pickle.loads(pickle.dumps(header)) == header  # as a replay job carries it
    text = header.to_json()
    assert text.startswith(f'{{"format": "{FORMAT}", "version": {VERSION}')
    assert ReplayHeader.from_json(text) == header
    with pytest.raises(InvalidArgumentError, match="not an rlvideo replay file"):
        ReplayHeader.from_json('{"format": "something else"}')
    with pytest.raises(InvalidArgumentError, match="not JSON"):
        ReplayHeader.from_json("{")
    with pytest.raises(InvalidArgumentError, match="upgrade rlvideo"):
        ReplayHeader.from_json(f'{{"format": "{FORMAT}", "version": {VERSION + 1}}}')


# -- the file on disk ------------------------------------------------------------------------------
def test_a_replay_file_round_trips_whole_and_refuses_what_it_is_not(tmp_path: Path) -> None:
    header = ReplayHeader(env={"id": "CartPole-v1"}, video={"stem": "v"}, writer={}, segments=[])
    arrays = {
        "actions_0": np.array([0, 1, 1, 0], np.int8),
        "digests": np.arange(5, dtype=np.uint32),
    }
    path = write_replay(replay_path(tmp_path / "v.mp4"), header, arrays)
    assert path.name == "v.replay.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.replay.npz"]  # nothing hidden left
    read_header, read_arrays = read_replay(path)
    assert read_header == header
    assert set(read_arrays) == set(arrays)
    for name, value in arrays.items():
        assert read_arrays[name].dtype == value.dtype
        assert read_arrays[name].tolist() == value.tolist()
    (tmp_path / "other.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidArgumentError, match="is no rlvideo replay file"):
        read_replay(tmp_path / "other.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(InvalidArgumentError, match="it has no header"):
        read_replay(tmp_path / "plain.npz")
    with pytest.raises(InvalidArgumentError, match="no object arrays"):
        write_replay(tmp_path / "o.replay.npz", header, {"x": np.array([{}], dtype=object)})
    with pytest.raises(FileExistsError):
        write_replay(path, header, arrays, overwrite=False)


def test_actions_are_kept_small_and_continuous_ones_as_given() -> None:
    actions = narrowed([np.int64(step % 3) for step in range(5)])
    assert actions.dtype == np.uint8
    assert actions.tolist() == [0, 1, 2, 0, 1]
    assert narrowed([np.array([0.5, -1.0], np.float32)]).dtype == np.float32


def test_step_digests_stay_what_earlier_versions_wrote() -> None:
    """Replay files from earlier rlvideo versions verify: the digest of a step never changes."""
    cases = {
        "small": np.array([0.01, -0.02, 0.03, 0.04], np.float32),
        "image": (np.arange(210 * 160 * 3) % 251).astype(np.uint8).reshape(210, 160, 3),
        "view": np.arange(24, dtype=np.int64).reshape(4, 6)[:, ::2],
        "empty": np.zeros((0, 3)),
        "scalar": np.float64(2.5),
        "dict": {"a": np.arange(3), "b": 1},
    }
    written = {  # by rlvideo 0.2's step_digest, for (1.0, False, False) and (-0.5, True, False)
        "small": (3841315130, 1287826532), "image": (1065420744, 2545318550),
        "view": (1047038976, 2522870110), "empty": (4060152469, 1513521099),
        "scalar": (3151192585, 333717335), "dict": (2931422322, 110004524),
    }  # fmt: skip
    for name, obs in cases.items():
        for _ in range(2):  # the first digest of a dtype and shape, then the cached path
            got = (step_digest(obs, 1.0, False, False), step_digest(obs, -0.5, True, False))
            assert got == written[name], name
