"""The per-frame data track ``<stem>.track.jsonl``: its format, its count, its lifecycle.

Every test decodes the video and checks the track has exactly one line per decoded frame, the
contract in rlvideo._core.track's docstring (shared with the gallery and ``rlvideo info``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import rlvideo  # noqa: E402
import rlvideo.wrappers.vector  # noqa: E402
from rlvideo._core.track import FrameLog, check_track, small_action, track_line  # noqa: E402
from rlvideo.errors import InvalidArgumentError  # noqa: E402
from rlvideo.io.recovery import recover_tracks  # noqa: E402
from rlvideo.recording._recorder import Recorder  # noqa: E402
from tests.helpers import decode, folder_names, solid  # noqa: E402

FIELDS = {"frame", "episode", "step", "reward", "return", "terminated", "truncated"}


def _lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert "\r" not in text
    return [json.loads(line) for line in text.splitlines()]


def _play(env, episodes: int, *, seed: int = 0) -> list[list[tuple]]:
    """Random episodes; each step's (reward, terminated, truncated, action, info)."""
    env.action_space.seed(seed)
    played = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        steps, done = [], False
        while not done:
            action = env.action_space.sample()
            _, reward, terminated, truncated, info = env.step(action)
            steps.append((float(reward), terminated, truncated, action, info))
            done = terminated or truncated
        played.append(steps)
    return played


def _cartpole(folder: Path, **options) -> rlvideo.RecordVideo:
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    return rlvideo.RecordVideo(env, str(folder), episode_trigger=lambda e: True, **options)


# -- the format -------------------------------------------------------------------------------
def test_each_episode_video_has_a_track_line_per_decoded_frame_with_its_values(tmp_path):
    env = _cartpole(tmp_path, metadata=True)
    played = _play(env, 2)
    env.close()
    for episode, steps in enumerate(played):
        stem = tmp_path / f"rl-video-episode-{episode}"
        lines = _lines(stem.with_suffix(".track.jsonl"))
        assert len(lines) == decode(stem.with_suffix(".mp4")).count == len(steps) + 1
        assert lines[0] == {
            "frame": 0, "episode": episode, "step": 0, "reward": None, "return": 0.0,
            "terminated": False, "truncated": False,
        }  # fmt: skip
        total = 0.0
        for k, (line, (reward, terminated, truncated, action, _)) in enumerate(
            zip(lines[1:], steps, strict=True), start=1
        ):
            total += reward
            assert set(line) == FIELDS | {"action"}
            assert (line["frame"], line["episode"], line["step"]) == (k, episode, k)
            assert (line["reward"], line["return"]) == (reward, total)
            assert (line["terminated"], line["truncated"]) == (terminated, truncated)
            assert line["action"] == int(action)
        assert lines[-1]["terminated"] or lines[-1]["truncated"]
    assert json.loads((tmp_path / "rl-video-episode-1.json").read_text())["frames"] == len(lines)


def test_the_track_is_on_where_sidecars_are_and_can_be_turned_on_or_off(tmp_path):
    for name, options in {
        "default": {}, "sidecars": {"metadata": True}, "off": {"metadata": True, "track": False},
        "only": {"track": True}, "keys": {"track": ["x"]},
    }.items():  # fmt: skip
        env = _cartpole(tmp_path / name, **options)
        _play(env, 1)
        env.close()
    has_track = {
        name: (tmp_path / name / "rl-video-episode-0.track.jsonl").is_file()
        for name in ("default", "sidecars", "off", "only", "keys")
    }
    assert has_track == {
        "default": False, "sidecars": True, "off": False, "only": True, "keys": True,
    }  # fmt: skip
    assert folder_names(tmp_path / "only") == {
        "rl-video-episode-0.mp4", "rl-video-episode-0.track.jsonl",
    }  # fmt: skip


@pytest.mark.parametrize(
    "bad", ["x_position", 1, [""], [3], {"x": 1}], ids=["str", "int", "empty", "number", "dict"]
)
def test_a_bad_track_option_says_what_it_takes(tmp_path, bad):
    with pytest.raises(InvalidArgumentError, match=r"track must be None .* list of info keys"):
        _cartpole(tmp_path, track=bad)


def test_values_are_written_as_json_can_hold_them():
    log = FrameLog(episode=0)
    log.step(np.float32(0.5), np.bool_(True), False, action=np.array([0.25, -1.0]), info={
        "x": np.float64(2.0), "vec": np.arange(3), "inf": float("inf"), "big": np.zeros(99),
        "name": "left",
    })  # fmt: skip
    line = json.loads(track_line(log.values(), ["x", "vec", "inf", "big", "name", "absent"]))
    assert (line["action"], line["reward"], line["terminated"]) == ([0.25, -1.0], 0.5, True)
    assert line["info"] == {"x": 2.0, "vec": [0, 1, 2], "inf": None, "big": None, "name": "left"}
    assert small_action(np.zeros(17)) is None
    assert small_action({"a": 1}) is None
    assert check_track(None, metadata=False) == (False, ())


# -- clips that span episodes, vector envs ------------------------------------------------------
def test_a_step_clip_spanning_episodes_restarts_step_and_return_at_each_reset(tmp_path):
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env = rlvideo.RecordVideo(
        env, str(tmp_path), step_trigger=lambda s: s == 5, video_length=60, track=True
    )
    played = _play(env, 6)
    env.close()
    lines = _lines(tmp_path / "rl-video-step-5.track.jsonl")
    assert len(lines) == decode(tmp_path / "rl-video-step-5.mp4").count == 60
    assert [line["frame"] for line in lines] == list(range(60))
    # the first frame is step 5's: the 6th step of episode 0
    assert (lines[0]["episode"], lines[0]["step"], lines[0]["return"]) == (0, 6, 6.0)
    resets = [i for i, line in enumerate(lines) if line["reward"] is None]
    assert len(resets) >= 2  # CartPole's random episodes are ~20 steps
    expected_episode = 0
    for i, line in enumerate(lines):
        if i in resets:
            expected_episode += 1
            assert (line["step"], line["return"], line["terminated"]) == (0, 0.0, False)
            assert "action" not in line
            assert lines[i - 1]["terminated"] or lines[i - 1]["truncated"]
        elif i:
            assert line["step"] == lines[i - 1]["step"] + 1
            assert line["return"] == lines[i - 1]["return"] + line["reward"]
        assert line["episode"] == expected_episode
    first = resets[0]
    assert first == len(played[0]) - 5  # episode 0's steps 6..end, then the reset frame


@pytest.mark.parametrize("autoreset", ["NextStep", "SameStep"])
def test_vector_per_env_videos_each_have_their_own_track(tmp_path, autoreset):
    mode = gym.vector.AutoresetMode.NEXT_STEP if autoreset == "NextStep" else (
        gym.vector.AutoresetMode.SAME_STEP
    )  # fmt: skip
    envs = gym.make_vec(
        "CartPole-v1", num_envs=3, vectorization_mode="sync", render_mode="rgb_array",
        vector_kwargs={"autoreset_mode": mode},
    )  # fmt: skip
    envs = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), per_env=True, episode_trigger=lambda e: e < 2, metadata=True
    )
    envs.reset(seed=3)
    envs.action_space.seed(3)
    for _ in range(90):
        envs.step(envs.action_space.sample())
    envs.close()
    videos = sorted(p for p in tmp_path.iterdir() if p.suffix == ".mp4")
    assert len(videos) == 6
    for video in videos:
        lines = _lines(video.with_suffix(".track.jsonl"))
        assert len(lines) == decode(video).count
        episode = int(video.stem.rsplit("-", 1)[1])
        assert {line["episode"] for line in lines} == {episode}
        assert [line["step"] for line in lines] == list(range(len(lines)))
        assert lines[0]["reward"] is None
        if autoreset == "NextStep":
            assert lines[-1]["terminated"] or lines[-1]["truncated"]


def test_tiled_vector_videos_track_the_first_recorded_env(tmp_path):
    envs = gym.make_vec("CartPole-v1", num_envs=2, render_mode="rgb_array")
    envs = rlvideo.wrappers.vector.RecordVideo(
        envs, str(tmp_path), episode_trigger=lambda e: e == 0, track=True
    )
    envs.reset(seed=1)
    rewards = []
    for _ in range(200):
        _, reward, terminated, truncated, _ = envs.step(envs.action_space.sample())
        rewards.append(float(reward[0]))
        if terminated[0] or truncated[0]:
            break
    envs.close()
    lines = _lines(tmp_path / "rl-video-episode-0.track.jsonl")
    assert len(lines) == decode(tmp_path / "rl-video-episode-0.mp4").count == len(rewards) + 1
    assert lines[-1]["return"] == sum(rewards)


# -- the lifecycle: never a half file, nothing left behind --------------------------------------
def test_while_recording_the_track_is_hidden_and_nothing_has_its_final_name(tmp_path):
    env = _cartpole(tmp_path, track=True)
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    names = folder_names(tmp_path)
    assert "rl-video-episode-0.track.jsonl" not in names
    assert [n for n in names if "track.jsonl" in n and n.startswith(".")] != []
    (tmp_path / "rl-video-episode-0.incomplete.mp4").write_bytes(b"")  # bait for recover
    assert recover_tracks(tmp_path) == []  # its writer holds the lock: left alone
    (tmp_path / "rl-video-episode-0.incomplete.mp4").unlink()
    env.close()
    assert folder_names(tmp_path) == {"rl-video-episode-0.mp4", "rl-video-episode-0.track.jsonl"}


@pytest.mark.parametrize("why", ["keep_if", "zero frames", "discard"])
def test_a_rejected_or_discarded_video_leaves_no_track(tmp_path, why):
    recorder = Recorder(
        tmp_path, name_prefix="rl-video", fps=30, format="mp4", codec=None, crf=None,
        overwrite=False, metadata=True, on_video_saved=None, encoder="thread", env_id=None,
        keep_if=(lambda meta: "rejected" not in meta.path) if why == "keep_if" else None,
    )  # fmt: skip
    video_id = recorder.start("rejected", kind="episode", episode=0, first_step=0)
    if why != "zero frames":
        for i in range(3):
            recorder.frame(video_id, solid(20 * i))
            recorder.step(video_id, 1.0, False, False)
    if why == "discard":
        recorder.discard(video_id)
    else:
        recorder.stop(video_id)
    recorder.close()
    assert folder_names(tmp_path) == set()


def test_keep_if_rejecting_every_video_of_a_wrapper_leaves_an_empty_folder(tmp_path):
    env = _cartpole(tmp_path, metadata=True, keep_if=lambda meta: False)
    _play(env, 2)
    env.close()
    assert folder_names(tmp_path) == set()


def _steps_then_interrupt(env, steps: int) -> None:
    with env:  # Ctrl-C leaves the block: the recording was cut off (issue 19, item 9)
        for _ in range(steps):
            env.step(0)
        raise KeyboardInterrupt


def test_a_video_kept_as_incomplete_keeps_its_track_beside_it(tmp_path):
    env = _cartpole(tmp_path, track=True)
    env.reset(seed=0)
    with pytest.raises(KeyboardInterrupt):
        _steps_then_interrupt(env, 7)
    assert folder_names(tmp_path) == {
        "rl-video-episode-0.incomplete.mp4", "rl-video-episode-0.incomplete.track.jsonl",
    }  # fmt: skip
    lines = _lines(tmp_path / "rl-video-episode-0.incomplete.track.jsonl")
    assert len(lines) == decode(tmp_path / "rl-video-episode-0.incomplete.mp4").count == 8


@pytest.mark.parametrize("video_format", ["webm", "gif"])
@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_line_count_matches_decoded_frames_for_every_format_and_encoder(
    tmp_path, video_format, encoder
):
    env = _cartpole(tmp_path, track=True, format=video_format, encoder=encoder)
    _play(env, 1)
    env.close()
    video = tmp_path / f"rl-video-episode-0.{video_format}"
    assert len(_lines(video.with_suffix(".track.jsonl"))) == decode(video).count


def test_a_remote_folder_gets_the_track_uploaded_after_its_video(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    url = f"memory://rlvideo-test-{uuid.uuid4().hex[:8]}/videos"
    fs = fsspec.filesystem("memory")
    try:
        env = rlvideo.RecordVideo(
            gym.make("CartPole-v1", render_mode="rgb_array"), url,
            episode_trigger=lambda e: True, metadata=True,
        )  # fmt: skip
        played = _play(env, 2)
        env.close()
        root = url[len("memory://") :]
        names = sorted(Path(p).name for p in fs.ls(root, detail=False))
        assert names == [
            f"rl-video-episode-{e}{ext}"
            for e in (0, 1)
            for ext in (".json", ".mp4", ".track.jsonl")
        ]
        for episode, steps in enumerate(played):
            text = fs.cat(f"{root}/rl-video-episode-{episode}.track.jsonl").decode()
            local = tmp_path / f"{episode}.mp4"
            local.write_bytes(fs.cat(f"{root}/rl-video-episode-{episode}.mp4"))
            assert len(text.splitlines()) == decode(local).count == len(steps) + 1
    finally:
        fs.rm(f"/{url[len('memory://') :].split('/')[0]}", recursive=True)


# -- a real env with info: MuJoCo's HalfCheetah and its x_position ---------------------------------
def test_info_keys_of_a_mujoco_env_go_into_the_track(tmp_path):
    pytest.importorskip("mujoco", reason='MuJoCo comes with the dev extra: pip install -e ".[dev]"')
    code = textwrap.dedent(
        """
        import json, sys
        import gymnasium as gym, rlvideo
        folder = sys.argv[1]
        env = gym.make("HalfCheetah-v5", render_mode="rgb_array", width=96, height=64,
                       max_episode_steps=12)
        env = rlvideo.RecordVideo(env, folder, track=["x_position", "reward_ctrl"],
                                  overlay=["step", "x_position"])
        env.reset(seed=0)
        env.action_space.seed(0)
        xs, done = [], False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            xs.append(float(info["x_position"]))
            done = terminated or truncated
        env.close()
        print(json.dumps(xs))
        """
    )
    environment = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
        env=environment, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    xs = json.loads(done.stdout.strip().splitlines()[-1])
    lines = _lines(tmp_path / "rl-video-episode-0.track.jsonl")
    assert len(lines) == decode(tmp_path / "rl-video-episode-0.mp4").count == len(xs) + 1 == 13
    assert "info" not in lines[0] or "reward_ctrl" not in lines[0]["info"]
    assert [line["info"]["x_position"] for line in lines[1:]] == pytest.approx(xs)
    assert all(isinstance(line["info"]["reward_ctrl"], float) for line in lines[1:])
    assert all(len(line["action"]) == 6 for line in lines[1:])  # HalfCheetah's 6 joints


# -- issue 19, item 10: the one track reader is bounded and never blocks --------------------------
def test_read_track_reads_back_what_the_recorder_wrote(tmp_path):
    from rlvideo._core.track import read_track, summarize_track

    env = _cartpole(tmp_path, track=True)
    _play(env, 1)
    env.close()
    video = tmp_path / "rl-video-episode-0.mp4"
    records = list(read_track(video.with_suffix(".track.jsonl")))
    assert records == _lines(video.with_suffix(".track.jsonl"))
    assert len(records) == decode(video).count
    summary = summarize_track(read_track(video.with_suffix(".track.jsonl")))
    assert summary["frames"] == len(records)
    assert summary["final_return"] == [records[-1]["return"]]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"frame": 0}\n{"frame": true}\n', "line 2 has frame True; expected 1"),
        (b'{"frame": 0}\n{"frame": 1.0}\n', "line 2 has frame 1.0; expected 1"),
        (b'{"frame": 0}\n' + b"7" * ((1 << 20) + 1), "line 2 is longer than 1048576 bytes"),
        (b'{"frame": 0, "x": "\xc3"}\n', "line 1 is not UTF-8 (byte 19)"),
        (b'{"frame": 0, "x": ' + b"[" * 5000 + b"\n", "line 1 is not JSON (nested too deeply)"),
    ],
)
def test_read_track_says_what_is_wrong_in_one_line(tmp_path, data, problem):
    from rlvideo._core.track import read_track

    path = tmp_path / "a.track.jsonl"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}"):
        list(read_track(path))


def test_read_track_refuses_a_fifo_without_waiting_for_a_writer(tmp_path):
    """A FIFO with no writer blocks a plain open() for ever: read_track must not open it so."""
    fifo = tmp_path / "a.track.jsonl"
    os.mkfifo(fifo)
    code = (
        "import sys\nfrom rlvideo._core.track import read_track\n"
        "try:\n    list(read_track(sys.argv[1]))\nexcept ValueError as exc:\n    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=120
    )  # the timeout only stops a hang from hanging the suite; nothing is timed
    assert run.stdout.strip() == "is not a regular file", run.stderr


def test_lines_recover_marked_missing_count_in_no_episode_nor_return() -> None:
    from rlvideo._core.track import summarize_track, track_records

    lines = [
        '{"frame": 0, "episode": 3, "step": 0, "reward": null, "return": 0.0}',
        '{"frame": 1, "episode": 3, "step": 1, "reward": 1.0, "return": 1.0}',
        '{"frame": 2, "missing": true}',
        '{"frame": 3, "missing": true}',
    ]
    summary = summarize_track(track_records(lines))
    assert summary["frames"] == 4
    assert summary["missing"] == 2
    assert summary["episodes"] == 1
    assert summary["final_return"] == [1.0]
    assert summary["steps"] == 1
