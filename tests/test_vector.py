"""rlvideo.wrappers.vector.RecordVideo against Gymnasium 1.4's vector RecordVideo."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import RecordVideo as GymVectorRecordVideo
from moviepy.video.io.ImageSequenceClip import ImageSequenceClip

from rlvideo.errors import InvalidArgumentError, RenderModeError
from rlvideo.wrappers.vector import RecordVideo
from tests.helpers import decode, folder_names, rms


@pytest.fixture
def gym_spy(monkeypatch):
    captured: dict[str, list[np.ndarray]] = {}
    original = GymVectorRecordVideo.stop_recording

    def spy(self):
        if self.recorded_frames:
            captured[f"{self._video_name}.mp4"] = [f.copy() for f in self.recorded_frames]
        original(self)

    monkeypatch.setattr(GymVectorRecordVideo, "stop_recording", spy)
    monkeypatch.setattr(ImageSequenceClip, "write_videofile", lambda self, *a, **k: None)
    return captured


def make_vec(num_envs=4, mode=AutoresetMode.NEXT_STEP, max_steps=25):
    return gym.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="sync", render_mode="rgb_array",
        vector_kwargs={"autoreset_mode": mode}, max_episode_steps=max_steps,
    )  # fmt: skip


def run(envs, steps=80, seed=0):
    """Random but reproducible actions; returns what each sub-env rendered, step by step."""
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    for _ in range(steps):
        envs.step(rng.integers(0, 2, size=envs.num_envs))
    envs.close()


CASES = {
    "episodes": {"episode_trigger": lambda e: True},
    "fixed-length": {"episode_trigger": lambda e: e % 2 == 0, "video_length": 15},
    "step-trigger": {"step_trigger": lambda s: s % 30 == 0, "video_length": 20},
    "first-only": {"episode_trigger": lambda e: True, "record_first_only": True},
    "wide": {"episode_trigger": lambda e: e == 1, "video_aspect_ratio": (16, 9)},
}


@pytest.mark.filterwarnings("ignore:.*same-step")
@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("case", list(CASES))
def test_same_files_and_frames_as_gymnasium(tmp_path, gym_spy, case, mode):
    kwargs = CASES[case]
    run(GymVectorRecordVideo(make_vec(mode=mode), str(tmp_path / "gym"), **kwargs))
    run(RecordVideo(make_vec(mode=mode), str(tmp_path / "ours"), **kwargs))
    assert folder_names(tmp_path / "ours") == set(gym_spy)
    length = kwargs.get("video_length", 0)
    for name, frames in gym_spy.items():
        expected = frames[:length] if length else frames  # Gymnasium keeps L + 1 frames
        video = decode(tmp_path / "ours" / name)
        assert video.count == len(expected), name
        assert (video.height, video.width) == expected[0].shape[:2], name
        assert max(rms(a, b) for a, b in zip(video.frames, expected, strict=True)) < 4, name


def test_prime_env_counts_get_a_padded_grid(tmp_path):
    envs = RecordVideo(make_vec(5), str(tmp_path), episode_trigger=lambda e: e == 0)
    run(envs, steps=10)
    assert (envs.frame_rows, envs.frame_cols) == (3, 2)
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (video.height, video.width) == (1200, 1200)
    assert video.frames[0][800:, 600:].max() == 0, "the sixth tile is empty"
    assert video.frames[0][800:, :600].mean() > 100, "the fifth env is drawn"


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_per_env_videos_follow_each_envs_episodes(tmp_path, mode):
    """Each sub-env's videos hold exactly that env's frames, split at its own episode ends."""
    reference = make_vec(3, mode)
    rng = np.random.default_rng(5)
    reference.reset(seed=5)
    frames = [[f] for f in reference.render()]  # per env: list of episodes' frames
    episodes: list[list[list[np.ndarray]]] = [[] for _ in range(3)]
    pending = [False] * 3
    actions = []
    for _ in range(70):
        action = rng.integers(0, 2, size=3)
        actions.append(action)
        _, _, term, trunc, _ = reference.step(action)
        rendered = reference.render()
        for k in range(3):
            done = bool(term[k] or trunc[k])
            if mode == AutoresetMode.NEXT_STEP:
                if pending[k]:
                    episodes[k].append(frames[k])
                    frames[k] = []
                pending[k] = done
            elif done:  # same-step: the returned frame is already the next episode's
                episodes[k].append(frames[k])
                frames[k] = []
            frames[k].append(rendered[k])
    reference.close()

    saved = []
    envs = RecordVideo(
        make_vec(3, mode), str(tmp_path), per_env=True, episode_trigger=lambda e: True,
        metadata=True, on_video_saved=lambda path, meta: saved.append(meta),
    )  # fmt: skip
    envs.reset(seed=5)
    for action in actions:
        envs.step(action)
    envs.close()
    for k in range(3):
        for i, expected in enumerate([*episodes[k], frames[k]]):
            video = decode(tmp_path / f"rl-video-env-{k}-episode-{i}.mp4")
            assert video.count == len(expected), (k, i)
            assert max(rms(a, b) for a, b in zip(video.frames, expected, strict=True)) < 4
    assert {m.env_index for m in saved} == {0, 1, 2}
    assert all(m.seed == 5 + m.env_index for m in saved if m.episode == 0)


def test_per_env_step_trigger_names(tmp_path):
    envs = RecordVideo(
        make_vec(2), str(tmp_path), per_env=True, step_trigger=lambda s: s == 3, video_length=5
    )
    run(envs, steps=12)
    assert folder_names(tmp_path) == {"rl-video-env-0-step-3.mp4", "rl-video-env-1-step-3.mp4"}
    assert decode(tmp_path / "rl-video-env-1-step-3.mp4").count == 5


def test_reset_mask_counts_only_reset_envs(tmp_path):
    envs = RecordVideo(make_vec(2), str(tmp_path), per_env=True, episode_trigger=lambda e: False)
    envs.reset(seed=0)
    envs.reset(options={"reset_mask": np.array([False, True])})
    assert [t.episode_id for t in envs._tracks] == [0, 1]
    envs.close()


def test_errors(tmp_path):
    with pytest.raises(RenderModeError, match="Render mode is None"):
        RecordVideo(gym.make_vec("CartPole-v1", num_envs=2), str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="video_aspect_ratio must be two positive"):
        RecordVideo(make_vec(2), str(tmp_path), video_aspect_ratio=(0, 1))
    envs = RecordVideo(make_vec(2), str(tmp_path), per_env=True)
    with pytest.raises(InvalidArgumentError, match="with per_env=True the triggers"):
        envs.start_recording("x")
    envs.close()
