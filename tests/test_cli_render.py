"""``rlvideo render``: replay files rendered into videos, decoded with PyAV; one-line errors.

CartPole runs in this process (through click's runner); MuJoCo only in a fresh interpreter
(Mesa's EGL is never loaded into the test process, as in ``tests/test_mujoco.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

import rlvideo
from rlvideo.cli import cli
from rlvideo.io.replayfile import read_replay, write_replay
from tests.helpers import decode, folder_names, rms

STEPS = 30  # CartPole episodes are cut at this many steps (these seeds end sooner: 16, 24)


def invoke(*args: object) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def record(folder: Path, *, replay: bool, episodes: int = 3) -> list[int]:
    """Record CartPole episodes 0 and 1 of ``episodes`` (same seeds each call); their lengths.

    With ``replay`` only the replay files are written (``render="none"``).
    """
    options = {"replay": True, "replay_options": {"render": "none"}} if replay else {}
    env = rlvideo.RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=STEPS), str(folder),
        episode_trigger=lambda e: e < 2, **options,
    )  # fmt: skip
    env.action_space.seed(3)
    lengths = []
    env.reset(seed=7)
    for _ in range(episodes):
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            steps, done = steps + 1, terminated or truncated
        lengths.append(steps)
        env.reset()
    env.close()
    return lengths[:2]


def videos(folder: Path, suffix: str = ".mp4") -> set[str]:
    return {name for name in folder_names(folder) if name.endswith(suffix)}


def test_render_folder_renders_the_replay_files_without_videos(tmp_path):
    lengths = record(tmp_path / "r", replay=True)
    record(tmp_path / "live", replay=False)  # the same episodes, rendered live
    assert videos(tmp_path / "r") == set()
    assert videos(tmp_path / "r", ".replay.npz") == {
        "rl-video-episode-0.replay.npz", "rl-video-episode-1.replay.npz"
    }  # fmt: skip

    result = invoke("render", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert videos(tmp_path / "r") == {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    for episode, length in enumerate(lengths):
        name = f"rl-video-episode-{episode}.mp4"
        replayed, live = decode(tmp_path / "r" / name), decode(tmp_path / "live" / name)
        assert replayed.count == length + 1  # the reset's frame, then one per step
        assert (replayed.width, replayed.height) == (live.width, live.height) == (600, 400)
        for a, b in zip(replayed.frames, live.frames, strict=True):
            assert rms(a, b) < 1.0
        assert f"rendered {tmp_path / 'r' / name} ({length + 1} frames), verified" in (
            result.output
        )
    assert result.output.splitlines()[-1] == "2 videos rendered (2 verified)"

    again = invoke("render", tmp_path / "r")  # every replay file has its video now
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-1] == (
        "nothing to render: the 2 replay files found have their videos (--all renders them again)"
    )


def test_render_again_as_gif_and_into_another_folder(tmp_path):
    lengths = record(tmp_path, replay=True)
    assert invoke("render", tmp_path).exit_code == 0
    mp4 = hashlib.sha256((tmp_path / "rl-video-episode-0.mp4").read_bytes()).digest()

    gif = invoke("render", tmp_path, "--format", "gif", "--all")
    assert gif.exit_code == 0, gif.output
    assert videos(tmp_path, ".gif") == {"rl-video-episode-0.gif", "rl-video-episode-1.gif"}
    for episode, length in enumerate(lengths):
        assert decode(tmp_path / f"rl-video-episode-{episode}.gif").count == length + 1
    assert hashlib.sha256((tmp_path / "rl-video-episode-0.mp4").read_bytes()).digest() == mp4

    # a file named renders though its video exists, once though its folder is named too
    named = invoke(
        "render", tmp_path / "rl-video-episode-1.replay.npz", tmp_path, "--format", "webm"
    )
    assert named.exit_code == 0, named.output
    assert videos(tmp_path, ".webm") == {"rl-video-episode-1.webm"}
    assert decode(tmp_path / "rl-video-episode-1.webm").count == lengths[1] + 1
    assert named.stdout.splitlines() == [
        f"rendered {tmp_path / 'rl-video-episode-1.webm'} ({lengths[1] + 1} frames), verified",
        "1 video rendered (1 verified), 1 skipped (their videos exist: --all renders them again)",
    ]

    out = tmp_path / "elsewhere"  # their videos are not in --out: all render there
    elsewhere = invoke("render", tmp_path, "--out", out)
    assert elsewhere.exit_code == 0, elsewhere.output
    assert videos(out) == {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    assert decode(out / "rl-video-episode-0.mp4").count == lengths[0] + 1


def test_overlay(tmp_path):
    pytest.importorskip("PIL", reason="the overlay needs rlvideo[overlay]")
    lengths = record(tmp_path, replay=True)
    plain = invoke("render", tmp_path / "rl-video-episode-0.replay.npz", "--out", tmp_path / "a")
    assert plain.exit_code == 0, plain.output
    burnt = invoke("render", tmp_path / "rl-video-episode-0.replay.npz", "--out", tmp_path / "b",
                   "--overlay", "step,return")  # fmt: skip
    assert burnt.exit_code == 0, burnt.output
    a, b = (
        decode(tmp_path / "a/rl-video-episode-0.mp4"),
        decode(tmp_path / "b/rl-video-episode-0.mp4"),
    )
    assert a.count == b.count == lengths[0] + 1
    assert (a.width, a.height) == (b.width, b.height - 24) == (600, 400)  # a band on top
    band, scene = b.frames[-1][:24], b.frames[-1][24:]
    assert rms(scene, a.frames[-1]) < 3  # the same frame under the band (the codec blurs its edge)
    assert rms(scene, a.frames[-1]) < rms(scene, a.frames[0])
    assert 20 < int((band.max(axis=2) > 128).sum()) < band.size // 6  # white text on black


def test_best_and_worst_by_recorded_return(tmp_path):
    lengths = record(tmp_path, replay=True)
    assert lengths[0] != lengths[1]  # CartPole's return is its length: one is best
    best = int(np.argmax(lengths))

    result = invoke("render", tmp_path, "--best", 1)
    assert result.exit_code == 0, result.output
    assert videos(tmp_path) == {f"rl-video-episode-{best}.mp4"}
    assert decode(tmp_path / f"rl-video-episode-{best}.mp4").count == lengths[best] + 1

    worst = invoke("render", tmp_path, "--worst", 1)
    assert worst.exit_code == 0, worst.output
    assert videos(tmp_path) == {"rl-video-episode-0.mp4", "rl-video-episode-1.mp4"}
    assert invoke("render", tmp_path, "--best", 1).output.startswith("nothing to render")


def test_a_diverged_replay_keeps_its_frames_and_says_where(tmp_path):
    lengths = record(tmp_path, replay=True)
    replay = tmp_path / "rl-video-episode-0.replay.npz"
    header, arrays = read_replay(replay)
    arrays["digests_0"][5] ^= 1  # step 5's outcome no longer matches what replays
    write_replay(replay, header, arrays)

    result = invoke("render", tmp_path, "--workers", 2)
    assert result.exit_code == 1, result.output
    assert decode(tmp_path / "rl-video-episode-0.mp4").count == 5  # the reset and steps 1-4
    assert decode(tmp_path / "rl-video-episode-1.mp4").count == lengths[1] + 1
    assert (
        f"rendered {tmp_path / 'rl-video-episode-0.mp4'} (5 frames), diverged at step 5 "
        "(kept 5 frames)"
    ) in result.output
    assert result.output.splitlines()[-1] == "2 videos rendered (1 verified, 1 diverged)"


def test_camera_on_an_env_without_cameras(tmp_path):
    record(tmp_path, replay=True)
    result = invoke("render", tmp_path, "--camera", "track")
    assert result.exit_code == 2
    assert result.output.startswith(
        "rlvideo: error: CartPole-v1 takes no such argument as --camera (camera_name)"
    )
    assert "Leave --camera out" in result.output
    assert videos(tmp_path) == set()
    sized = invoke("render", tmp_path, "--width", 100, "--height", 50)
    assert sized.exit_code == 2
    assert "takes no such argument as --width, --height" in sized.output


def test_bad_paths_and_files(tmp_path):
    missing = invoke("render", tmp_path / "nope")
    assert missing.exit_code == 2
    assert missing.output.strip() == f"rlvideo: error: {tmp_path / 'nope'}: no such file or folder"

    (tmp_path / "x.mp4").write_bytes(b"\0" * 16)
    video = invoke("render", tmp_path / "x.mp4")
    assert video.exit_code == 2
    assert "x.mp4 is not a replay file: rlvideo render reads <stem>.replay.npz" in video.output

    empty = invoke("render", tmp_path)
    assert empty.exit_code == 2
    assert "holds no replay file (*.replay.npz): record with RecordVideo(" in empty.output

    (tmp_path / "bad.replay.npz").write_bytes(b"not a zip")
    damaged = invoke("render", tmp_path)
    assert damaged.exit_code == 1
    assert damaged.output.startswith(f"failed {tmp_path / 'bad.replay.npz'}: ")
    assert "is no rlvideo replay file" in damaged.output
    assert damaged.output.splitlines()[-1] == "0 videos rendered (0 verified), 1 failed"

    size = invoke("render", tmp_path, "--width", 0)
    assert size.exit_code == 2
    assert "--width" in size.output


# -- MuJoCo: another camera and size, in a fresh interpreter ----------------------------------
_MUJOCO = """
import json, sys
import gymnasium as gym
import rlvideo
env = gym.make("HalfCheetah-v5", render_mode="rgb_array", width=96, height=64,
               max_episode_steps=8)
env = rlvideo.RecordVideo(env, sys.argv[1], episode_trigger=lambda e: e < 1, replay=True)
env.reset(seed=0)
done = False
while not done:
    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    done = terminated or truncated
env.close()
print(json.dumps([str(p) for p in env.saved_videos]))
"""


def _mujoco_environment() -> dict[str, str]:
    return {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}


def test_mujoco_another_camera_and_size(tmp_path):
    pytest.importorskip("mujoco", reason='MuJoCo comes with the dev extra: pip install -e ".[dev]"')
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MUJOCO), str(tmp_path)],
        capture_output=True,
        text=True,
        env=_mujoco_environment(),
        timeout=300,
        cwd=tmp_path,
    )  # fmt: skip (cwd: MuJoCo writes MUJOCO_LOG.TXT where it runs)
    if done.returncode != 0 and ("EGL" in done.stderr or "mujoco" in done.stderr.lower()):
        pytest.skip(f"MuJoCo cannot render here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    original = tmp_path / "rl-video-episode-0.mp4"
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [str(original)]
    recorded = decode(original)
    assert (recorded.count, recorded.width, recorded.height) == (9, 96, 64)
    before = hashlib.sha256(original.read_bytes()).digest()

    rendered = subprocess.run(
        [sys.executable, "-m", "rlvideo", "render", str(tmp_path), "--camera", "track",
         "--width", "240", "--height", "160"],
        capture_output=True, text=True, env=_mujoco_environment(), timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    view = tmp_path / "rl-video-episode-0.cam-track.240x160.mp4"
    assert f"rendered {view} (9 frames), verified" in rendered.stdout
    decoded = decode(view)
    assert (decoded.count, decoded.width, decoded.height) == (9, 240, 160)
    assert float(np.std(decoded.frames[0])) > 5  # a scene, not a blank frame
    assert hashlib.sha256(original.read_bytes()).digest() == before  # the original untouched
    assert videos(tmp_path) == {original.name, view.name}
