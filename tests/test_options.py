"""What every wrapper shares: the recording options, the callbacks, the metadata, how close ends.

Each test runs on the three wrappers: rlvideo.RecordVideo, rlvideo.wrappers.vector.RecordVideo and
rlvideo.wrappers.sb3.VecVideoRecorder (regressions of issue 9's defects 3, 4, 7, 8 and 9).
"""

from __future__ import annotations

import gc
import json
import threading

import gymnasium as gym
import numpy as np
import pytest

import rlvideo
import rlvideo.wrappers.vector
from rlvideo.errors import InvalidArgumentError, RenderModeError
from tests.helpers import decode, folder_names

sb3 = pytest.importorskip("rlvideo.wrappers.sb3")
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402 (after the skip)

WRAPPERS = ("single", "vector", "sb3")


def _wrap(kind, folder, *, max_steps=30, render_mode="rgb_array", **options):
    """A CartPole wrapped by ``kind``, recording every episode (sb3: every 1000 steps)."""
    if kind == "single":
        env = gym.make("CartPole-v1", render_mode=render_mode, max_episode_steps=max_steps)
        return rlvideo.RecordVideo(env, str(folder), episode_trigger=lambda e: True, **options)
    if kind == "vector":
        envs = gym.make_vec(
            "CartPole-v1", num_envs=2, vectorization_mode="sync", render_mode=render_mode,
            max_episode_steps=max_steps,
        )  # fmt: skip
        return rlvideo.wrappers.vector.RecordVideo(
            envs, str(folder), episode_trigger=lambda e: True, **options
        )
    venv = DummyVecEnv(
        [lambda: gym.make("CartPole-v1", render_mode=render_mode, max_episode_steps=max_steps)]
    )
    return sb3.VecVideoRecorder(
        venv, str(folder), record_video_trigger=lambda s: s % 1000 == 0, video_length=500,
        **options,
    )  # fmt: skip


def _steps(env, kind, count):
    if kind == "sb3":
        env.reset()
        for _ in range(count):
            env.step(np.array([env.action_space.sample()]))
        return
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(count):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if kind == "single" and (terminated or truncated):
            env.reset()


def _sidecars(folder):
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


# -- defect 8: callbacks are recorded as given, never deep-copied --------------------------------
class _TrackerLike:
    """Holds what trackers hold (a lock, like a SummaryWriter, a wandb run or a client)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.saved = []

    def __call__(self, path, meta):
        with self.lock:
            self.saved.append((path, meta))


@pytest.mark.parametrize("kind", WRAPPERS)
def test_callbacks_holding_locks_are_not_copied(tmp_path, kind):
    tracker = _TrackerLike()
    lock = threading.Lock()

    def keep_if(meta):
        with lock:
            return True

    env = _wrap(kind, tmp_path, on_video_saved=tracker, keep_if=keep_if)
    _steps(env, kind, 40)
    env.close()
    assert tracker.saved, "the callback object itself received the videos"
    if kind != "sb3":  # Gymnasium records constructor arguments for env.spec
        assert env._saved_kwargs["on_video_saved"] is tracker
        assert env._saved_kwargs["keep_if"] is keep_if
        assert "storage_options" not in env._saved_kwargs  # may hold secrets


def test_plain_arguments_are_still_copied_into_the_spec(tmp_path):
    encoder_options = {"preset": "ultrafast"}
    env = _wrap("single", tmp_path, encoder_options=encoder_options)
    env.close()
    assert env._saved_kwargs["encoder_options"] == encoder_options
    assert env._saved_kwargs["encoder_options"] is not encoder_options


# -- the option set is shared: one name list, one error --------------------------------------
@pytest.mark.parametrize("kind", WRAPPERS)
def test_unknown_option_names_every_valid_one(tmp_path, kind):
    with pytest.raises(InvalidArgumentError, match=r"unexpected keyword argument 'fromat'.*format"):
        _wrap(kind, tmp_path, fromat="gif")


@pytest.mark.parametrize("kind", WRAPPERS)
def test_an_option_reaches_the_encoder(tmp_path, kind):
    env = _wrap(kind, tmp_path, format="webm", metadata=True)
    _steps(env, kind, 20)
    env.close()
    videos = sorted(p for p in tmp_path.iterdir() if p.suffix == ".webm")
    assert videos
    assert decode(videos[0]).codec == "vp9"


# -- defect 4: the kind comes from the trigger, never from the name ----------------------------
@pytest.mark.parametrize("kind", ["single", "vector"])
def test_a_prefix_containing_step_keeps_episode_videos_episode_videos(tmp_path, kind):
    env = _wrap(kind, tmp_path, max_steps=10, name_prefix="two-step-ppo", metadata=True)
    _steps(env, kind, 25)
    env.close()
    sidecars = _sidecars(tmp_path)
    assert sidecars
    assert {meta["kind"] for meta in sidecars.values()} == {"episode"}


def test_start_recording_by_hand_is_a_manual_video(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = rlvideo.RecordVideo(env, str(tmp_path), episode_trigger=lambda e: False, metadata=True)
    env.reset(seed=0)
    env.start_recording("my-step-video")
    env.step(0)
    env.close()
    assert _sidecars(tmp_path)["my-step-video.json"]["kind"] == "manual"


# -- defect 9: a step video's first_step is the step that fired --------------------------------
def test_step_video_first_step_is_the_step_in_its_name(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=500)
    env = rlvideo.RecordVideo(
        env, str(tmp_path), step_trigger=lambda s: s in (0, 30), video_length=5, metadata=True
    )
    _steps(env, "single", 40)
    env.close()
    sidecars = _sidecars(tmp_path)
    assert {name: meta["first_step"] for name, meta in sidecars.items()} == {
        "rl-video-step-0.json": 0,
        "rl-video-step-30.json": 30,
    }


def test_vector_step_video_first_step_is_the_step_in_its_name(tmp_path):
    envs = gym.make_vec(
        "CartPole-v1", num_envs=2, vectorization_mode="sync", render_mode="rgb_array"
    )
    envs = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), step_trigger=lambda s: s == 7, video_length=3, metadata=True
    )
    _steps(envs, "vector", 12)
    envs.close()
    assert _sidecars(tmp_path)["rl-video-step-7.json"]["first_step"] == 7


def test_episode_video_first_step_is_the_step_after_the_reset(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=10)
    env = rlvideo.RecordVideo(env, str(tmp_path), episode_trigger=lambda e: e == 1, metadata=True)
    _steps(env, "single", 10)  # episode 0: steps 0-9
    env.reset(seed=1)
    env.step(0)
    env.close()
    assert _sidecars(tmp_path)["rl-video-episode-1.json"]["first_step"] == 10


# -- defect 3: close() mid-episode, plainly or while an exception propagates --------------------
@pytest.mark.parametrize("kind", WRAPPERS)
def test_plain_close_mid_episode_saves_a_cut_short_video(tmp_path, kind):
    env = _wrap(kind, tmp_path, max_steps=500, metadata=True)
    _steps(env, kind, 5)  # CartPole stands at least 8 steps: the episode goes on
    env.close()
    sidecars = _sidecars(tmp_path)
    assert len(sidecars) == 1  # the vector video is tiled: one for both sub-envs
    for name, meta in sidecars.items():
        assert meta["cut_short"] is True, name
        assert not meta["terminated"], name
        assert not meta["truncated"], name
        assert decode(tmp_path / name.replace(".json", ".mp4")).count == 6


@pytest.mark.parametrize("kind", WRAPPERS)
def test_close_while_interrupted_keeps_the_video_as_incomplete(tmp_path, kind):
    env = _wrap(kind, tmp_path, max_steps=500, metadata=True)

    def train():
        with env:  # Ctrl-C leaves the block: the recording was cut off (issue 19, item 9)
            _steps(env, kind, 5)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train()
    names = folder_names(tmp_path)
    videos = {name for name in names if name.endswith(".mp4")}
    assert videos
    assert all(name.endswith(".incomplete.mp4") for name in videos), names
    # each keeps its data track beside it (metadata=True turns tracks on), as incomplete too
    assert names - videos == {name.replace(".mp4", ".track.jsonl") for name in videos}
    for name in videos:
        assert decode(tmp_path / name).count == 6
        lines = (tmp_path / name.replace(".mp4", ".track.jsonl")).read_text().splitlines()
        assert len(lines) == 6


# -- defect 7: __del__ of a wrapper whose __init__ never ran (Gymnasium's own test) -------------
@pytest.mark.parametrize(
    "cls", [rlvideo.RecordVideo, rlvideo.wrappers.vector.RecordVideo, sb3.VecVideoRecorder]
)
def test_del_of_an_unconstructed_wrapper_is_silent(cls):
    cls.__new__(cls).__del__()


@pytest.mark.parametrize("kind", ["single", "vector"])
def test_incompatible_render_mode_raises_and_leaves_nothing_to_clean(tmp_path, kind):
    with pytest.raises(RenderModeError, match="rgb_array"):
        _wrap(kind, tmp_path, render_mode=None)
    gc.collect()  # a failing __del__ would surface as an unraisable-exception warning: an error


# -- issue 19, item 17: typos are named, with a did-you-mean ------------------------------------
@pytest.mark.parametrize("kind", WRAPPERS)
def test_a_misspelt_option_suggests_the_right_one(tmp_path, kind):
    with pytest.raises(InvalidArgumentError, match=r"'fromat'.*did you mean 'format'\?"):
        _wrap(kind, tmp_path, fromat="gif")


@pytest.mark.parametrize("where", ["encoder_options", "VideoWriter"])
def test_an_unknown_encoder_option_is_refused_before_anything_is_written(tmp_path, where):
    message = r"encoder option 'prest' is not an option of libx264 \(did you mean 'preset'\?\)"
    make = {
        "encoder_options": lambda: _wrap("single", tmp_path, encoder_options={"prest": "fast"}),
        "VideoWriter": lambda: rlvideo.VideoWriter(tmp_path / "v.mp4", options={"prest": "x"}),
    }[where]
    with pytest.raises(InvalidArgumentError, match=message):
        make()
    assert list(tmp_path.iterdir()) == []


def test_known_encoder_options_are_accepted(tmp_path):
    env = _wrap("single", tmp_path, encoder_options={"preset": "ultrafast", "tune": "animation"})
    env.close()
