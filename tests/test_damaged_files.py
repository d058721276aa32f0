"""Damaged sidecars and data tracks: skipped with one warning naming the file, never a traceback.

Every reader of sidecars (:func:`rlvideo._core.metadata.parse_sidecar`, through
:func:`rlvideo.io.manifest.read_sidecar`) and of tracks (:func:`rlvideo._core.track.read_track`) is
the same for ``rlvideo gallery`` and ``rlvideo info``: each damaged file below, beside a good
video, must leave the page (or the listing) built from the rest, the damaged video still shown
(without what its damaged file would have said), and one warning line naming the file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlvideo._core.metadata import sidecar_path
from rlvideo._core.track import track_path
from rlvideo.cli import cli
from rlvideo.gallery import build_gallery
from tests.gallery_fixtures import write_clip

GOOD, BAD = "good-episode-0.mp4", "bad-episode-1.mp4"


def _set_fields(**fields: object) -> Callable[[Path], Path]:
    """Damage: the bad video's sidecar with ``fields`` replaced (wrong kinds of value)."""

    def damage(video: Path) -> Path:
        sidecar = sidecar_path(video)
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        sidecar.write_text(json.dumps({**data, **fields}), encoding="utf-8")
        return sidecar

    return damage


def _write_sidecar(data: bytes) -> Callable[[Path], Path]:
    def damage(video: Path) -> Path:
        sidecar_path(video).write_bytes(data)
        return sidecar_path(video)

    return damage


def _write_track(data: bytes) -> Callable[[Path], Path]:
    def damage(video: Path) -> Path:
        track_path(video).write_bytes(data)
        return track_path(video)

    return damage


def _linked_to(target: str, beside: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """Damage: the file ``beside(video)`` replaced by a symbolic link to ``target``."""

    def damage(video: Path) -> Path:
        beside(video).unlink()
        beside(video).symlink_to(target)
        return beside(video)

    return damage


_FIRST = b'{"frame": 0, "episode": 1, "step": 0, "reward": null, "return": 0.0}\n'
_DEEP = b'{"path": "bad-episode-1.mp4", "kind": "episode", "x": ' + b"[" * 100_000
_HUGE_INT = b'{"path": "bad-episode-1.mp4", "kind": "episode", "seed": ' + b"9" * 5000 + b"}"

DAMAGES: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    # id: (damage, which file it leaves damaged, what the warning says about it)
    "return-list": (_set_fields(episode_return=[1.0, 2.0]), "sidecar", "episode_return is a list"),
    "return-string": (_set_fields(episode_return="12.5"), "sidecar", "episode_return is a str"),
    "env-id-int": (_set_fields(env_id=7), "sidecar", "env_id is an int"),
    "episode-bool": (_set_fields(episode=True), "sidecar", "episode is a bool"),
    "path-list": (_set_fields(path=["a"]), "sidecar", "path is a list"),
    "sidecar-nested-100k": (_write_sidecar(_DEEP + b"]" * 100_000 + b"}"), "sidecar", "nested"),
    "sidecar-5000-digits": (_write_sidecar(_HUGE_INT), "sidecar", "more than 4300 digits"),
    "sidecar-not-utf8": (_write_sidecar(b'{"path": "\xff"}'), "sidecar", "not UTF-8"),
    "sidecar-a-list": (_write_sidecar(b"[1, 2]"), "sidecar", "not an rlvideo sidecar"),
    "sidecar-dev-zero": (_linked_to("/dev/zero", sidecar_path), "sidecar", "not a regular file"),
    "track-not-utf8": (_write_track(_FIRST + b'{"frame": 1, "x": "\xff\xfe"}\n'), "track",
                       "line 2 is not UTF-8"),
    "track-dev-zero": (_linked_to("/dev/zero", track_path), "track", "not a regular file"),
    "track-endless-line": (_write_track(_FIRST + b" " * (2 << 20)), "track",
                           "line 2 is longer than"),
    "track-5000-digits": (_write_track(_FIRST + b'{"frame": 1, "step": ' + b"9" * 5000 + b"}\n"),
                          "track", "line 2 is not JSON"),
    "track-nested-100k": (_write_track(b'{"frame": 0, "x": ' + b"[" * 100_000 + b"\n"),
                          "track", "line 1 is not JSON"),
}  # fmt: skip


@pytest.fixture(params=list(DAMAGES), ids=list(DAMAGES))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A folder with a good video and a bad one whose sidecar or track is damaged.

    Returns the folder, the damaged file, which kind of file it is, and the warning's words.
    """
    damage, kind, words = DAMAGES[request.param]
    write_clip(tmp_path, GOOD, frames=6, episode=0)
    damaged_file = damage(write_clip(tmp_path, BAD, frames=6, episode=1))
    return tmp_path, damaged_file, kind, words


def _warnings_naming(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    return [message for message in messages if str(path) in message]


def _page_data(page: Path) -> dict[str, dict[str, object]]:
    html = page.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="gallery-data">(.*?)</script>', html)
    assert match, "no embedded data"
    return {video["file"]: video for video in json.loads(match.group(1))["videos"]}


def test_gallery_skips_the_damaged_file_and_builds_the_rest(
    damaged: tuple[Path, Path, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    folder, damaged_file, kind, words = damaged
    with caplog.at_level(logging.WARNING, logger="rlvideo"):
        data = _page_data(build_gallery(folder))

    assert set(data) == {GOOD, BAD}
    assert data[GOOD]["return"] == 5.0
    assert isinstance(data[GOOD]["track"], dict)
    assert data[GOOD]["track"]["frames"] == 6
    assert data[BAD]["frames"] == 6  # the video itself is shown, decoded
    if kind == "sidecar":
        assert "no metadata" in data[BAD]["badges"]
        assert data[BAD].get("return") is None
    else:
        assert data[BAD]["return"] == 5.0
        assert "track" not in data[BAD]
    (warning,) = _warnings_naming(caplog, damaged_file)
    assert words in warning
    assert "\n" not in warning


def test_info_skips_the_damaged_file_and_describes_the_rest(
    damaged: tuple[Path, Path, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    folder, damaged_file, kind, words = damaged
    with caplog.at_level(logging.WARNING, logger="rlvideo"):
        result = CliRunner().invoke(cli, ["info", "--json", str(folder)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    entries = {Path(entry["path"]).name: entry for entry in json.loads(result.stdout)}
    assert set(entries) == {GOOD, BAD}
    assert entries[GOOD]["metadata"]["episode_return"] == 5.0
    assert entries[GOOD]["track"]["frames"] == 6
    assert entries[BAD]["frames"] == 6
    if kind == "sidecar":
        assert "metadata" not in entries[BAD]
    else:
        assert entries[BAD]["metadata"]["episode"] == 1
        assert words in entries[BAD]["track"]["problem"]
    (warning,) = _warnings_naming(caplog, damaged_file)
    assert words in warning
    assert "\n" not in warning


def test_info_text_says_the_damaged_sidecar_was_skipped(tmp_path: Path) -> None:
    video = write_clip(tmp_path, BAD, frames=6)
    _set_fields(episode_return="12.5")(video)
    result = CliRunner().invoke(cli, ["info", str(video)], catch_exceptions=False)
    assert result.exit_code == 0
    assert f"  sidecar: skipped ({sidecar_path(video).name} is damaged: see the warning)" in (
        result.stdout
    )


def test_the_command_prints_one_line_per_damaged_file(tmp_path: Path) -> None:
    """Every damage at once, through the real command: one warning line each, no traceback."""
    damaged_files = []
    for number, (damage, _, _) in enumerate(DAMAGES.values()):
        damaged_files.append(damage(write_clip(tmp_path, f"bad-episode-{number}.mp4", frames=3)))
    write_clip(tmp_path, GOOD, frames=3)
    environment = {**os.environ, "COLUMNS": "80"}
    for command in ("gallery", "info"):
        run = subprocess.run(
            [sys.executable, "-m", "rlvideo", command, str(tmp_path)],
            capture_output=True, text=True, env=environment, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        lines = run.stderr.splitlines()
        assert "Traceback" not in run.stderr
        assert len(lines) == len(damaged_files), run.stderr
        for damaged_file in damaged_files:
            (line,) = [line for line in lines if f"{damaged_file}:" in line]
            assert line.startswith("WARNING rlvideo.")
