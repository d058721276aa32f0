"""MuJoCo, for real: its renderer hands out bottom-up views (negative row stride), issue 9 defect 1.

Needs the dev extra's ``mujoco`` and an EGL (Debian's ``libegl1`` and ``libgl1-mesa-dri``, which
``.ci/run`` installs): rendering runs headless on the CPU through Mesa. Each case records in a
fresh interpreter: Mesa's EGL and torch in one process crash it (a segfault in a later SB3
test), so MuJoCo is never loaded into the test process itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import decode, folder_names, rms

pytest.importorskip("mujoco", reason='MuJoCo comes with the dev extra: pip install -e ".[dev]"')

_SETUP = """
import json, os, sys
import numpy as np
import gymnasium as gym
import rlvideo
folder = sys.argv[1]
"""


def _run(code: str, folder: Path) -> dict:
    """Run ``code`` in a fresh interpreter with MuJoCo rendering headless; its JSON answer."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    script = _SETUP + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    answer: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize("video_format", ["mp4", "webm", "gif"])
def test_save_video_of_rgb_array_list_frames(tmp_path, video_format):
    answer = _run(
        f"""
        env = gym.make("InvertedPendulum-v5", render_mode="rgb_array_list", width=96, height=64)
        env.reset(seed=0)
        for _ in range(8):
            env.step(env.action_space.sample())
        frames = env.render()
        np.save(os.path.join(folder, "last.npy"), frames[-1])
        paths = rlvideo.save_video(
            frames, folder, fps=env.metadata["render_fps"], format="{video_format}"
        )
        print(json.dumps({{"strides": frames[0].strides, "count": len(frames),
                          "paths": [str(p) for p in paths]}}))
        """,
        tmp_path,
    )
    assert answer["strides"][0] < 0  # the real case: a bottom-up view, not a copy
    assert [Path(p).name for p in answer["paths"]] == [f"rl-video-episode-0.{video_format}"]
    decoded = decode(answer["paths"][0])
    assert (decoded.count, decoded.width, decoded.height) == (answer["count"], 96, 64)
    import numpy as np

    assert rms(decoded.frames[-1], np.load(tmp_path / "last.npy")) < 8
    assert folder_names(tmp_path) == {Path(answer["paths"][0]).name, "last.npy"}


@pytest.mark.parametrize("render_mode", ["rgb_array", "rgb_array_list"])
def test_record_video_on_mujoco(tmp_path, render_mode):
    _run(
        f"""
        env = gym.make("InvertedPendulum-v5", render_mode="{render_mode}", width=96, height=64)
        env = rlvideo.RecordVideo(env, folder, episode_trigger=lambda e: True, video_length=6)
        env.reset(seed=0)
        for _ in range(10):
            env.step(env.action_space.sample())
        env.close()
        print(json.dumps({{}}))
        """,
        tmp_path,
    )
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (decoded.count, decoded.width, decoded.height) == (6, 96, 64)


def test_vector_record_video_per_env_on_mujoco(tmp_path):
    answer = _run(
        """
        import rlvideo.wrappers.vector
        envs = gym.make_vec("InvertedPendulum-v5", num_envs=2, vectorization_mode="sync",
                            render_mode="rgb_array", width=96, height=64)
        fps = envs.metadata["render_fps"]
        envs = rlvideo.wrappers.vector.RecordVideo(envs, folder, per_env=True, envs_to_record=[1],
                                          episode_trigger=lambda e: e == 0, video_length=7)
        envs.reset(seed=0)
        for _ in range(9):
            envs.step(envs.action_space.sample())
        envs.close()
        print(json.dumps({"fps": fps}))
        """,
        tmp_path,
    )
    assert folder_names(tmp_path) == {"rl-video-env-1-episode-0.mp4"}
    decoded = decode(tmp_path / "rl-video-env-1-episode-0.mp4")
    assert (decoded.count, decoded.width, decoded.height) == (7, 96, 64)
    assert decoded.fps == answer["fps"]


def test_cli_records_mujoco(tmp_path):
    answer = _run(
        """
        from rlvideo.cli import main
        fps = gym.make("InvertedPendulum-v5").metadata["render_fps"]
        try:
            main(["record", "InvertedPendulum-v5", "--episodes", "1", "--video-length", "4",
                  "--env-kwargs", '{"width": 96, "height": 64}', "--out", folder])
        except SystemExit as exit:
            assert not exit.code, exit.code
        print(json.dumps({"fps": fps}))
        """,
        tmp_path,
    )
    decoded = decode(tmp_path / "rl-video-episode-0.mp4")
    assert (decoded.count, decoded.width, decoded.height) == (4, 96, 64)
    assert decoded.fps == answer["fps"]
