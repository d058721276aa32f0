"""The rlvideo command: real runs, decoded outputs, one-line errors with exit status 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from click.testing import CliRunner

from rlvideo import VideoWriter
from rlvideo.cli import cli
from tests.helpers import decode, folder_names, gradient_frames


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_help_and_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "rlvideo", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for command in ("record", "info", "gallery", "recover", "demo"):
        assert command in out.stdout
    assert shutil.which("rlvideo") or (sys.prefix and (sys.prefix + "/bin/rlvideo"))


def test_record_single_env(tmp_path):
    out = tmp_path / "v"
    result = invoke(
        "record", "CartPole-v1", "--episodes", 2, "--every", 1, "--out", out,
        "--policy", "rlvideo.demo:balancing_policy", "--env-kwargs", '{"max_episode_steps": 40}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert folder_names(out) == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.json",
        "rl-video-episode-1.mp4", "rl-video-episode-1.json", "manifest.json",
    }  # fmt: skip
    assert decode(out / "rl-video-episode-1.mp4").count == 41
    lines = [line.split() for line in result.stdout.splitlines()]  # the bar is on stderr
    header = lines.index(["episode", "return", "length", "file"])
    assert lines[header + 1] == ["0", "40", "40", "rl-video-episode-0.mp4"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["episode"] for e in manifest["videos"]] == [0, 1]
    assert manifest["videos"][0]["seed"] == 0


def test_record_default_schedule_and_format(tmp_path):
    result = invoke("record", "CartPole-v1", "--episodes", 3, "--out", tmp_path, "--format", "webm")
    assert result.exit_code == 0, result.output
    assert {p for p in folder_names(tmp_path) if p.endswith(".webm")} == {
        "rl-video-episode-0.webm",
        "rl-video-episode-1.webm",
    }  # fmt: skip (capped cubic: 0 and 1 among 0..2)


@pytest.mark.parametrize("layout", ["--per-env", "--tiled"])
def test_record_vector(tmp_path, layout):
    result = invoke(
        "record", "CartPole-v1", "--episodes", 1, "--every", 1, "--num-envs", 3, layout,
        "--out", tmp_path, "--env-kwargs", '{"max_episode_steps": 15}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    videos = {p for p in folder_names(tmp_path) if p.endswith(".mp4")}
    if layout == "--per-env":
        assert videos == {f"rl-video-env-{k}-episode-0.mp4" for k in range(3)}
        assert decode(tmp_path / "rl-video-env-2-episode-0.mp4").count == 16
    else:
        assert videos == {"rl-video-episode-0.mp4"}
        assert decode(tmp_path / "rl-video-episode-0.mp4").width == 1200  # 2x2 grid of 600


def test_keep_failures_and_best(tmp_path):
    args = [
        "record",
        "CartPole-v1",
        "--episodes",
        3,
        "--every",
        1,
        "--env-kwargs",
        '{"max_episode_steps": 30}',
    ]
    result = invoke(
        *args,
        "--out",
        tmp_path / "f",
        "--keep",
        "failures",
        "--policy",
        "rlvideo.demo:balancing_policy",
    )
    assert result.exit_code == 0, result.output
    assert folder_names(tmp_path / "f") == {"manifest.json"}  # all truncated: no failure kept
    result = invoke(*args, "--out", tmp_path / "b", "--keep", "best", "--seed", 3)
    assert result.exit_code == 0, result.output
    kept = [json.loads(p.read_text()) for p in (tmp_path / "b").glob("rl-video-*.json")]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())["videos"]
    assert len(kept) >= 1
    assert {m["episode_return"] for m in kept} == {max(m["episode_return"] for m in manifest)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "CartPol-v1"], "unknown env id 'CartPol-v1'. Did you mean: CartPole-v1"),
        (["record", "CartPole-v1", "--policy", "nosuch.module:fn"], "cannot import nosuch.module"),
        (["record", "CartPole-v1", "--policy", "json:nope"], "json has no callable 'nope'"),
        (["record", "CartPole-v1", "--policy", "oops"], 'use "random" or MODULE:CALLABLE'),
        (["record", "CartPole-v1", "--env-kwargs", "{bad"], "--env-kwargs is not valid JSON"),
        (["record", "CartPole-v1", "--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
        (["record", "CartPole-v1", "--env-kwargs", '{"nope": 1}'], "rejected --env-kwargs"),
        (["info", "missing.mp4"], "missing.mp4: no such file"),
        (["recover", "nowhere"], "nowhere: no such file or folder"),
    ],
)
def test_user_errors_are_one_line_with_status_2(tmp_path, args, message):
    result = CliRunner().invoke(
        cli, [*args, "--out", str(tmp_path)] if args[0] == "record" else args
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.count("\n") == 1


def test_missing_extra_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)
    result = CliRunner().invoke(cli, ["record", "CartPole-v1", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert 'pip install "rlvideo[gymnasium]"' in result.output


def test_info_text_and_json(tmp_path):
    with VideoWriter(tmp_path / "a.mp4", fps=24) as writer:
        writer.write_batch(gradient_frames(12))
    result = invoke("info", tmp_path / "a.mp4")
    assert result.exit_code == 0
    assert "codec           h264" in result.output
    assert "frames          12" in result.output
    data = json.loads(invoke("info", "--json", tmp_path / "a.mp4").output)
    assert data[0]["frames"] == 12
    assert data[0]["fps"] == 24.0
    assert data[0]["pixel_format"] == "yuv420p"


def test_info_of_a_folder_lists_its_videos(tmp_path):
    for name, count in (("b.mp4", 5), ("a.mp4", 3)):
        with VideoWriter(tmp_path / name, fps=24) as writer:
            writer.write_batch(gradient_frames(count))
    (tmp_path / "notes.txt").write_text("not a video")
    data = json.loads(invoke("info", "--json", tmp_path).output)
    assert [(Path(entry["path"]).name, entry["frames"]) for entry in data] == [
        ("a.mp4", 3),
        ("b.mp4", 5),
    ]


def test_info_says_what_is_wrong_in_one_line(tmp_path):
    (tmp_path / "text.mp4").write_text("hello")
    result = invoke("info", tmp_path / "text.mp4")
    assert result.exit_code == 2
    assert "text.mp4 is not a video file: FFmpeg found no video data in it" in result.output
    assert "Errno" not in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "empty: no videos in this folder" in invoke("info", empty).output
    crashed = tmp_path / "crashed"
    writer = VideoWriter(crashed / "run.mp4", fps=30)
    writer.write_batch(gradient_frames(30, 64, 64))
    partial = writer._out.partial  # what a killed process leaves behind
    shutil.copy(partial, tmp_path / "kept.bin")
    writer.discard()
    shutil.move(tmp_path / "kept.bin", partial)
    result = invoke("info", crashed)
    assert result.exit_code == 2
    assert "1 partial file(s) a crash left: `rlvideo recover" in result.output
    assert "missing: no such file or folder" in invoke("info", tmp_path / "missing").output


def test_recover_partial_files(tmp_path):
    writer = VideoWriter(tmp_path / "run.mp4", fps=30)
    for frame in gradient_frames(90, 64, 64):
        writer.write(frame)
    partial = writer._out.partial  # what a killed process leaves behind
    shutil.copy(partial, tmp_path / "kept.bin")
    writer.discard()
    shutil.move(tmp_path / "kept.bin", partial)
    result = invoke("recover", tmp_path)
    assert result.exit_code == 0, result.output
    assert "recovered" in result.output
    assert folder_names(tmp_path) == {"run.incomplete.mp4"}
    assert 0 < decode(tmp_path / "run.incomplete.mp4").count <= 90
    assert (
        invoke("recover", tmp_path).output.strip() == "no partial files found: nothing to recover"
    )


def test_not_a_partial(tmp_path):
    (tmp_path / "x.mp4").write_bytes(np.zeros(4, np.uint8).tobytes())
    result = CliRunner().invoke(cli, ["recover", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2
    assert "is not a partial file" in result.output


def test_demo_records_and_builds_the_gallery(tmp_path):
    result = invoke("demo", "--out", tmp_path, "--episodes", 1)
    assert result.exit_code == 0, result.output
    names = folder_names(tmp_path)
    assert {"cartpole-balancing-episode-0.mp4", "cartpole-random-episode-0.mp4"} <= names
    assert {"index.html", "manifest.json", "posters"} <= names
    assert f"open file://{tmp_path / 'index.html'}" in result.output
    assert decode(tmp_path / "cartpole-balancing-episode-0.mp4").count == 501
    page = (tmp_path / "index.html").read_text()
    assert 'src="cartpole-random-episode-0.mp4"' in page


def test_gallery_command(tmp_path):
    with VideoWriter(tmp_path / "a.mp4") as writer:
        writer.write_batch(gradient_frames(5))
    result = invoke("gallery", tmp_path, "--title", "Runs")
    assert result.exit_code == 0, result.output
    assert "<title>Runs" in (tmp_path / "index.html").read_text()
    empty = CliRunner().invoke(cli, ["gallery", str(tmp_path / "none")])
    assert empty.exit_code == 2
    assert "rlvideo: error:" in empty.output


# -- issue 9, defect 6: batched observations of any space are split per sub-env -----------------
class _DictObsEnv(gym.Env):
    """A tiny env with a Dict observation space and rgb_array frames."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Dict(
            {"position": gym.spaces.Box(-1, 1, (2,)), "count": gym.spaces.Discrete(100)}
        )
        self.action_space = gym.spaces.Discrete(2)
        self._count = 0

    def _obs(self):
        return {"position": np.zeros(2, np.float32), "count": self._count}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._count = 0
        return self._obs(), {}

    def step(self, action):
        self._count += 1
        return self._obs(), 1.0, self._count >= 4, False, {}

    def render(self):
        return np.full((16, 16, 3), 20 * self._count, np.uint8)


@pytest.fixture
def dict_obs_env():
    gym.register("RLVideoDictObs-v0", entry_point=_DictObsEnv)
    yield "RLVideoDictObs-v0"
    del gym.registry["RLVideoDictObs-v0"]


def test_vector_policy_gets_one_dict_observation_per_sub_env(tmp_path, dict_obs_env):
    policy = tmp_path / "dict_policy.py"
    policy.write_text(
        "def act(observation):\n"
        "    assert isinstance(observation, dict), type(observation)\n"
        "    assert set(observation) == {'position', 'count'}, observation\n"
        "    assert observation['position'].shape == (2,)\n"
        "    return 1\n"
    )
    result = invoke(
        "record", dict_obs_env, "--episodes", 1, "--every", 1, "--num-envs", 2,
        "--policy", f"{policy}:act", "--out", tmp_path / "v",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert decode(tmp_path / "v" / "rl-video-env-1-episode-0.mp4").count == 5  # reset + 4 steps


# -- issue 9, defect 3: Ctrl-C tells the truth ---------------------------------------------------
def test_ctrl_c_keeps_the_cut_episode_as_incomplete_and_says_so(tmp_path):
    import signal
    import time

    out = tmp_path / "v"
    process = subprocess.Popen(
        [sys.executable, "-m", "rlvideo", "record", "CartPole-v1", "--episodes", "20",
         "--every", "1", "--policy", "rlvideo.demo:balancing_policy", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "rl-video-episode-0.json").exists():  # episode 0 is saved: 1 is recording
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "episode 0 was never saved"
        time.sleep(0.05)
    time.sleep(0.1)  # into a later episode (each is 500 steps, ~1 s)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, (stdout, stderr)
    assert "Traceback" not in stderr
    names = folder_names(out)
    cut = [name for name in names if name.endswith(".incomplete.mp4")]
    assert len(cut) == 1, names  # the episode in progress, and only it
    assert cut[0] in stderr  # the message names it
    assert "interrupted:" in stderr
    assert cut[0].replace(".incomplete", "") not in names  # it never gets its final name
    assert cut[0].replace(".incomplete.mp4", ".json") not in names
    assert decode(out / cut[0]).count > 0
    finished = sorted(name for name in names if name.endswith(".mp4") and name not in cut)
    assert "rl-video-episode-0.mp4" in finished
    for name in finished:
        assert decode(out / name).count == 501  # balanced: 500 steps + the reset frame
    manifest = json.loads((out / "manifest.json").read_text())
    listed = sorted(v["path"].rsplit("/", 1)[-1] for v in manifest["videos"])
    assert listed == finished
