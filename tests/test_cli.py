"""The rlvideo command: real runs, decoded outputs, one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
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
    script = Path(sys.executable).parent / "rlvideo"  # the console script pip installed beside
    assert script.is_file(), f"no {script}: [project.scripts] did not install the command"
    for command in ([sys.executable, "-m", "rlvideo"], [str(script)]):
        out = subprocess.run([*command, "--help"], capture_output=True, text=True)
        assert out.returncode == 0, (command, out.stderr)
        for name in ("record", "info", "gallery", "recover", "demo", "render"):
            assert name in out.stdout, (command, out.stdout)


def test_record_single_env(tmp_path):
    out = tmp_path / "v"
    result = invoke(
        "record", "CartPole-v1", "--episodes", 2, "--every", 1, "--out", out,
        "--policy", "rlvideo.demo:balancing_policy", "--env-kwargs", '{"max_episode_steps": 40}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {name for name in folder_names(out) if not name.endswith(".track.jsonl")} == {
        "rl-video-episode-0.mp4",
        "rl-video-episode-0.json",
        "rl-video-episode-1.mp4",
        "rl-video-episode-1.json",
        "manifest.json",
    }  # fmt: skip (the per-frame .track.jsonl files are tested with the track)
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
        "rl-video-episode-2.webm",
    }  # fmt: skip (--episodes 3 records 3: the capped cubic schedule recorded 0 and 1)


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
    assert result.stdout.splitlines()[-1] == (
        "0 videos kept: --keep-if failures keeps episodes that terminated, and none of the 3 "
        "recorded did (they were truncated, e.g. by the time limit)"
    )
    result = invoke(*args, "--out", tmp_path / "b", "--keep", "best", "--seed", 3)
    assert result.exit_code == 0, result.output
    kept = [json.loads(p.read_text()) for p in (tmp_path / "b").glob("rl-video-*.json")]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())["videos"]
    assert len(kept) >= 1
    assert {m["episode_return"] for m in kept} == {max(m["episode_return"] for m in manifest)}
    names = folder_names(tmp_path / "b")
    for name in names:  # a deleted video's sidecar and per-frame track went with it
        assert name in ("manifest.json", "index.html") or (name.split(".")[0] + ".mp4" in names), (
            names
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "CartPol-v1"], "unknown env id 'CartPol-v1'. Did you mean: CartPole-v1"),
        (["record", "CartPole-v1", "--policy", "nosuch.module:fn"], "cannot import nosuch.module"),
        (["record", "CartPole-v1", "--policy", "json:nope"], "json has no callable 'nope'"),
        (["record", "CartPole-v1", "--policy", "oops"], 'use "random", path/to/model.zip'),
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
    assert 'href="cartpole-random-episode-0.mp4"' in page  # a relative link to the video


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

    out, waiting = tmp_path / "v", tmp_path / "waiting"
    policy = tmp_path / "stops_in_episode_1.py"  # the policy says where the Ctrl-C lands
    policy.write_text(
        "import pathlib, time\n"
        "from rlvideo.cli.demo import balancing_policy\n"
        "calls = 0\n"
        "def act(observation):\n"
        "    global calls\n"
        "    calls += 1\n"
        "    if calls == 500 + 11:  # episode 0 is 500 steps (balanced); 10 steps into episode 1\n"
        f"        pathlib.Path({str(waiting)!r}).touch()\n"
        "        while True:  # until the test's SIGINT\n"
        "            time.sleep(0.01)\n"
        "    return balancing_policy(observation)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "rlvideo", "record", "CartPole-v1", "--episodes", "20",
         "--every", "1", "--policy", f"{policy}:act", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not waiting.exists():  # a wait for the child's signal, not a guess at its speed
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the policy never reached episode 1, step 10"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, (stdout, stderr)
    assert "Traceback" not in stderr
    names = folder_names(out)
    cut = [name for name in names if name.endswith(".incomplete.mp4")]
    assert cut == ["rl-video-episode-1.incomplete.mp4"], names  # the episode in progress, only it
    assert cut[0] in stderr  # the message names it
    assert "interrupted:" in stderr
    assert cut[0].replace(".incomplete", "") not in names  # it never gets its final name
    assert cut[0].replace(".incomplete.mp4", ".json") not in names
    assert decode(out / cut[0]).count == 11  # the reset frame and the 10 steps taken
    finished = sorted(name for name in names if name.endswith(".mp4") and name not in cut)
    assert "rl-video-episode-0.mp4" in finished
    for name in finished:
        assert decode(out / name).count == 501  # balanced: 500 steps + the reset frame
    manifest = json.loads((out / "manifest.json").read_text())
    listed = sorted(v["path"].rsplit("/", 1)[-1] for v in manifest["videos"])
    assert listed == finished


# -- issue 14: the summary covers every episode run; clips say so -------------------------------
def _summary_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("all "))


def test_the_summary_covers_every_episode_not_only_the_recorded_ones(tmp_path):
    policy = tmp_path / "lengths.py"  # episode i falls at a step that depends on its seed
    policy.write_text("def act(observation):\n    return 1\n")
    result = invoke(
        "record", "CartPole-v1", "--episodes", 4, "--every", 3, "--policy", f"{policy}:act",
        "--out", tmp_path / "v",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    env = gym.make("CartPole-v1")
    lengths = []
    for seed in range(4):  # pushing right always: the pole falls in a few steps
        env.reset(seed=seed)
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(1)
            steps, done = steps + 1, terminated or truncated
        lengths.append(steps)
    mean = f"{np.mean(lengths):.2f}".rstrip("0").rstrip(".")
    std = f"{np.std(lengths):.2f}".rstrip("0").rstrip(".")
    assert _summary_line(result.output) == (
        f"all 4 episodes: return {mean} ± {std} (min {min(lengths)}, max {max(lengths)}), "
        f"length {mean} ± {std}"
    )
    assert "2 video(s) in" in result.output  # episodes 0 and 3 recorded, all 4 summarised


def test_clip_returns_are_labelled_as_clip_returns(tmp_path):
    result = invoke(
        "record", "CartPole-v1", "--episodes", 1, "--video-length", 10, "--out", tmp_path,
        "--policy", "rlvideo.demo:balancing_policy", "--env-kwargs", '{"max_episode_steps": 50}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert ["0", "9", "(clip)", "9", "rl-video-episode-0.mp4"] in lines  # 10 frames: reset + 9
    assert "(clip): the return and length of the video's own steps (--video-length 10)" in (
        result.output
    )
    assert _summary_line(result.output).startswith("all 1 episode: return 50 ± 0")


def test_the_vector_summary_covers_every_sub_env(tmp_path):
    result = invoke(
        "record", "CartPole-v1", "--episodes", 2, "--every", 1, "--num-envs", 3, "--seed", 4,
        "--out", tmp_path, "--env-kwargs", '{"max_episode_steps": 15}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())["videos"]
    assert len(manifest) == 6
    returns = [m["episode_return"] for m in manifest]  # whole episodes: every one is recorded
    mean = f"{np.mean(returns):.2f}".rstrip("0").rstrip(".")
    assert _summary_line(result.output).startswith(
        f"all 6 episodes (2 on each of 3 sub-envs): return {mean} ± "
    )
    for k in range(3):
        mine = [m["episode_return"] for m in manifest if m["env_index"] == k]
        assert f"  sub-env {k}: return {np.mean(mine):g} ± " in result.output
    header = next(line.split() for line in result.stdout.splitlines() if "file" in line)
    assert header == ["env", "episode", "return", "length", "file"]


# -- issue 14: progress by steps; -v logs above the bar ------------------------------------------
def test_progress_counts_steps_and_logs_print_above_the_bar(tmp_path):
    pytest.importorskip("tqdm")
    done = subprocess.run(
        [sys.executable, "-m", "rlvideo", "-v", "record", "CartPole-v1", "--episodes", "2",
         "--every", "1", "--policy", "rlvideo.demo:balancing_policy", "--out", str(tmp_path),
         "--env-kwargs", '{"max_episode_steps": 200}'],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    segments = re.split(r"[\r\n]", done.stderr)
    logs = [s for s in segments if "rlvideo.recorder: saved" in s]
    assert len(logs) == 2
    assert all(s.startswith("INFO rlvideo.recorder: saved") for s in logs), logs  # own lines
    bars = [s for s in segments if re.match(r"episode \d/2: \d+ steps", s)]
    assert bars[-1].startswith("episode 2/2: 400 steps")  # steps, not episodes, are counted


# -- issue 14: mistakes in the command's terms, before the bar ------------------------------------
def test_a_taken_name_with_no_overwrite_is_refused_before_the_run_starts(tmp_path):
    args = ["record", "CartPole-v1", "--episodes", 2, "--out", tmp_path,
            "--env-kwargs", '{"max_episode_steps": 10}']  # fmt: skip
    assert invoke(*args).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    result = CliRunner().invoke(cli, [str(a) for a in [*args, "--no-overwrite"]])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"rlvideo: error: {tmp_path} already holds rl-video-episode-0.mp4, rl-video-episode-1.mp4,"
        " which this run would write, and --no-overwrite keeps them: drop --no-overwrite to "
        "replace them, or choose another --out\n"
    )  # one line: no bar was drawn, no env stepped
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert invoke(*args, "--overwrite").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message", "library_term"),
    [
        (["--fps", "0"], "--fps must be a finite number above 0", "fps must"),
        (["--fps", "5000"], "--fps must be a finite number above 0", "fps must"),
        (["--out", "/proc/rlvideo-nowhere"], "cannot create --out /proc/rlvideo-nowhere",
         "video_folder"),
    ],
)  # fmt: skip
def test_library_messages_use_the_options_names(args, message, library_term):
    result = CliRunner().invoke(cli, ["record", "CartPole-v1", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.count("\n") == 1, result.output  # raised before the bar appeared
    if library_term != "fps must":
        assert library_term not in result.output
    assert "rlvideo: error: fps" not in result.output


# -- issue 14: info keeps the file's facts apart from the sidecar's --------------------------------
def test_info_separates_the_file_from_its_sidecar_and_prints_sizes_for_people(tmp_path):
    result = invoke(
        "record", "CartPole-v1", "--episodes", 1, "--out", tmp_path,
        "--env-kwargs", '{"max_episode_steps": 20}', "--policy", "rlvideo.demo:balancing_policy",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    video = tmp_path / "rl-video-episode-0.mp4"
    lines = invoke("info", video).output.splitlines()
    assert lines[0] == str(video)
    file_at, sidecar_at = (
        lines.index("  file (read by decoding it)"),
        lines.index("  sidecar (rl-video-episode-0.json)"),
    )
    file_facts = dict(line.split(None, 1) for line in lines[file_at + 1 : sidecar_at]
                      if not line.strip().startswith(("file size", "pixel format")))  # fmt: skip
    assert file_facts["codec"] == "h264"
    assert file_facts["frames"] == "21"
    assert file_facts["size"] == "600 x 400 pixels"
    size = next(line for line in lines[file_at:sidecar_at] if "file size" in line).split()[-2:]
    assert size[1] == "kB"
    assert float(size[0]) == pytest.approx(video.stat().st_size / 1000, 0.05)
    sidecar_facts = [line.split() for line in lines[sidecar_at + 1 :]]
    assert ["return", "20"] in sidecar_facts
    assert ["steps", "20"] in sidecar_facts
    assert ["encoder", "libx264"] in sidecar_facts
    assert not any(line.strip().startswith("path") for line in lines)
    (tmp_path / "rl-video-episode-0.json").unlink()
    assert "  sidecar: none (rl-video-episode-0.json not found)" in invoke("info", video).output


# -- issue 13: info summarises the data track beside the video -----------------------------------
def test_info_summarises_the_data_track(tmp_path):
    result = invoke(
        "record", "MountainCar-v0", "--episodes", 1, "--out", tmp_path,
        "--env-kwargs", '{"max_episode_steps": 12}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    video = tmp_path / "rl-video-episode-0.mp4"
    lines = invoke("info", video).output.splitlines()
    at = lines.index("  data track (rl-video-episode-0.track.jsonl)")
    facts = dict(line.split(None, 1) for line in lines[at + 1 :])
    assert facts["frames"] == "13 (one per decoded frame)"  # the reset frame and 12 steps
    assert facts["reward"] == "min -1, max -1, mean -1 over 12 steps"  # MountainCar: -1 a step
    assert facts["return"] == "-12 at the end"
    assert facts["last"].split() == ["frame", "truncated"]  # by max_episode_steps
    entry = json.loads(invoke("info", video, "--json").output)[0]
    assert entry["track"]["frames"] == entry["frames"] == 13
    assert entry["track"]["final_return"] == [-12.0]

    track = tmp_path / "rl-video-episode-0.track.jsonl"
    track.write_text(track.read_text().replace('"frame":5,', '"frame":7,'))
    output = invoke("info", video).output
    assert "    unreadable      line 6 has frame 7; expected 5 (one line per frame, in order)" in (
        output
    )


# -- issue 14: sidecars and the manifest hold paths relative to their folder ----------------------
def test_sidecars_hold_relative_paths_so_a_moved_folder_stays_valid(tmp_path):
    out = tmp_path / "run"
    result = invoke("record", "CartPole-v1", "--episodes", 1, "--out", out,
                    "--env-kwargs", '{"max_episode_steps": 10}')  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((out / "rl-video-episode-0.json").read_text())["path"] == (
        "rl-video-episode-0.mp4"
    )
    manifest = json.loads((out / "manifest.json").read_text())["videos"]
    assert [entry["path"] for entry in manifest] == ["rl-video-episode-0.mp4"]
    moved = tmp_path / "elsewhere"
    shutil.move(out, moved)
    (info_json,) = json.loads(invoke("info", "--json", moved / "rl-video-episode-0.mp4").output)
    assert info_json["metadata"]["path"] == str(moved / "rl-video-episode-0.mp4")
    assert decode(info_json["metadata"]["path"]).count == 11


def test_old_sidecars_with_absolute_paths_still_read(tmp_path):
    from rlvideo.io.manifest import merge_manifest

    with VideoWriter(tmp_path / "old.mp4") as writer:
        writer.write_batch(gradient_frames(3))
    absolute = {"path": str(tmp_path / "old.mp4"), "kind": "episode", "episode_return": 7.0}
    (tmp_path / "old.json").write_text(json.dumps(absolute))
    (entry,) = json.loads(invoke("info", "--json", tmp_path / "old.mp4").output)
    assert entry["metadata"]["path"] == str(tmp_path / "old.mp4")
    assert entry["metadata"]["episode_return"] == 7.0
    manifest = json.loads(Path(merge_manifest(tmp_path)).read_text())["videos"]
    assert [e["path"] for e in manifest] == ["old.mp4"]  # rewritten relative


# -- issue 19, item 11: info lists the videos recover kept as .incomplete --------------------------
def test_info_of_a_folder_shows_the_incomplete_videos_recover_made(tmp_path):
    with VideoWriter(tmp_path / "run-episode-0.mp4", fps=30) as writer:
        writer.write_batch(gradient_frames(5, 64, 64))
    writer = VideoWriter(tmp_path / "run-episode-1.mp4", fps=30)
    writer.write_batch(gradient_frames(60, 64, 64))
    partial = writer._out.partial  # what a killed process leaves behind
    shutil.copy(partial, tmp_path / "kept.bin")
    writer.discard()
    shutil.move(tmp_path / "kept.bin", partial)
    assert "run-episode-1.incomplete.mp4" in invoke("recover", tmp_path).output
    kept = decode(tmp_path / "run-episode-1.incomplete.mp4").count
    assert kept > 0

    entries = json.loads(invoke("info", "--json", tmp_path).output)
    assert [(Path(e["path"]).name, e["frames"]) for e in entries] == [
        ("run-episode-0.mp4", 5),
        ("run-episode-1.incomplete.mp4", kept),
    ]
    assert [entry.get("incomplete") for entry in entries] == [False, True]
    lines = invoke("info", tmp_path).output.splitlines()
    at = lines.index(str(tmp_path / "run-episode-1.incomplete.mp4"))
    assert lines[at + 1].startswith("  incomplete: kept after an error or a crash")
    assert not any(line.startswith("  incomplete") for line in lines[:at])
    only_incomplete = tmp_path / "only"
    only_incomplete.mkdir()
    shutil.move(tmp_path / "run-episode-1.incomplete.mp4", only_incomplete)
    result = invoke("info", "--json", only_incomplete)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["incomplete"] is True


# -- issue 19, item 16: an env that cannot render images is refused before anything starts ---------
class _AnsiOnlyEnv(gym.Env):
    """A toy env whose only render mode is text."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Discrete(2)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, True, False, {}

    def render(self):
        return "x\n"


@pytest.fixture
def ansi_only_env():
    gym.register("RLVideoAnsiOnly-v0", entry_point=_AnsiOnlyEnv)
    yield "RLVideoAnsiOnly-v0"
    del gym.registry["RLVideoAnsiOnly-v0"]


@pytest.mark.parametrize("num_envs", [1, 2])
def test_an_env_without_rgb_array_is_one_line_and_creates_nothing(
    tmp_path, ansi_only_env, num_envs
):
    out = tmp_path / "v"
    result = CliRunner().invoke(
        cli, ["record", ansi_only_env, "--out", str(out), "--num-envs", str(num_envs)]
    )
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        "rlvideo: error: RLVideoAnsiOnly-v0 cannot render images: its render_modes are "
        "['ansi'], and rlvideo records render_mode=\"rgb_array\". Record an env that lists "
        '"rgb_array" in metadata["render_modes"], or add that mode to this one (render() '
        "returning an (H, W, 3) uint8 array)"
    ]
    assert not out.exists()
