"""The demo as a new user meets it: ``make demo`` in a subprocess, on a machine with no display.

Checks what it prints (no error line, the closing lines saying what was made and what to do next),
what it makes (videos with the overlay burnt in, a data track each, same-seed pairs of the two
policies), that its "record your own env" line works as printed, and that ``make demo`` installs
only the demo's extras into its own environment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvideo.cli import _headless_sdl
from tests.helpers import decode

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ERROR_LINE = re.compile(r"error|XDG_RUNTIME_DIR|Traceback|ALSA", re.IGNORECASE)
UNSET = ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY")


def _headless_environment() -> dict[str, str]:
    """This process's environment as a headless machine has it: no display, no SDL settings."""
    env = {key: value for key, value in os.environ.items() if key not in UNSET}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=_headless_environment(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    errors = [line for line in done.stderr.splitlines() if ERROR_LINE.search(line)]
    assert errors == [], f"{command} printed error lines:\n{done.stderr}"
    return done


def test_demo_prints_no_error_and_says_what_it_made_and_what_next(tmp_path):
    done = _run([str(BIN / "rlvideo"), "demo", "--out", "videos", "--episodes", "1"], tmp_path)

    videos = tmp_path / "videos"
    names = ["cartpole-balancing-episode-0", "cartpole-random-episode-0"]
    for name in names:
        assert (videos / f"{name}.mp4").stat().st_size > 0
        assert (videos / f"{name}.json").is_file()
        assert (videos / "posters" / f"{name}.mp4.png").is_file()
    assert (videos / "manifest.json").is_file()
    _check_pairs_tracks_and_overlay(videos, episodes=1)
    page = videos / "index.html"
    assert all(f'href="{name}.mp4"' in page.read_text(encoding="utf-8") for name in names)

    last = done.stdout.splitlines()[-5:]
    record_line = last.pop(3)
    assert last == [
        "made 2 videos of CartPole-v1 (a balancing and a random policy) in videos/,",
        "  a JSON sidecar and a data track each, videos/manifest.json and the gallery "
        "videos/index.html",
        f"next: open file://{page} in a browser to watch them",
        '  or in your script: env = rlvideo.RecordVideo(env, "videos")'
        '  (env made with render_mode="rgb_array")',
    ], done.stdout
    assert record_line.startswith("record your own env: "), done.stdout

    # the one-line way to record your own env works as printed
    command = record_line.removeprefix("record your own env: ").split("  (")[0]
    words = shlex.split(command.replace("YOUR_ENV_ID", "CartPole-v1"))
    assert words[1:] == ["record", "CartPole-v1"]
    _run([*words, "--episodes", "1", "--env-kwargs", '{"max_episode_steps": 20}'], tmp_path)
    (run,) = (tmp_path / "runs").iterdir()  # a fresh run folder: runs/CartPole-v1-<date>-<time>
    assert run.name.startswith("CartPole-v1-")
    assert (run / "rl-video-episode-0.mp4").stat().st_size > 0


def _check_pairs_tracks_and_overlay(videos: Path, *, episodes: int) -> None:
    """Same seeds for both policies, a track line per frame, the overlay's band on top."""
    for episode in range(episodes):
        seeds = set()
        for policy in ("balancing", "random"):
            stem = videos / f"cartpole-{policy}-episode-{episode}"
            seeds.add(json.loads(stem.with_suffix(".json").read_text())["seed"])
            decoded = decode(stem.with_suffix(".mp4"))
            lines = [
                json.loads(x) for x in stem.with_suffix(".track.jsonl").read_text().splitlines()
            ]
            assert len(lines) == decoded.count
            assert lines[-1]["return"] == decoded.count - 1  # CartPole: 1 per step
            band = json.loads(stem.with_suffix(".json").read_text())["overlay"]["band_height"]
            assert decoded.height == 400 + band  # the text in a band above CartPole's 600x400
            text = decoded.frames[-1][:band, :300].max(axis=2)
            assert (text < 60).mean() > 0.5, "black"
            assert (text > 180).mean() > 0.03, "white text"
        assert seeds == {episode}


def test_the_two_policies_play_the_same_seeds_with_overlay_and_tracks(tmp_path):
    done = _run(
        [sys.executable, "-m", "rlvideo.cli.demo", "--out", "v", "--episodes", "2"], tmp_path
    )
    assert len(done.stdout.splitlines()) == 4
    _check_pairs_tracks_and_overlay(tmp_path / "v", episodes=2)


def test_without_pillow_the_demo_records_without_overlay_and_says_how_to_get_it(
    tmp_path, monkeypatch, caplog
):
    pytest.importorskip("gymnasium")
    from rlvideo.cli.demo import record_demo

    for name in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with caplog.at_level(logging.WARNING, logger="rlvideo.cli.demo"):
        paths = record_demo(tmp_path, episodes=1)
    assert [p.name for p in paths] == [
        "cartpole-balancing-episode-0.mp4", "cartpole-random-episode-0.mp4",
    ]  # fmt: skip
    assert 'pip install "rlvideo[overlay]"' in caplog.text
    frame = decode(paths[1]).frames[-1]
    assert (frame[8:16, 8:60] > 240).all()  # no box: the white sky
    assert np.asarray(frame).shape == (400, 600, 3)
    assert (tmp_path / "cartpole-random-episode-0.track.jsonl").is_file()


def test_python_module_demo_is_quiet_too(tmp_path):
    done = _run(
        [sys.executable, "-m", "rlvideo.cli.demo", "--out", "v", "--episodes", "1"], tmp_path
    )
    assert [Path(line).name for line in done.stdout.splitlines()] == [
        "cartpole-balancing-episode-0.mp4",
        "cartpole-random-episode-0.mp4",
    ]


def test_the_library_leaves_the_environment_alone(tmp_path):
    code = (
        "import os, gymnasium as gym, rlvideo\n"
        "env = rlvideo.RecordVideo(gym.make('CartPole-v1', render_mode='rgb_array'), 'v')\n"
        "env.close()\n"
        "print(os.environ.get('SDL_VIDEODRIVER'), os.environ.get('SDL_AUDIODRIVER'))\n"
    )
    done = _run([sys.executable, "-c", code], tmp_path)
    assert done.stdout.split() == ["None", "None"]


def test_headless_sdl_keeps_what_the_user_set(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    monkeypatch.delenv("SDL_AUDIODRIVER", raising=False)
    _headless_sdl()
    assert os.environ["SDL_VIDEODRIVER"] == "offscreen"
    assert os.environ["SDL_AUDIODRIVER"] == "dummy"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_installs_only_the_demo_extras_in_its_own_environment(tmp_path):
    demo_venv, test_venv = tmp_path / "demo-venv", tmp_path / "test-venv"
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "demo", f"DEMO_VENV={demo_venv}",
         f"VENV={test_venv}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    installs = [line for line in plan.splitlines() if "pip install" in line]
    assert len(installs) == 1, plan
    assert installs[0].startswith(f"{demo_venv}/bin/python -m pip install ")
    assert installs[0].endswith('-e ".[gymnasium,gallery,progress,overlay]"')
    assert str(test_venv) not in plan  # the test environment (the dev extra) is left alone
    assert plan.splitlines()[-1] == f"{demo_venv}/bin/rlvideo demo --out videos"
