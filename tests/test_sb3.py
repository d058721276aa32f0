"""rlvideo.wrappers.sb3.VecVideoRecorder against Stable-Baselines3's own VecVideoRecorder."""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import gymnasium as gym
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecFrameStack,
)
from stable_baselines3.common.vec_env import VecVideoRecorder as SB3Recorder

from rlvideo import VideoMetadata
from rlvideo.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    RenderModeError,
    VideoExistsError,
)
from rlvideo.wrappers.sb3 import VecVideoRecorder
from tests.helpers import decode, folder_names, rms

N_ENVS = 2
make_cartpole = functools.partial(gym.make, "CartPole-v1", render_mode="rgb_array")


def make_venv(n_envs=N_ENVS, seed=0):
    venv = DummyVecEnv([make_cartpole] * n_envs)
    venv.seed(seed)
    return venv


def run(venv, steps, resets=(), seed=1):
    """Reset, then take ``steps`` random (seeded) steps; reset again before the steps in resets."""
    actions = np.random.default_rng(seed).integers(0, 2, size=(steps, venv.num_envs))
    venv.reset()
    for index in range(steps):
        if index in resets:
            venv.reset()
        venv.step(actions[index])
    venv.close()


@pytest.fixture
def sb3_spy(monkeypatch):
    """What SB3 hands to moviepy, by file name (SB3 writes through ImageSequenceClip)."""
    captured: dict[str, list[np.ndarray]] = {}

    class Clip:
        def __init__(self, frames, fps):
            self.frames = [np.array(frame, copy=True) for frame in frames]
            self.fps = fps

        def write_videofile(self, path, *args, **kwargs):
            captured[path.rsplit("/", 1)[-1]] = self.frames  # a later write replaces it

    monkeypatch.setattr("moviepy.video.io.ImageSequenceClip.ImageSequenceClip", Clip)
    return captured


def assert_same_frames(folder, name, expected):
    video = decode(folder / name)
    assert video.count == len(expected), name
    assert (video.height, video.width) == expected[0].shape[:2]
    assert video.fps == 50  # CartPole's render_fps
    errors = [rms(a, b) for a, b in zip(video.frames, expected, strict=True)]
    assert max(errors) < 4, f"{name}: frames differ from what SB3 captured"
    assert np.mean(errors) < 2.5, f"{name}: frames shifted?"  # one frame off averages > 4


CASES = {
    # trigger, video_length, steps, resets
    "every-100": (lambda s: s % 100 == 0, 50, 260, ()),
    "closed-mid-video": (lambda s: s % 100 == 0, 50, 230, ()),
    "back-to-back": (lambda s: s % 50 == 0, 50, 160, ()),  # the trigger at 50 is not asked
    "one-step": (lambda s: s % 7 == 3, 1, 30, ()),
    "reset-twice-at-start": (lambda s: s % 100 == 0, 20, 60, (0,)),
    "reset-inside-a-video": (lambda s: s % 100 == 0, 50, 120, (20, 105)),
    "reset-at-a-trigger": (lambda s: s % 40 == 0, 10, 100, (40,)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_files_and_frames_as_sb3(tmp_path, sb3_spy, case):
    trigger, length, steps, resets = CASES[case]
    run(SB3Recorder(make_venv(), str(tmp_path / "sb3"), trigger, length), steps, resets)
    ours = VecVideoRecorder(make_venv(), str(tmp_path / "ours"), trigger, length)
    run(ours, steps, resets)
    assert sb3_spy, "SB3 recorded something"
    assert folder_names(tmp_path / "ours") == set(sb3_spy), "the same file names"
    assert sorted(p.name for p in ours.saved_videos) == sorted(sb3_spy)
    for name, frames in sb3_spy.items():
        assert_same_frames(tmp_path / "ours", name, frames)


def test_video_holds_length_plus_one_frames_like_sb3(tmp_path, sb3_spy):
    run(SB3Recorder(make_venv(), str(tmp_path / "sb3"), lambda s: s == 0, 30), 40)
    run(VecVideoRecorder(make_venv(), str(tmp_path / "ours"), lambda s: s == 0, 30), 40)
    assert len(sb3_spy["rl-video-step-0-to-step-30.mp4"]) == 31
    video = decode(tmp_path / "ours" / "rl-video-step-0-to-step-30.mp4")
    assert video.count == 31
    assert (video.height, video.width) == (800, 600)  # two 400x600 frames, one above the other


def test_reset_interrupting_a_video_keeps_it_under_its_own_name(tmp_path, sb3_spy):
    """SB3 writes the interrupted video under the new name (then overwrites it): we keep it."""
    trigger = lambda s: s in (0, 20)  # noqa: E731
    run(SB3Recorder(make_venv(), str(tmp_path / "sb3"), trigger, 50), 80, resets=(20,))
    run(VecVideoRecorder(make_venv(), str(tmp_path / "ours"), trigger, 50), 80, resets=(20,))
    assert set(sb3_spy) == {"rl-video-step-20-to-step-70.mp4"}
    assert folder_names(tmp_path / "ours") == {
        "rl-video-step-0-to-step-50.mp4", "rl-video-step-20-to-step-70.mp4",
    }  # fmt: skip
    assert_same_frames(tmp_path / "ours", "rl-video-step-20-to-step-70.mp4", sb3_spy.popitem()[1])
    assert decode(tmp_path / "ours" / "rl-video-step-0-to-step-50.mp4").count == 21


def test_counters_fps_and_attributes_like_sb3(tmp_path):
    theirs = SB3Recorder(make_venv(), str(tmp_path / "s"), lambda s: False, video_length=7)
    ours = VecVideoRecorder(make_venv(), str(tmp_path / "o"), lambda s: False, video_length=7)
    for venv in (theirs, ours):
        assert venv.step_id == 0
        assert venv.frames_per_sec == 50
        assert venv.env.metadata["render_fps"] == 50  # the venv gets the envs' metadata
        assert os.path.isabs(venv.video_folder)
        assert (venv.name_prefix, venv.video_length, venv.recording) == ("rl-video", 7, False)
        assert venv.num_envs == N_ENVS
        venv.reset()
        venv.step(np.zeros(N_ENVS, dtype=int))
        venv.step(np.zeros(N_ENVS, dtype=int))
        assert venv.step_id == 2
        venv.close()


def test_subproc_vec_env(tmp_path):
    venv = SubprocVecEnv([make_cartpole] * 2, start_method="forkserver")
    venv.seed(0)
    run(VecVideoRecorder(venv, str(tmp_path / "sub"), lambda s: s % 10 == 0, 5), 25)
    run(VecVideoRecorder(make_venv(), str(tmp_path / "dummy"), lambda s: s % 10 == 0, 5), 25)
    names = {
        "rl-video-step-0-to-step-5.mp4", "rl-video-step-10-to-step-15.mp4",
        "rl-video-step-20-to-step-25.mp4",
    }  # fmt: skip
    assert folder_names(tmp_path / "sub") == folder_names(tmp_path / "dummy") == names
    for name in names:
        sub, dummy = decode(tmp_path / "sub" / name), decode(tmp_path / "dummy" / name)
        assert sub.count == dummy.count == 6
        assert max(rms(a, b) for a, b in zip(sub.frames, dummy.frames, strict=True)) < 1


def test_inside_another_wrapper_and_while_training(tmp_path):
    """It is a VecEnvWrapper: it wraps wrappers, and SB3 trains through it."""
    from stable_baselines3 import PPO

    venv = VecVideoRecorder(
        VecFrameStack(make_venv(), n_stack=2), str(tmp_path), lambda s: s % 64 == 0, 10,
        encoder="thread",
    )  # fmt: skip
    assert venv.frames_per_sec == 50
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=192)  # 96 steps of the 2 envs
    venv.close()
    assert folder_names(tmp_path) == {
        "rl-video-step-0-to-step-10.mp4", "rl-video-step-64-to-step-74.mp4",
    }  # fmt: skip
    assert decode(tmp_path / "rl-video-step-64-to-step-74.mp4").count == 11


def test_file_names_prefix_and_format(tmp_path):
    venv = VecVideoRecorder(
        make_venv(1), str(tmp_path), lambda s: s in (0, 12), video_length=5,
        name_prefix="agent.v2", format="webm", encoder="thread",
    )  # fmt: skip
    run(venv, 20)
    assert folder_names(tmp_path) == {
        "agent.v2-step-0-to-step-5.webm", "agent.v2-step-12-to-step-17.webm",
    }  # fmt: skip
    assert venv.video_name == "agent.v2-step-12-to-step-17.webm"
    assert venv.video_path == str(tmp_path / "agent.v2-step-12-to-step-17.webm")
    video = decode(tmp_path / "agent.v2-step-0-to-step-5.webm")
    assert (video.count, video.codec, video.width, video.height) == (6, "vp9", 600, 400)


def test_never_overwrites_with_overwrite_false(tmp_path):
    def record(**kwargs):
        venv = VecVideoRecorder(
            make_venv(1), str(tmp_path), lambda s: s == 0, video_length=3, encoder="thread",
            **kwargs,
        )  # fmt: skip
        run(venv, 5)

    record()
    before = (tmp_path / "rl-video-step-0-to-step-3.mp4").read_bytes()
    venv = VecVideoRecorder(
        make_venv(1), str(tmp_path), lambda s: s == 0, video_length=3, overwrite=False
    )
    with pytest.raises(VideoExistsError, match=r"already exists.*overwrite=True"):
        venv.reset()  # the video starts here, so the error comes here
    assert not venv.recording
    venv.close()
    assert (tmp_path / "rl-video-step-0-to-step-3.mp4").read_bytes() == before
    record(overwrite=True, crf=40)
    assert (tmp_path / "rl-video-step-0-to-step-3.mp4").read_bytes() != before
    assert folder_names(tmp_path) == {"rl-video-step-0-to-step-3.mp4"}


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_metadata_sidecars_and_callback(tmp_path, encoder):
    saved = []
    venv = VecVideoRecorder(
        make_venv(), str(tmp_path), lambda s: s in (0, 30), video_length=10, metadata=True,
        encoder=encoder, on_video_saved=lambda path, meta: saved.append((path, meta)),
    )  # fmt: skip
    run(venv, 40)
    assert folder_names(tmp_path) == {
        "rl-video-step-0-to-step-10.mp4", "rl-video-step-0-to-step-10.json",
        "rl-video-step-0-to-step-10.track.jsonl",
        "rl-video-step-30-to-step-40.mp4", "rl-video-step-30-to-step-40.json",
        "rl-video-step-30-to-step-40.track.jsonl",
    }  # fmt: skip
    assert [p.name for p, _ in saved] == [
        "rl-video-step-0-to-step-10.mp4", "rl-video-step-30-to-step-40.mp4",
    ]  # fmt: skip
    assert venv.saved_videos == [p for p, _ in saved]
    for (path, meta), first_step in zip(saved, (0, 30), strict=True):
        side = VideoMetadata.from_json(path.with_suffix(".json").read_text(), folder=path.parent)
        assert side == meta
        assert (side.kind, side.first_step, side.steps) == ("step", first_step, 10)
        assert side.frames == decode(path).count == 11
        assert side.env_id == "CartPole-v1"
        assert side.fps == 50.0
        assert side.episode_return == 2 * 10  # CartPole: +1 per step, for each of the 2 envs


def test_keep_if_discards_leave_nothing(tmp_path):
    asked = []
    venv = VecVideoRecorder(
        make_venv(), str(tmp_path), lambda s: s % 10 == 0, video_length=4, metadata=True,
        keep_if=lambda meta: asked.append(meta.first_step) or False, encoder="thread",
    )  # fmt: skip
    run(venv, 30)
    assert asked == [0, 10, 20, 30]  # the last one cut short by close()
    assert folder_names(tmp_path) == set()
    assert venv.saved_videos == []


def venv_in_mode(mode):
    return DummyVecEnv([functools.partial(gym.make, "CartPole-v1", render_mode=mode)])


# SB3's __del__ fails on the half-made wrapper (no recorded_frames yet): not our concern
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("mode", [None, "human"])
def test_sb3_asserts_the_render_mode(tmp_path, mode):
    with pytest.raises(AssertionError, match=f"The render_mode must be 'rgb_array', not {mode}"):
        SB3Recorder(venv_in_mode(mode), str(tmp_path), lambda s: True)


@pytest.mark.parametrize("mode", [None, "human"])
def test_render_mode_must_be_rgb_array(tmp_path, mode):
    venv = functools.partial(venv_in_mode, mode)
    with pytest.raises(RenderModeError, match=f"The render_mode must be 'rgb_array', not {mode}"):
        VecVideoRecorder(venv(), str(tmp_path), lambda s: True)
    with pytest.raises(AssertionError, match='render_mode="rgb_array"'):
        VecVideoRecorder(venv(), str(tmp_path), lambda s: True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"record_video_trigger": 5}, "record_video_trigger must be a callable"),
        ({"video_length": 0}, "video_length must be a positive number of steps, got 0"),
        ({"video_length": 2.5}, "video_length must be a positive number of steps"),
        ({"name_prefix": "a/b"}, "name_prefix"),
        ({"format": "avi"}, "format 'avi' is not supported"),
        ({"keep_if": "yes"}, "keep_if must be a callable"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    arguments = {"record_video_trigger": lambda s: True, **kwargs}
    with pytest.raises(InvalidArgumentError, match=message):
        VecVideoRecorder(make_venv(1), str(tmp_path / "v"), **arguments)


def test_trigger_must_answer_a_bool(tmp_path):
    venv = VecVideoRecorder(make_venv(1), str(tmp_path), lambda s: "yes", encoder="thread")
    with pytest.raises(InvalidArgumentError, match=r"record_video_trigger\(0\) returned 'yes'"):
        venv.reset()
    venv.close()


def test_missing_sb3_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "rlvideo.wrappers.sb3")
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "rlvideo\[sb3\]"'):
        importlib.import_module("rlvideo.wrappers.sb3")


# -- issue 19, item 19: the data track says what env 0 did, frame by frame ------------------------
def _track(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _env0_values(rewards, dones):
    """(episode, step, return) of env 0 after each global step (index 0: after the reset).

    SB3 resets a finished env at once: the frame after its last step is the next episode's
    reset frame, at step 0 and return 0.
    """
    episode, step, total, values = 0, 0, 0.0, [(0, 0, 0.0)]
    for reward, done in zip(rewards, dones, strict=True):
        step, total = step + 1, total + reward
        if done:
            episode, step, total = episode + 1, 0, 0.0
        values.append((episode, step, total))
    return values


def test_track_of_a_step_video_starting_mid_episode_and_spanning_episodes(tmp_path):
    venv = DummyVecEnv(
        [functools.partial(make_cartpole, max_episode_steps=4)] * N_ENVS
    )  # episodes of 4 steps: a 9-frame video from step 2 spans three of env 0's episodes
    venv.seed(0)
    venv = VecVideoRecorder(venv, str(tmp_path), lambda s: s == 2, video_length=8, track=True)
    rewards, dones = [], []
    venv.reset()
    for _ in range(12):
        _, reward, done, _ = venv.step(np.zeros(N_ENVS, dtype=np.int64))
        rewards.append(float(reward[0]))
        dones.append(bool(done[0]))
    venv.close()
    expected = _env0_values(rewards, dones)[2:11]  # frames rendered after steps 2 .. 10
    lines = _track(tmp_path / "rl-video-step-2-to-step-10.track.jsonl")
    assert len(lines) == decode(tmp_path / "rl-video-step-2-to-step-10.mp4").count == 9
    assert [(line["episode"], line["step"], line["return"]) for line in lines] == expected
    assert [line["frame"] for line in lines] == list(range(9))
    assert lines[0]["reward"] == 1.0  # the step that fired the trigger produced frame 0
    assert [line["reward"] for line in lines if line["step"] == 0] == [None, None]  # resets
