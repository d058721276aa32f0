"""A folder of run folders as one gallery, and ``rlvideo info`` of it (issue 20, parts 2 and 5).

TensorBoard's ``--logdir`` reads sub-folders; so do :func:`rlvideo.gallery.build_gallery` and
``rlvideo info``: each folder under the root that holds videos is a run, named by its path
from the root. The page links every video and poster by a relative path, so it works moved,
zipped or served from anywhere. Videos are real (decoded back by PyAV), sidecars and tracks
synthetic (tests/gallery_fixtures.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import av
import pytest
from click.testing import CliRunner

from rlvideo._core.metadata import sidecar_path
from rlvideo._core.track import track_path
from rlvideo.cli import cli
from rlvideo.gallery import RUN_COLORS, build_gallery, find_videos
from tests.gallery_fixtures import page_data, write_clip, write_runs


def _linked_files(page: Path) -> list[Path]:
    """The files the page's data links to (videos and posters), each link checked relative."""
    files = []
    for video in page_data(page)["videos"]:
        for link in (video["href"], video["poster"]):
            if link is None:
                continue
            parts = urlsplit(link)
            assert not parts.scheme, link
            assert not parts.netloc, link
            assert not link.startswith("/"), link
            assert ".." not in Path(unquote(parts.path)).parts, link
            files.append(page.parent / unquote(parts.path))
    return files


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return write_runs(tmp_path / "runs")


def test_a_folder_of_run_folders_is_one_gallery(runs: Path) -> None:
    page = build_gallery(runs)

    videos = {video["file"]: video for video in page_data(page)["videos"]}
    assert sorted(videos) == [
        "hand/rl-video-episode-0.mp4",
        "hand/rl-video-episode-1.mp4",
        "pendulum/sac/rl-video-episode-0.mp4",
        "ppo/rl-video-episode-0.mp4",
        "ppo/rl-video-episode-1.mp4",
    ]
    assert {name: video["run"] for name, video in videos.items()} == {
        "hand/rl-video-episode-0.mp4": "hand",
        "hand/rl-video-episode-1.mp4": "hand",
        "pendulum/sac/rl-video-episode-0.mp4": "pendulum/sac",  # any depth
        "ppo/rl-video-episode-0.mp4": "ppo",
        "ppo/rl-video-episode-1.mp4": "ppo",
    }
    assert videos["ppo/rl-video-episode-1.mp4"]["href"] == "ppo/rl-video-episode-1.mp4"
    assert videos["pendulum/sac/rl-video-episode-0.mp4"]["poster"] == (
        "posters/pendulum/sac/rl-video-episode-0.mp4.png"
    )
    linked = _linked_files(page)
    assert len(linked) == 10
    for video in videos:
        assert runs / video in linked
    for poster in (p for p in linked if p.suffix == ".png"):  # the frame a third of the way in
        with av.open(str(poster)) as container:
            assert next(container.decode(video=0)).width == 48
    assert not (runs / "ppo" / "posters").exists()  # posters live under the root only


def test_the_page_works_when_the_folder_is_moved(runs: Path, tmp_path: Path) -> None:
    build_gallery(runs)
    moved = Path(shutil.move(runs, tmp_path / "elsewhere" / "copy"))

    linked = _linked_files(moved / "index.html")
    assert len(linked) == 10
    assert all(path.is_file() and moved in path.parents for path in linked)


def test_runs_share_seeds_for_the_compare(runs: Path) -> None:
    """The page pairs videos by env and seed across runs: the data must carry both, per run."""
    videos = page_data(build_gallery(runs))["videos"]
    by_seed: dict[tuple[str, int], list[str]] = {}
    for video in videos:
        by_seed.setdefault((video["env"], video["seed"]), []).append(video["run"])
    assert sorted(by_seed[("CartPole-v1", 0)]) == ["hand", "ppo"]
    assert sorted(by_seed[("CartPole-v1", 1)]) == ["hand", "ppo"]


def test_a_folder_of_several_runs_names_each_by_folder_and_prefix(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    write_clip(root / "demo", "cartpole-balancing-episode-0.mp4", seed=0)
    write_clip(root / "demo", "cartpole-random-episode-0.mp4", seed=0)
    write_clip(root / "ppo", "ppo-w1-episode-0.mp4", seed=0)
    write_clip(root / "ppo", "ppo-w2-episode-0.mp4", seed=0)  # workers of one run
    write_clip(root, "top-episode-0.mp4", seed=0)  # the root's own: named as today

    runs = {v["file"]: v["run"] for v in page_data(build_gallery(root))["videos"]}

    assert runs == {
        "demo/cartpole-balancing-episode-0.mp4": "demo/cartpole-balancing",
        "demo/cartpole-random-episode-0.mp4": "demo/cartpole-random",
        "ppo/ppo-w1-episode-0.mp4": "ppo",
        "ppo/ppo-w2-episode-0.mp4": "ppo",
        "top-episode-0.mp4": "top",
    }


def test_a_single_folder_is_named_as_before(tmp_path: Path) -> None:
    write_clip(tmp_path, "ppo-w1-episode-0.mp4")
    write_clip(tmp_path, "sac-episode-0.mp4", extra={"run": "sac-long"})

    videos = {v["file"]: v for v in page_data(build_gallery(tmp_path))["videos"]}

    assert {name: v["run"] for name, v in videos.items()} == {
        "ppo-w1-episode-0.mp4": "ppo",
        "sac-episode-0.mp4": "sac-long",
    }
    assert videos["ppo-w1-episode-0.mp4"]["poster"] == "posters/ppo-w1-episode-0.mp4.png"
    assert sorted(p.name for p in (tmp_path / "posters").iterdir()) == [
        "ppo-w1-episode-0.mp4.png",
        "sac-episode-0.mp4.png",
    ]


def test_hidden_folders_posters_and_folder_links_are_not_walked(runs: Path) -> None:
    write_clip(runs / ".cache", "rl-video-episode-0.mp4")
    write_clip(runs / "posters", "rl-video-episode-0.mp4")  # the gallery's own folder
    os.symlink(runs / "ppo", runs / "latest", target_is_directory=True)  # would show ppo twice
    build_gallery(runs)  # posters/ now holds the posters: a second build must not list them

    found = [p.relative_to(runs).as_posix() for p in find_videos(runs)]
    files = [v["file"] for v in page_data(build_gallery(runs))["videos"]]

    assert found == files
    assert found == [
        "hand/rl-video-episode-0.mp4",
        "hand/rl-video-episode-1.mp4",
        "pendulum/sac/rl-video-episode-0.mp4",
        "ppo/rl-video-episode-0.mp4",
        "ppo/rl-video-episode-1.mp4",
    ]


def test_damaged_files_anywhere_are_skipped_with_a_warning(
    runs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad_sidecar = sidecar_path(runs / "ppo" / "rl-video-episode-1.mp4")
    bad_sidecar.write_bytes(b"\xff\xfe{not json")
    bad_track = track_path(runs / "pendulum" / "sac" / "rl-video-episode-0.mp4")
    bad_track.write_text('{"frame": 0}\n{"frame": 7}\n', encoding="utf-8")
    (runs / "hand" / "broken.mp4").write_bytes(b"not a video")

    with caplog.at_level(logging.WARNING, logger="rlvideo"):
        videos = {v["file"]: v for v in page_data(build_gallery(runs))["videos"]}

    assert len(videos) == 6  # every video is listed
    assert videos["ppo/rl-video-episode-1.mp4"].get("seed") is None  # its sidecar: skipped
    assert videos["ppo/rl-video-episode-1.mp4"]["episode"] == 1  # from its name
    assert "no metadata" in videos["ppo/rl-video-episode-1.mp4"]["badges"]
    assert "track" not in videos["pendulum/sac/rl-video-episode-0.mp4"]
    assert videos["hand/broken.mp4"]["unreadable"] is True
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for damaged in (bad_sidecar, bad_track, runs / "hand" / "broken.mp4"):
        assert len([w for w in warnings if str(damaged) in w]) == 1, (damaged, warnings)
    assert all("\n" not in w for w in warnings)


def test_no_videos_anywhere_says_sub_folders_were_searched(tmp_path: Path) -> None:
    (tmp_path / "ppo").mkdir()
    (tmp_path / "ppo" / "notes.txt").write_text("x")
    from rlvideo.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"no videos in .* or its sub-folders"):
        build_gallery(tmp_path)


# -- run colours (part 5) ----------------------------------------------------------------------
def test_twenty_runs_get_twenty_distinct_colours_by_run_name(tmp_path: Path) -> None:
    names = [f"sweep/lr-{i:02d}" for i in range(20)]
    for name in names:
        write_clip(tmp_path / name, "rl-video-episode-0.mp4", frames=3, track=False)

    data = page_data(build_gallery(tmp_path))

    assert len(set(RUN_COLORS)) == 20
    assert data["colors"] == dict(zip(names, RUN_COLORS, strict=True))  # in natural order
    assert {v["color"] for v in data["videos"]} == set(RUN_COLORS)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert html.count(f"--run: {RUN_COLORS[19]}") >= 2  # the card and the table row


# -- rlvideo info of a folder of runs ---------------------------------------------------------
def _info(*args: Any) -> Any:
    return CliRunner().invoke(cli, ["info", *(str(a) for a in args)], catch_exceptions=False)


def test_info_of_a_folder_of_runs_groups_the_videos_per_run(runs: Path) -> None:
    result = _info("--json", runs)
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [(Path(e["path"]).relative_to(runs).as_posix(), e["run"]) for e in entries] == [
        ("hand/rl-video-episode-0.mp4", "hand"),
        ("hand/rl-video-episode-1.mp4", "hand"),
        ("pendulum/sac/rl-video-episode-0.mp4", "pendulum/sac"),
        ("ppo/rl-video-episode-0.mp4", "ppo"),
        ("ppo/rl-video-episode-1.mp4", "ppo"),
    ]
    assert entries[0]["frames"] == 12
    assert entries[0]["metadata"]["seed"] == 0

    lines = _info(runs).output.splitlines()
    headers = [line for line in lines if line.startswith("run ")]
    assert headers == ["run hand: 2 videos", "run pendulum/sac: 1 video", "run ppo: 2 videos"]
    at = lines.index("run ppo: 2 videos")
    assert lines[at + 1] == str(runs / "ppo" / "rl-video-episode-0.mp4")


def test_info_of_one_folder_prints_no_run_headers(tmp_path: Path) -> None:
    write_clip(tmp_path, "rl-video-episode-0.mp4")
    result = _info(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(tmp_path / "rl-video-episode-0.mp4")
    assert "run" not in json.loads(_info("--json", tmp_path).output)[0]


def test_info_skips_a_damaged_sidecar_in_a_run_folder_with_a_warning(
    runs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sidecar = sidecar_path(runs / "hand" / "rl-video-episode-1.mp4")
    sidecar.write_text("[1, 2", encoding="utf-8")
    track = track_path(runs / "ppo" / "rl-video-episode-0.mp4")
    track.write_bytes(b"\x00\x01binary")

    with caplog.at_level(logging.WARNING, logger="rlvideo"):
        result = _info(runs)

    assert result.exit_code == 0, result.output
    assert "sidecar: skipped (rl-video-episode-1.json is damaged: see the warning)" in result.output
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if str(sidecar) in w]) == 1, warnings
    assert len([w for w in warnings if str(track) in w]) == 1, warnings
    assert result.output.count("file (read by decoding it)") == 5  # the others are all there


def test_info_of_a_folder_with_videos_nowhere_says_so(tmp_path: Path) -> None:
    (tmp_path / "ppo").mkdir()
    result = _info(tmp_path)
    assert result.exit_code == 2
    assert "no videos in this folder or its sub-folders" in result.output
