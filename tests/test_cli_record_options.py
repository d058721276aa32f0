"""``rlvideo record`` speaks the library: each recording option, end to end.

Every test runs the real command (click's runner, or the console script where an env's
package must be imported) and reads back what it wrote: the videos decoded with PyAV, their
sidecars and data tracks.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlvideo.cli import cli
from tests.helpers import decode, folder_names, rms

gym = pytest.importorskip("gymnasium")

SHORT = ("--env-kwargs", '{"max_episode_steps": 12}')


def invoke(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _videos(folder: Path) -> set[str]:
    return {name for name in folder_names(folder) if name.endswith((".mp4", ".webm", ".gif"))}


def _sidecars(folder: Path) -> dict[int, dict]:
    metas = (json.loads(p.read_text()) for p in folder.glob("*.json") if p.name != "manifest.json")
    return {meta["episode"]: meta for meta in metas}


def _one_line_error(*args: object) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert "Usage:" not in result.output, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("rlvideo: error: "), result.output
    return lines[0]


# -- --episodes N records N -----------------------------------------------------------------------
def test_episodes_n_records_n_videos_unless_every_is_given(tmp_path):
    result = invoke("record", "CartPole-v1", "--episodes", 3, *SHORT, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert _videos(tmp_path / "a") == {f"rl-video-episode-{i}.mp4" for i in range(3)}
    assert "3 video(s)" in result.output
    result = invoke(
        "record", "CartPole-v1", "--episodes", 5, "--every", 2, *SHORT, "--out", tmp_path / "b"
    )
    assert result.exit_code == 0, result.output
    assert _videos(tmp_path / "b") == {f"rl-video-episode-{i}.mp4" for i in (0, 2, 4)}


def test_help_says_which_episodes_are_recorded():
    result = invoke("record", "--help")
    text = " ".join(result.output.split())
    assert "every episode is recorded unless --every N" in text, text
    for option in ("--name-prefix", "--overlay [FIELDS]", "--track [KEYS]", "--keep-if", "--fps"):
        assert option in text, option


# -- --name-prefix --------------------------------------------------------------------------------
def test_name_prefix_names_every_file(tmp_path):
    out = tmp_path / "v"
    result = invoke("record", "CartPole-v1", "--episodes", 2, "--name-prefix", "run", *SHORT,
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _videos(out) == {"run-episode-0.mp4", "run-episode-1.mp4"}
    assert {"run-episode-0.json", "run-episode-0.track.jsonl"} <= folder_names(out)
    assert decode(out / "run-episode-1.mp4").count > 1
    again = _one_line_error("record", "CartPole-v1", "--episodes", 1, "--name-prefix", "run",
                            "--out", out, "--no-overwrite")  # fmt: skip
    assert "already holds run-episode-0.mp4" in again  # checked before the env runs
    per_env = tmp_path / "e"
    result = invoke("record", "CartPole-v1", "--episodes", 1, "--num-envs", 2, "--name-prefix",
                    "ppo", *SHORT, "--out", per_env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _videos(per_env) == {"ppo-env-0-episode-0.mp4", "ppo-env-1-episode-0.mp4"}


def test_a_name_prefix_with_a_folder_is_refused_in_the_commands_words(tmp_path):
    line = _one_line_error("record", "CartPole-v1", "--name-prefix", "a/b", "--out", tmp_path)
    assert "--name-prefix 'a/b' holds a path separator" in line, line
    assert "put folders in --out" in line, line
    assert folder_names(tmp_path) == set()


# -- --fps ----------------------------------------------------------------------------------------
def test_fps_sets_the_streams_rate(tmp_path):
    result = invoke("record", "CartPole-v1", "--episodes", 1, "--fps", 15, *SHORT,
                    "--out", tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert decode(tmp_path / "rl-video-episode-0.mp4").fps == 15
    assert _sidecars(tmp_path)[0]["fps"] == 15


# -- --overlay [FIELDS] ---------------------------------------------------------------------------
def _first_frame(tmp_path: Path, name: str, *options: object):
    out = tmp_path / name
    result = invoke("record", "CartPole-v1", "--episodes", 1, "--seed", 4, *SHORT, *options,
                    "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    return decode(out / "rl-video-episode-0.mp4").frames[3]


def _differ(a, b) -> bool:
    return a.shape != b.shape or rms(a, b) > 1.0


def test_overlay_draws_the_fields_named_or_the_default(tmp_path):
    pytest.importorskip("PIL")
    plain = _first_frame(tmp_path, "plain")
    assert not _differ(plain, _first_frame(tmp_path, "plain-again"))  # the runs are repeatable
    fields = _first_frame(tmp_path, "fields", "--overlay", "step,return")
    default = _first_frame(tmp_path, "default", "--overlay")  # no value: overlay=True
    assert _differ(plain, fields)
    assert _differ(plain, default)
    assert _differ(fields, default)  # 2 fields, not the default 4
    assert not _differ(fields, _first_frame(tmp_path, "spaced", "--overlay", " step, return"))


# -- --track [KEYS] -------------------------------------------------------------------------------
@pytest.fixture
def info_env(tmp_path, monkeypatch) -> str:
    """``infocart:InfoCart-v0``: CartPole whose step info holds ``x_position`` (the cart's x)."""
    (tmp_path / "infocart.py").write_text(
        textwrap.dedent("""
            import gymnasium as gym
            from gymnasium.envs.classic_control.cartpole import CartPoleEnv

            class InfoCart(CartPoleEnv):
                def step(self, action):
                    obs, reward, terminated, truncated, info = super().step(action)
                    return obs, reward, terminated, truncated, {"x_position": float(obs[0])}

            if "InfoCart-v0" not in gym.registry:  # imported again by the next test
                gym.register("InfoCart-v0", entry_point=InfoCart, max_episode_steps=12)
        """)
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(__import__("sys").modules, "infocart", raising=False)
    return "infocart:InfoCart-v0"


def _track(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_track_keys_add_the_info_keys_to_every_line(tmp_path, info_env):
    result = invoke("record", info_env, "--episodes", 1, "--track", "x_position", "--out", "k")
    assert result.exit_code == 0, result.output
    lines = _track(tmp_path / "k" / "rl-video-episode-0.track.jsonl")
    stepped = [line for line in lines if line["step"] > 0]
    assert stepped
    assert all(isinstance(line["info"]["x_position"], float) for line in stepped)
    result = invoke("record", info_env, "--episodes", 1, "--track", "--out", "t")  # track=True
    assert result.exit_code == 0, result.output
    lines = _track(tmp_path / "t" / "rl-video-episode-0.track.jsonl")
    assert len(lines) == decode(tmp_path / "t" / "rl-video-episode-0.mp4").count
    assert all("info" not in line for line in lines)


def test_a_misspelt_track_key_is_named_with_a_did_you_mean(tmp_path, info_env, caplog):
    result = invoke("record", info_env, "--episodes", 1, "--track", "x_positon", "--out", "m")
    assert result.exit_code == 0, result.output
    said = caplog.text + result.output
    assert "'x_positon' (did you mean 'x_position'?) never in any step's info" in said, said


def test_a_misspelt_overlay_field_is_named_with_a_did_you_mean(tmp_path, info_env, caplog):
    pytest.importorskip("PIL")
    result = invoke(
        "record", info_env, "--episodes", 1, "--overlay", "step,x_positon", "--out", "o"
    )
    assert result.exit_code == 0, result.output
    said = caplog.text + result.output
    assert "'x_positon' (did you mean 'x_position'?) never in any step's info" in said, said


# -- --keep-if ------------------------------------------------------------------------------------
KEEP_RUN = ("--episodes", 6, "--seed", 1, "--env-kwargs", '{"max_episode_steps": 14}')


def _kept(tmp_path: Path, name: str, *options: object) -> dict[int, dict]:
    result = invoke("record", "CartPole-v1", *KEEP_RUN, *options, "--out", tmp_path / name)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / name / "manifest.json").read_text())["videos"]
    kept = _sidecars(tmp_path / name)
    assert sorted(m["episode"] for m in manifest) == sorted(kept)
    assert _videos(tmp_path / name) == {f"rl-video-episode-{e}.mp4" for e in kept}
    return kept


def test_keep_if_failures_keeps_only_the_episodes_that_terminated(tmp_path):
    every = _kept(tmp_path, "all")
    failed = {e for e, m in every.items() if m["terminated"]}
    assert len(every) == 6
    assert 0 < len(failed) < 6
    assert set(_kept(tmp_path, "failures", "--keep-if", "failures")) == failed
    assert set(_kept(tmp_path, "alias", "--keep", "failures")) == failed  # the old name


def test_keep_if_best_n_keeps_the_n_highest_returns(tmp_path):
    every = _kept(tmp_path, "all")
    ranked = sorted(every, key=lambda e: (-every[e]["episode_return"], e))
    assert set(_kept(tmp_path, "best2", "--keep-if", "best:2")) == set(ranked[:2])
    assert set(_kept(tmp_path, "best", "--keep-if", "best")) == set(ranked[:1])
    names = folder_names(tmp_path / "best2")
    assert not any(name.startswith(f"rl-video-episode-{ranked[-1]}.") for name in names)


@pytest.mark.parametrize("value", ["bestest", "best:0", "best:x", "failure"])
def test_a_bad_keep_if_is_one_line(tmp_path, value):
    line = _one_line_error("record", "CartPole-v1", "--keep-if", value, "--out", tmp_path)
    assert f"invalid value for '--keep-if' / '--keep': {value!r}" in line, line
    assert "all, failures, best:N" in line, line


# -- click's own errors read like the rest --------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "CartPole-v1", "--episodes", "0"], "invalid value for '--episodes': 0 is not"),
        (["record", "CartPole-v1", "--format", "avi"], "invalid value for '--format': 'avi' is"),
        (["record"], "missing argument 'ENV_ID'"),
        (
            ["record", "CartPole-v1", "--episode", "3"],
            "no such option '--episode'. Did you mean '--episodes'?",
        ),
        (["recrod", "CartPole-v1"], "no such command 'recrod'"),
        (["info"], "missing argument 'PATHS...'"),
    ],
)
def test_clicks_usage_errors_are_one_rlvideo_line_with_status_2(args, message):
    line = _one_line_error(*args)
    assert line.startswith(f"rlvideo: error: {message}"), line
    assert line.endswith("--help)"), line  # the hint: where the options are listed


# -- --replay: record now, render later -----------------------------------------------------------
def test_replay_renders_the_videos_live_recording_makes(tmp_path):
    """``--replay``: the loop never renders; the renderer replays each video from its replay
    file, and the files are the live run's, pixel for pixel."""
    for how in ("live", "replay"):
        result = invoke(
            "record", "CartPole-v1", "--episodes", 2, *SHORT, f"--{how}", "--out", tmp_path / how
        )
        assert result.exit_code == 0, result.output
        assert "2 video(s)" in result.output
    names = {f"rl-video-episode-{i}.mp4" for i in range(2)}
    assert _videos(tmp_path / "live") == _videos(tmp_path / "replay") == names
    replays = {n for n in folder_names(tmp_path / "replay") if n.endswith(".replay.npz")}
    assert replays == {f"rl-video-episode-{i}.replay.npz" for i in range(2)}
    assert not any(n.endswith(".replay.npz") for n in folder_names(tmp_path / "live"))
    for name in names:
        live, replayed = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert replayed.count == live.count > 1
        assert all((a == b).all() for a, b in zip(live.frames, replayed.frames, strict=True))
    sidecars = _sidecars(tmp_path / "replay")
    assert {e: m["replay"]["verified"] for e, m in sidecars.items()} == {0: True, 1: True}


def test_replay_of_a_tiled_vector_env_makes_the_live_videos(tmp_path):
    """``--num-envs 2 --tiled --replay``: both sub-envs replayed side by side, tiled as live."""
    for how in ("live", "replay"):
        result = invoke(
            "record", "CartPole-v1", "--episodes", 2, "--num-envs", 2, "--tiled", *SHORT,
            f"--{how}", "--out", tmp_path / how,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    names = _videos(tmp_path / "live")
    assert names == _videos(tmp_path / "replay")
    assert len(names) >= 2
    for name in names:
        live, replayed = decode(tmp_path / "live" / name), decode(tmp_path / "replay" / name)
        assert (replayed.width, replayed.count) == (live.width, live.count) == (1200, live.count)
        assert all((a == b).all() for a, b in zip(live.frames, replayed.frames, strict=True))
    assert all(m["replay"]["verified"] for m in _sidecars(tmp_path / "replay").values())


def test_replay_with_keep_best_drops_the_replay_files_of_the_videos_it_drops(tmp_path):
    """``--keep-if best:1 --replay``: the dropped videos' replay files go too, so a later
    ``rlvideo render`` of the folder does not bring them back."""
    result = invoke(
        "record", "CartPole-v1", "--episodes", 3, *SHORT, "--replay", "--keep-if", "best:1",
        "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (video,) = _videos(tmp_path)
    replays = {n for n in folder_names(tmp_path) if n.endswith(".replay.npz")}
    assert replays == {video.removesuffix(".mp4") + ".replay.npz"}
