"""The state every wrapper shares: how a video in progress ends, and the fps a video gets.

Each test runs over every wrapper (single env, vector, SB3, PettingZoo) and decodes what was
written: the wrappers go through one recorder, so one rule holds for all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlvideo import RecordVideo
from tests.helpers import decode, folder_names


# -- one small driver per wrapper: make it, play N steps of episode 0 --------------------------
class Driver:
    """A wrapper around a CartPole-like env, and how to step it."""

    name = "rl-video-episode-0"

    def __init__(self, folder: Path, **options: Any) -> None:
        self.env = self.make(folder, **options)

    def make(self, folder: Path, **options: Any) -> Any:
        env = gym.make("CartPole-v1", render_mode="rgb_array")
        return RecordVideo(env, str(folder), episode_trigger=lambda e: e == 0, **options)

    def reset(self) -> None:
        self.env.reset(seed=0)

    def step(self) -> None:
        self.env.step(0)

    def inner_step(self) -> tuple[Any, str]:
        """The object whose ``step`` the wrapper calls, and that method's name."""
        return self.env.env, "step"


class VectorDriver(Driver):
    name = "rl-video-episode-0"

    def make(self, folder: Path, **options: Any) -> Any:
        from rlvideo.wrappers.vector import RecordVideo as VectorRecordVideo

        envs = gym.make_vec("CartPole-v1", num_envs=2, render_mode="rgb_array")
        return VectorRecordVideo(envs, str(folder), episode_trigger=lambda e: e == 0, **options)

    def step(self) -> None:
        self.env.step(np.zeros(2, dtype=np.int64))


class SB3Driver(Driver):
    name = "rl-video-step-0-to-step-200"

    def make(self, folder: Path, **options: Any) -> Any:
        from stable_baselines3.common.vec_env import DummyVecEnv

        from rlvideo.wrappers.sb3 import VecVideoRecorder

        venv = DummyVecEnv([lambda: gym.make("CartPole-v1", render_mode="rgb_array")])
        return VecVideoRecorder(venv, str(folder), lambda step: step == 0, **options)

    def reset(self) -> None:
        self.env.seed(0)
        self.env.reset()

    def step(self) -> None:
        self.env.step(np.zeros(1, dtype=np.int64))

    def inner_step(self) -> tuple[Any, str]:
        return self.env.venv, "step_wait"


class PettingZooDriver(Driver):
    def make(self, folder: Path, **options: Any) -> Any:
        pettingzoo = pytest.importorskip("pettingzoo")
        from rlvideo.wrappers.pettingzoo import RecordVideo as PZRecordVideo

        env = pettingzoo.make(
            "parallel", "butterfly/pistonball-v6", render_mode="rgb_array", max_cycles=100
        )
        return PZRecordVideo(env, str(folder), episode_trigger=lambda e: e == 0, **options)

    def step(self) -> None:
        self.env.step({agent: self.env.action_space(agent).sample() for agent in self.env.agents})


def _sb3() -> Any:
    return pytest.importorskip("stable_baselines3")


DRIVERS: dict[str, Callable[[], type[Driver]]] = {
    "single": lambda: Driver,
    "vector": lambda: VectorDriver,
    "sb3": lambda: (_sb3(), SB3Driver)[1],
    "pettingzoo": lambda: PettingZooDriver,
}


@pytest.fixture(params=list(DRIVERS))
def driver_class(request: pytest.FixtureRequest) -> type[Driver]:
    return DRIVERS[request.param]()


def _played(driver_class: type[Driver], folder: Path, steps: int = 4, **options: Any) -> Driver:
    driver = driver_class(folder, encoder="thread", metadata=True, **options)
    driver.reset()
    for _ in range(steps):
        driver.step()
    return driver


# -- issue 19, item 9: close() decides from the recording, not from sys.exc_info() -------------
def test_close_in_the_except_block_of_a_handled_error_saves_the_video(tmp_path, driver_class):
    driver = _played(driver_class, tmp_path)
    try:
        {}["no such key"]  # an error of the user's, handled: nothing happened to the recording
    except KeyError:
        driver.env.close()
    name = driver.name
    assert folder_names(tmp_path) == {f"{name}.mp4", f"{name}.json", f"{name}.track.jsonl"}
    assert decode(tmp_path / f"{name}.mp4").count == 5  # the reset frame and 4 steps
    assert json.loads((tmp_path / f"{name}.json").read_text())["cut_short"] is True


def _fail_the_next_inner_step(driver: Driver, monkeypatch: pytest.MonkeyPatch, error) -> None:
    owner, method = driver.inner_step()

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(owner, method, failing)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError("the env broke")])
def test_an_error_out_of_step_then_close_in_finally_keeps_the_video_incomplete(
    tmp_path, driver_class, monkeypatch, error
):
    driver = _played(driver_class, tmp_path)
    _fail_the_next_inner_step(driver, monkeypatch, error)

    def train() -> None:
        try:
            driver.step()
        finally:
            driver.env.close()

    with pytest.raises(type(error) if isinstance(error, Exception) else error):
        train()
    name = driver.name
    assert folder_names(tmp_path) == {f"{name}.incomplete.mp4", f"{name}.incomplete.track.jsonl"}
    assert decode(tmp_path / f"{name}.incomplete.mp4").count == 5


def test_an_error_out_of_step_that_is_handled_then_recording_goes_on_saves_the_video(
    tmp_path, driver_class, monkeypatch
):
    driver = _played(driver_class, tmp_path)
    _fail_the_next_inner_step(driver, monkeypatch, RuntimeError("a glitch"))
    with pytest.raises(RuntimeError, match="a glitch"):
        driver.step()
    monkeypatch.undo()  # the env works again: the recording goes on
    driver.step()
    driver.env.close()
    assert f"{driver.name}.mp4" in folder_names(tmp_path)
    assert decode(tmp_path / f"{driver.name}.mp4").count == 6


def test_an_error_leaving_a_with_block_keeps_the_video_incomplete(tmp_path, driver_class):
    driver = _played(driver_class, tmp_path)
    with pytest.raises(ValueError, match="the user's bug"), driver.env:
        raise ValueError("the user's bug")  # in the user's code, inside the block
    name = driver.name
    assert folder_names(tmp_path) == {f"{name}.incomplete.mp4", f"{name}.incomplete.track.jsonl"}
    assert decode(tmp_path / f"{name}.incomplete.mp4").count == 5


def test_a_with_block_that_ends_normally_saves_the_video(tmp_path, driver_class):
    driver = _played(driver_class, tmp_path)
    with driver.env:
        driver.step()
    assert decode(tmp_path / f"{driver.name}.mp4").count == 6


# -- issue 19, item 12: frames_per_sec is read when each video starts ----------------------------
def test_frames_per_sec_set_after_construction_is_the_videos_fps(tmp_path, driver_class):
    """highway-env's recipe (``set_record_video_wrapper``) sets it after construction."""
    driver = driver_class(tmp_path, encoder="thread", metadata=True)
    driver.env.frames_per_sec = 15
    driver.reset()
    for _ in range(5):
        driver.step()
    driver.env.close()
    video = decode(tmp_path / f"{driver.name}.mp4")
    assert video.fps == 15
    assert video.times[-1] == pytest.approx(5 / 15)  # frame 5 plays at 1/3 s
    assert json.loads((tmp_path / f"{driver.name}.json").read_text())["fps"] == 15


def test_frames_per_sec_changed_between_videos_applies_to_the_next_one(tmp_path):
    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=3), str(tmp_path),
        episode_trigger=lambda e: True, fps=50, encoder="thread",
    )  # fmt: skip
    for episode, fps in enumerate((50, 20)):
        env.frames_per_sec = fps
        env.reset(seed=episode)
        for _ in range(3):
            env.step(0)
    env.close()
    assert decode(tmp_path / "rl-video-episode-0.mp4").fps == 50
    assert decode(tmp_path / "rl-video-episode-1.mp4").fps == 20


def test_a_bad_frames_per_sec_set_later_is_refused_when_the_video_starts(tmp_path):
    from rlvideo.errors import InvalidArgumentError

    env = RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), str(tmp_path))
    env.frames_per_sec = 0
    with pytest.raises(InvalidArgumentError, match=r"frames_per_sec.*got 0"):
        env.reset(seed=0)
    env.close()
    assert folder_names(tmp_path) == set()
