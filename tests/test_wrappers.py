"""rlvideo.RecordVideo against Gymnasium 1.4's own RecordVideo, and its own guarantees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import RecordVideo as GymRecordVideo

from rlvideo import RecordVideo, VideoMetadata
from rlvideo.cli.demo import balancing_policy
from rlvideo.errors import InvalidArgumentError, RenderModeError, VideoExistsError
from tests.helpers import decode, folder_names, rms


def balance(obs):
    return balancing_policy(obs)


def run(env, episodes, policy=balance, seed=0, max_steps=10_000):
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        for _ in range(max_steps):
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            if terminated or truncated:
                break
    env.close()


@pytest.fixture
def image_sequence_clip():
    """moviepy's clip class: Gymnasium's RecordVideo imports moviepy when it is made.

    Only the side-by-side tests need it; the rest of the module runs without moviepy.
    """
    return pytest.importorskip("moviepy.video.io.ImageSequenceClip").ImageSequenceClip


@pytest.fixture
def gym_spy(monkeypatch, image_sequence_clip):
    captured: dict[str, list[np.ndarray]] = {}
    original = GymRecordVideo.stop_recording

    def spy(self):
        if self.recorded_frames:
            captured[f"{self._video_name}.mp4"] = [f.copy() for f in self.recorded_frames]
        original(self)

    monkeypatch.setattr(GymRecordVideo, "stop_recording", spy)
    # compare with what Gymnasium captured, not with what moviepy writes (can be off by one)
    monkeypatch.setattr(image_sequence_clip, "write_videofile", lambda self, *a, **k: None)
    return captured


def make(max_steps=60):
    return gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=max_steps)


CASES = {
    "default-schedule": ({}, 10),
    "every-other-episode": ({"episode_trigger": lambda e: e % 2 == 0}, 5),
    "episode-fixed-length": ({"episode_trigger": lambda e: e in (1, 3), "video_length": 25}, 5),
    "length-spans-episodes": ({"episode_trigger": lambda e: e == 0, "video_length": 100}, 3),
    "step-trigger": ({"step_trigger": lambda s: s % 50 == 0, "video_length": 20}, 3),
    "step-trigger-restarts": ({"step_trigger": lambda s: s % 30 == 0, "video_length": 45}, 3),
    "step-whole-episode": ({"step_trigger": lambda s: s == 10}, 3),
    "both-triggers": ({"episode_trigger": lambda e: e == 1, "step_trigger": lambda s: s == 5}, 3),
    "prefix": ({"episode_trigger": lambda e: True, "name_prefix": "agent.v2"}, 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_files_and_frames_as_gymnasium(tmp_path, gym_spy, case):
    kwargs, episodes = CASES[case]
    run(GymRecordVideo(make(), str(tmp_path / "gym"), **kwargs), episodes)
    run(RecordVideo(make(), str(tmp_path / "ours"), **kwargs), episodes)
    ours = folder_names(tmp_path / "ours")
    assert ours == set(gym_spy), "the same file names"
    length = kwargs.get("video_length", 0)
    for name, frames in gym_spy.items():
        expected = frames[:length] if length else frames  # Gymnasium keeps L + 1 frames
        video = decode(tmp_path / "ours" / name)
        assert video.count == len(expected), name
        assert (video.height, video.width) == expected[0].shape[:2]
        errors = [rms(a, b) for a, b in zip(video.frames, expected, strict=True)]
        assert max(errors) < 4, f"{name}: frames differ from what Gymnasium captured"


def test_fixed_length_is_exact_where_gymnasium_adds_one(tmp_path, gym_spy):
    run(
        GymRecordVideo(
            make(), str(tmp_path / "g"), episode_trigger=lambda e: e == 0, video_length=10
        ),
        1,
    )
    run(
        RecordVideo(make(), str(tmp_path / "o"), episode_trigger=lambda e: e == 0, video_length=10),
        1,
    )
    assert len(gym_spy["rl-video-episode-0.mp4"]) == 11
    assert decode(tmp_path / "o" / "rl-video-episode-0.mp4").count == 10


@pytest.mark.usefixtures("image_sequence_clip")
def test_counters_and_fps_like_gymnasium(tmp_path):
    theirs = GymRecordVideo(make(), str(tmp_path / "g"), episode_trigger=lambda e: False)
    ours = RecordVideo(make(), str(tmp_path / "o"), episode_trigger=lambda e: False)
    assert (ours.episode_id, ours.step_id) == (theirs.episode_id, theirs.step_id) == (-1, -1)
    assert ours.frames_per_sec == theirs.frames_per_sec == 50  # metadata render_fps
    for env in (theirs, ours):
        env.reset(seed=0)
        env.step(0)
        env.step(1)
    assert (ours.episode_id, ours.step_id) == (theirs.episode_id, theirs.step_id) == (0, 1)
    assert ours.video_length == theirs.video_length == float("inf")
    ours.close()
    theirs.close()
    env = RecordVideo(make(), str(tmp_path / "f"), fps=12)
    assert env.frames_per_sec == 12
    env.close()


@pytest.mark.parametrize("mode", [None, "human", "ansi"])
def test_incompatible_render_mode(tmp_path, mode):
    env = gym.make("CartPole-v1")
    env.unwrapped.render_mode = mode  # CartPole does not accept "ansi" in make()
    with pytest.raises(RenderModeError, match=f"Render mode is {mode}, which is incompatible"):
        RecordVideo(env, str(tmp_path))
    with pytest.raises(ValueError, match='render_mode="rgb_array"'):
        RecordVideo(env, str(tmp_path))


def test_rgb_array_list_mode(tmp_path):
    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array_list", max_episode_steps=20),
        str(tmp_path), episode_trigger=lambda e: True,
    )  # fmt: skip
    run(env, 1)
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 21


def test_frames_match_the_env(tmp_path):
    """Every frame in the video is the frame the env rendered at that point."""
    frames = []
    env = RecordVideo(make(30), str(tmp_path), episode_trigger=lambda e: True)
    obs, _ = env.reset(seed=3)
    frames.append(env.env.render())
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(balance(obs))
        frames.append(env.env.render())
        done = terminated or truncated
    env.close()
    video = decode(tmp_path / "rl-video-episode-0.mp4")
    assert video.count == len(frames) == 31
    assert max(rms(a, b) for a, b in zip(video.frames, frames, strict=True)) < 4


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_metadata_sidecars_and_callback(tmp_path, encoder):
    saved = []
    env = RecordVideo(
        make(40), str(tmp_path), episode_trigger=lambda e: True, metadata=True, encoder=encoder,
        on_video_saved=lambda path, meta: saved.append((path, meta)),
    )  # fmt: skip
    run(env, 2, seed=7)
    assert folder_names(tmp_path) == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.json", "rl-video-episode-0.track.jsonl",
        "rl-video-episode-1.mp4", "rl-video-episode-1.json", "rl-video-episode-1.track.jsonl",
    }  # fmt: skip
    assert [p.name for p, _ in saved] == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    for path, meta in saved:
        side = VideoMetadata.from_json(path.with_suffix(".json").read_text(), folder=path.parent)
        assert side == meta
        assert side.frames == decode(path).count == side.steps + 1
        assert side.env_id == "CartPole-v1"
        assert side.fps == 50.0
        assert side.codec == "libx264"
        assert side.episode_return == side.steps  # CartPole: +1 per step
        assert side.truncated  # balanced until max_episode_steps
    assert [m.seed for _, m in saved] == [7, 8]
    assert json.loads(saved[0][0].with_suffix(".json").read_text())["episode"] == 0


def test_keep_if_discards_leave_nothing(tmp_path):
    env = RecordVideo(
        make(200), str(tmp_path), episode_trigger=lambda e: True, metadata=True,
        keep_if=lambda meta: meta.terminated,  # keep only failures
    )  # fmt: skip
    rng = np.random.default_rng(0)
    policies = [balance, lambda obs: int(rng.integers(2)), balance]
    for episode, policy in enumerate(policies):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            done = terminated or truncated
    env.close()
    assert folder_names(tmp_path) == {
        "rl-video-episode-1.mp4", "rl-video-episode-1.json", "rl-video-episode-1.track.jsonl",
    }  # fmt: skip
    assert env.saved_videos == [tmp_path / "rl-video-episode-1.mp4"]


def test_existing_video_is_never_overwritten_with_overwrite_false(tmp_path):
    (tmp_path / "rl-video-episode-0.mp4").write_bytes(b"from yesterday")
    env = RecordVideo(make(), str(tmp_path), overwrite=False)
    with pytest.raises(
        VideoExistsError, match=r"rl-video-episode-0.mp4 already exists.*overwrite=True"
    ):
        env.reset(seed=0)
    env.close()
    assert (tmp_path / "rl-video-episode-0.mp4").read_bytes() == b"from yesterday"
    env = RecordVideo(make(), str(tmp_path), overwrite=True)
    run(env, 1)
    assert decode(tmp_path / "rl-video-episode-0.mp4").count > 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"video_length": -1}, "video_length must be 0"),
        ({"name_prefix": "../x"}, "path separator"),
        ({"fps": 0}, "fps must be"),
        ({"format": "avi"}, "format 'avi'"),
        ({"episode_trigger": 3}, "must be a callable"),
        ({"keep_if": "failures"}, "keep_if must be a callable"),
        ({"encoder": "gpu"}, 'encoder kind must be "process" or "thread"'),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        RecordVideo(make(), str(tmp_path / "v"), **kwargs)


def test_stop_without_recording(tmp_path):
    env = RecordVideo(make(), str(tmp_path))
    with pytest.raises(InvalidArgumentError, match="no recording was started"):
        env.stop_recording()
    env.close()


def test_other_formats(tmp_path):
    env = RecordVideo(make(20), str(tmp_path), episode_trigger=lambda e: True, format="webm")
    run(env, 1)
    assert decode(tmp_path / "rl-video-episode-0.webm").codec == "vp9"


def test_long_episode_holds_no_frames(tmp_path):
    """Streaming: 3000 recorded steps do not grow the process's memory (no frame list)."""
    psutil = pytest.importorskip("psutil")
    env = RecordVideo(make(100_000), str(tmp_path), episode_trigger=lambda e: True)
    process = psutil.Process()
    obs, _ = env.reset(seed=0)
    for step in range(3000):
        obs, *_ = env.step(balance(obs))
        if step == 300:
            settled = process.memory_info().rss
    grown = process.memory_info().rss - settled
    env.close()
    assert grown < 50 * 2**20, (
        f"RSS grew {grown / 2**20:.0f} MB over 2700 frames (a list would be ~2 GB)"
    )
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 3001


CHILD = textwrap.dedent(
    """
    import sys, time
    import gymnasium as gym
    from rlvideo import RecordVideo
    from rlvideo.cli.demo import balancing_policy
    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=100_000),
                      sys.argv[1], episode_trigger=lambda e: True, encoder=sys.argv[3])
    obs, _ = env.reset(seed=0)
    for step in range(100_000):
        obs, *_ = env.step(balancing_policy(obs))
        if step == 120:
            print("ready", flush=True)
        if sys.argv[2] == "raise" and step == 150:
            raise RuntimeError("boom mid-episode")
        time.sleep(0.001)
    """
)


@pytest.mark.parametrize("encoder", ["process", "thread"])
@pytest.mark.parametrize("how", ["sigint", "raise"])
def test_interrupted_episode_is_kept_as_incomplete(tmp_path, how, encoder):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), how, encoder],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    if how == "sigint":
        child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert ("KeyboardInterrupt" if how == "sigint" else "boom mid-episode") in err
    deadline = time.time() + 20
    while (
        "rl-video-episode-0.incomplete.mp4" not in folder_names(tmp_path) and time.time() < deadline
    ):
        time.sleep(0.1)
    assert folder_names(tmp_path) == {"rl-video-episode-0.incomplete.mp4"}, (
        "no half file, no final name"
    )
    video = decode(tmp_path / "rl-video-episode-0.incomplete.mp4")
    assert video.count >= 121
    assert (video.width, video.height) == (600, 400)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_keep_if_that_raises_keeps_the_video_and_says_so(tmp_path):
    def broken(meta):
        raise KeyError("oops")

    env = RecordVideo(make(10), str(tmp_path), episode_trigger=lambda e: e == 0, keep_if=broken)
    run_one = lambda: run(env, 2)  # noqa: E731 (the second reset ends the first video)
    with pytest.raises(
        InvalidArgumentError, match=r"keep_if raised KeyError\('oops'\) for rl-video-episode-0"
    ):
        run_one()
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 11
