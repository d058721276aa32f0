"""MuJoCo, for real: its renderer hands out bottom-up views (negative row stride), issue 9 defect 1.

Needs the dev extra's ``mujoco`` and an EGL (Debian's ``libegl1`` and ``libgl1-mesa-dri``, which
``.ci/run`` installs): rendering runs headless on the CPU through Mesa.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: headless rendering

import gymnasium as gym
import pytest

import rlvideo
from tests.helpers import decode, folder_names, rms

pytest.importorskip("mujoco", reason='MuJoCo comes with the dev extra: pip install -e ".[dev]"')


def _frames(render_mode: str, steps: int = 8) -> tuple[gym.Env, list]:
    env = gym.make("InvertedPendulum-v5", render_mode=render_mode, width=96, height=64)
    env.reset(seed=0)
    for _ in range(steps):
        env.step(env.action_space.sample())
    return env, env.render()


@pytest.mark.parametrize("video_format", ["mp4", "webm", "gif"])
def test_save_video_of_rgb_array_list_frames(tmp_path, video_format):
    env, frames = _frames("rgb_array_list")
    env.close()
    assert frames[0].strides[0] < 0  # the real case: a bottom-up view, not a copy
    paths = rlvideo.save_video(
        frames, tmp_path, fps=env.metadata["render_fps"], format=video_format
    )
    assert [p.name for p in paths] == [f"rl-video-episode-0.{video_format}"]
    decoded = decode(paths[0])
    assert (decoded.count, decoded.width, decoded.height) == (len(frames), 96, 64)
    assert rms(decoded.frames[-1], frames[-1]) < 8
    assert folder_names(tmp_path) == {paths[0].name}


@pytest.mark.parametrize("render_mode", ["rgb_array", "rgb_array_list"])
def test_record_video_on_mujoco(tmp_path, render_mode):
    env = gym.make("InvertedPendulum-v5", render_mode=render_mode, width=96, height=64)
    env = rlvideo.RecordVideo(env, str(tmp_path), episode_trigger=lambda e: True, video_length=6)
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    env.close()
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (decoded.count, decoded.width, decoded.height) == (6, 96, 64)
