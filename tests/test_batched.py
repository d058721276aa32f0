"""Vector envs that render all sub-envs as one batch, and recording only some sub-envs."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import rlvideo.wrappers.vector
from rlvideo.errors import InvalidArgumentError
from tests.helpers import decode, folder_names

torch = pytest.importorskip("torch")

H, W = 32, 48


def colour(env: int, step: int) -> tuple[int, int, int]:
    """Each sub-env's frames say which env and which step of its episode they show."""
    return 20 + 50 * env, 20 + 30 * step, 128


class TrackedBatch:
    """An (N, H, W, 3) batch that remembers which sub-envs were read, and refuses a full copy."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.read: set[int] = set()

    def __getitem__(self, index: int) -> np.ndarray:
        self.read.add(int(index))
        return self.array[index]

    def __len__(self) -> int:
        return len(self.array)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("the whole batch was read")


class BatchedEnv(gym.vector.VectorEnv):
    """N sub-envs rendered as one batch; sub-env k's episodes last 3 + k steps (next-step reset)."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_fps": 10,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }
    render_mode = "rgb_array"

    def __init__(self, num_envs: int = 4, kind: str = "numpy") -> None:
        self.num_envs = num_envs
        self.kind = kind
        self.single_observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.single_action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, num_envs
        )
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.t = np.zeros(num_envs, int)
        self.autoreset = np.zeros(num_envs, bool)
        self.batches: list[TrackedBatch] = []

    def reset(self, *, seed: Any = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        self.t[:] = 0
        self.autoreset[:] = False
        return np.zeros((self.num_envs, 1), np.float32), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        terminated = np.zeros(self.num_envs, bool)
        for k in range(self.num_envs):
            if self.autoreset[k]:
                self.t[k] = 0
            else:
                self.t[k] += 1
                terminated[k] = self.t[k] == 3 + k
        self.autoreset = terminated.copy()
        obs = np.zeros((self.num_envs, 1), np.float32)
        return obs, np.ones(self.num_envs), terminated, np.zeros(self.num_envs, bool), {}

    def render(self) -> Any:
        batch = np.empty((self.num_envs, H, W, 3), np.uint8)
        for k in range(self.num_envs):
            batch[k] = colour(k, int(self.t[k]))
        if self.kind == "numpy":
            self.batches.append(TrackedBatch(batch))
            return self.batches[-1]
        tensor = torch.from_numpy(batch)
        if self.kind == "torch-chw-float":  # as IsaacLab and ManiSkill cameras give it
            return tensor.permute(0, 3, 1, 2).float() / 255
        return tensor


def run(envs: Any, steps: int) -> None:
    envs.reset(seed=0)
    for _ in range(steps):
        envs.step(envs.action_space.sample())
    envs.close()


def step_colours(path: Any) -> list[int]:
    video = decode(path)
    assert (video.height, video.width) == (H, W)
    assert video.fps == 10
    return [round(float(frame[..., 1].mean())) for frame in video.frames]


def expected_steps(episode_length: int) -> list[int]:
    return [colour(0, t)[1] for t in range(episode_length + 1)]


def close_to(got: list[int], expected: list[int]) -> bool:
    return len(got) == len(expected) and all(
        abs(a - b) <= 3 for a, b in zip(got, expected, strict=True)
    )


@pytest.mark.parametrize("kind", ["numpy", "torch", "torch-chw-float"])
def test_per_env_videos_follow_each_sub_envs_own_episodes(tmp_path, kind):
    envs = rlvideo.wrappers.vector.RecordVideo(
        BatchedEnv(4, kind), str(tmp_path), per_env=True, episode_trigger=lambda e: e < 2
    )
    run(envs, 20)
    for k in range(4):
        for episode in (0, 1):
            got = step_colours(tmp_path / f"rl-video-env-{k}-episode-{episode}.mp4")
            assert close_to(got, expected_steps(3 + k)), (k, episode, got)


def test_unrecorded_sub_envs_are_never_read(tmp_path):
    env = BatchedEnv(4)
    envs = rlvideo.wrappers.vector.RecordVideo(
        env, str(tmp_path), per_env=True, envs_to_record=[0, 3], episode_trigger=lambda e: True
    )
    run(envs, 12)
    assert folder_names(tmp_path) >= {
        "rl-video-env-0-episode-0.mp4",
        "rl-video-env-3-episode-0.mp4",
    }
    assert not any("env-1" in name or "env-2" in name for name in folder_names(tmp_path))
    assert set().union(*(batch.read for batch in env.batches)) == {0, 3}
    assert envs.envs_to_record == [0, 3]


def test_tiled_selection_counts_episodes_on_its_first_sub_env(tmp_path):
    envs = rlvideo.wrappers.vector.RecordVideo(
        BatchedEnv(4, "torch-chw-float"), str(tmp_path), envs_to_record=lambda k: k in (1, 3),
        episode_trigger=lambda e: e == 0,
    )  # fmt: skip
    run(envs, 8)
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert len(video.frames) == 3 + 1 + 1  # sub-env 1's episode: reset frame and 4 steps
    assert (video.height, video.width) == (H, 2 * W)  # two tiles side by side
    left, right = video.frames[0][:, :W, 0].mean(), video.frames[0][:, W:, 0].mean()
    assert abs(left - colour(1, 0)[0]) <= 3
    assert abs(right - colour(3, 0)[0]) <= 3


def test_gymnasium_vector_env_with_a_selection(tmp_path):
    envs = gym.make_vec("CartPole-v1", num_envs=3, render_mode="rgb_array")
    envs = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), per_env=True, envs_to_record=[2], episode_trigger=lambda e: e == 0
    )
    envs.reset(seed=3)
    steps = 0
    while True:
        _, _, terminated, truncated, _ = envs.step(np.ones(3, int))
        steps += 1
        if terminated[2] or truncated[2]:
            break
    envs.step(np.ones(3, int))  # sub-env 2's reset: its episode-0 video ends
    envs.close()
    assert folder_names(tmp_path) == {"rl-video-env-2-episode-0.mp4"}
    video = decode(tmp_path / "rl-video-env-2-episode-0.mp4")
    assert len(video.frames) == steps + 1
    assert (video.height, video.width) == (400, 600)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"envs_to_record": [4]}, r"indices in \[0, 3\]"),
        ({"envs_to_record": []}, r"at least one sub-env"),
        ({"envs_to_record": lambda k: False}, r"at least one sub-env"),
        ({"envs_to_record": [0], "record_first_only": True}, r"not both"),
    ],
)
def test_bad_selections_are_refused(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        rlvideo.wrappers.vector.RecordVideo(BatchedEnv(4), str(tmp_path), **kwargs)


def test_a_batch_of_the_wrong_size_is_refused(tmp_path):
    env = BatchedEnv(4)
    env.render = lambda: np.zeros((3, H, W, 3), np.uint8)
    envs = rlvideo.wrappers.vector.RecordVideo(env, str(tmp_path), episode_trigger=lambda e: True)
    with pytest.raises(
        InvalidArgumentError, match=r"ndarray of shape \(3, 32, 48, 3\).*\(4, H, W, C\)"
    ):
        envs.reset(seed=0)
    envs.close()
