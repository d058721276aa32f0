"""build_gallery(): the page, its posters and links, on real videos decoded back with PyAV."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import av
import numpy as np
import pytest

from rlvideo import (
    InvalidArgumentError,
    MissingDependencyError,
    StorageError,
    VideoMetadata,
    VideoWriter,
    probe,
)
from rlvideo._core.metadata import sidecar_path
from rlvideo._core.track import track_path
from rlvideo.cli.demo import record_demo
from rlvideo.gallery import build_gallery
from tests.gallery_fixtures import track_lines, write_clip
from tests.helpers import decode, gradient_frames, rms

LINK_ATTRIBUTES = {"src", "href", "poster", "data-gif", "data-poster"}


class _Page(HTMLParser):
    """The links of a page and the cells of its table rows, by file name and column key."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.rows: dict[str, dict[str, str]] = {}
        self._row: dict[str, str] | None = None
        self._key: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.links += [v for k, v in attrs if k in LINK_ATTRIBUTES and v is not None]
        if tag == "tr" and values.get("data-file"):
            self._row = self.rows.setdefault(values["data-file"] or "", {})
        elif tag == "td" and self._row is not None:
            self._key = values.get("data-key") or values.get("class") or ""
            self._row[self._key] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._key = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._key is not None:
            self._row[self._key] += data


def _parse(page: Path) -> _Page:
    return _Page(page.read_text(encoding="utf-8"))


def _local_files(page: Path) -> list[Path]:
    """Every file the page links to, after checking each link is relative and stays inside."""
    files = []
    for link in _parse(page).links:
        if link.startswith("data:"):
            continue  # the empty favicon, which stops browsers asking for /favicon.ico
        assert not link.startswith("#"), link  # in-page links are made by the script
        parts = urlsplit(link)
        assert not parts.scheme, link
        assert not parts.netloc, link
        assert not link.startswith("/"), link
        assert ".." not in Path(unquote(parts.path)).parts, link
        files.append(page.parent / unquote(parts.path))
    return files


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    record_demo(folder, episodes=1)
    return folder


@pytest.fixture
def demo(demo_run: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo run (2 videos and their sidecars) for each test."""
    return Path(shutil.copytree(demo_run, tmp_path / "videos"))


def _video(path: Path, frames: int = 6, *, fps: int = 10) -> Path:
    with VideoWriter(path, fps=fps) as writer:
        writer.write_batch(gradient_frames(frames, 32, 48))
    return path


def test_page_links_every_video_and_poster_by_relative_paths(demo: Path) -> None:
    page = build_gallery(demo)

    assert page == demo / "index.html"
    videos = sorted(demo.glob("*.mp4"))
    assert len(videos) == 2
    linked = _local_files(page)
    assert all(path.is_file() for path in linked), [p for p in linked if not p.is_file()]
    for video in videos:
        assert video in linked
        assert demo / "posters" / f"{video.name}.png" in linked
    assert sorted(p.name for p in (demo / "posters").iterdir()) == [f"{v.name}.png" for v in videos]
    assert [p.name for p in demo.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_page_is_self_contained(demo: Path) -> None:
    html = build_gallery(demo).read_text(encoding="utf-8")

    for needle in ("http://", "https://", "//cdn", str(demo)):
        assert needle not in html
    assert "<style>" in html
    assert "<script>" in html
    assert '<link rel="stylesheet"' not in html
    assert "<script src" not in html
    assert "fetch(" not in html  # Chromium refuses fetch() from file://: the data is inline
    assert "<video" not in html  # players are made when asked for: 1,000 videos open fast
    posters = re.findall(r"<img [^>]*>", html)
    assert len(posters) == 4  # a card and a table row per video
    assert all('loading="lazy"' in img for img in posters)
    assert 'preload: "none"' in html  # hover previews load nothing until played


def test_posters_are_pngs_of_the_frame_a_third_in(demo: Path) -> None:
    build_gallery(demo)

    for video in sorted(demo.glob("*.mp4")):
        poster = demo / "posters" / f"{video.name}.png"
        with av.open(str(poster)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "png"
            image = next(container.decode(stream)).to_ndarray(format="rgb24")
        decoded = decode(video)
        assert image.shape == (decoded.height, decoded.width, 3)
        assert rms(image, decoded.frames[decoded.count // 3]) < 1.0  # PNG is lossless


def test_table_shows_sidecar_and_probe_values(demo: Path) -> None:
    rows = _parse(build_gallery(demo)).rows

    assert len(rows) == 2
    for video in sorted(demo.glob("*.mp4")):
        meta = VideoMetadata.from_json(sidecar_path(video).read_text(encoding="utf-8"))
        info = probe(video)
        row = rows[video.name]
        assert row["return"] == f"{meta.episode_return:g}"
        assert row["length"] == str(meta.steps)
        assert row["episode"] == str(meta.episode)
        assert row["frames"] == str(info.frames) == str(meta.frames)
        assert row["duration"] == f"{info.duration:.2f} s"
        assert row["fps"] == "50"
        band = meta.overlay["band_height"] if meta.overlay else 0  # the demo's overlay band
        assert row["codec"] == f"h264600\N{MULTIPLICATION SIGN}{400 + band}"
        assert row["env"] == "CartPole-v1"
        assert row["seed"] == "0"
        assert video.name in row["file"]
    assert "truncated" in rows["cartpole-balancing-episode-0.mp4"]["file"]  # 500 steps
    assert "terminated" in rows["cartpole-random-episode-0.mp4"]["file"]


def test_moved_folder_keeps_its_links(demo: Path, tmp_path: Path) -> None:
    build_gallery(demo)
    moved = Path(shutil.move(demo, tmp_path / "elsewhere" / "uploaded"))

    assert not demo.exists()
    linked = _local_files(moved / "index.html")
    assert len(linked) >= 4
    assert all(path.is_file() and moved in path.parents for path in linked)


def test_title_defaults_to_folder_name_and_is_escaped(demo: Path) -> None:
    assert "<title>videos</title>" in build_gallery(demo).read_text(encoding="utf-8")

    html = build_gallery(demo, title="<b>A & B</b>").read_text(encoding="utf-8")
    assert "<title>&lt;b&gt;A &amp; B&lt;/b&gt;</title>" in html
    assert "<b>A" not in html


def test_mixed_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "mixed"
    _video(folder / "rl-video-episode-10.mp4")
    _video(folder / "rl-video-episode-2.webm")
    _video(folder / "run.incomplete.mp4", 3)
    _video(folder / "clip.gif")
    shutil.copy(folder / "clip.gif", folder / ".hidden.gif")
    shutil.copy(folder / "clip.gif", folder / "sub.gif.txt")
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / "nested").mkdir()
    _video(folder / "nested" / "deeper.mp4")  # a run folder: shown, named by its path
    (folder / ".cache").mkdir()
    _video(folder / ".cache" / "hidden.mp4")  # a hidden folder: not walked
    sidecar_path(folder / "rl-video-episode-2.webm").write_text("{not json", encoding="utf-8")

    with caplog.at_level(logging.INFO, logger="rlvideo.gallery"):
        page = build_gallery(folder, out_name="gallery.html")

    assert page == folder / "gallery.html"
    parsed = _parse(page)
    assert list(parsed.rows) == [
        "broken.mp4",
        "clip.gif",
        "rl-video-episode-2.webm",  # natural order: 2 before 10
        "rl-video-episode-10.mp4",
        "run.incomplete.mp4",
        "nested/deeper.mp4",  # the folder's own videos first, then each sub-folder's
    ]
    assert "incomplete" in parsed.rows["run.incomplete.mp4"]["file"]
    assert "unreadable" in parsed.rows["broken.mp4"]["file"]
    assert "no metadata" in parsed.rows["clip.gif"]["file"]
    assert parsed.rows["rl-video-episode-10.mp4"]["episode"] == "10"  # from the name
    assert parsed.rows["clip.gif"]["codec"] == "gif48\N{MULTIPLICATION SIGN}32"
    assert all(path.is_file() for path in _local_files(page))
    assert sorted(p.name for p in (folder / "posters").iterdir()) == [
        "clip.gif.png",
        "nested",
        "rl-video-episode-10.mp4.png",
        "rl-video-episode-2.webm.png",
        "run.incomplete.mp4.png",
    ]
    assert (folder / "posters" / "nested" / "deeper.mp4.png").is_file()
    messages = [r.getMessage() for r in caplog.records]
    assert any("listing" in m and "broken.mp4 as unreadable" in m for m in messages)
    assert any("ignoring the sidecar" in m and "episode-2.json" in m for m in messages)
    assert f"wrote gallery {page}: 6 videos" in messages


def test_odd_file_names_are_url_quoted(tmp_path: Path) -> None:
    _video(tmp_path / "run #1 50%.mp4")

    page = build_gallery(tmp_path)

    html = page.read_text(encoding="utf-8")
    assert 'href="run%20%231%2050%25.mp4"' in html
    assert '"href":"run%20%231%2050%25.mp4"' in html  # what the player loads
    assert all(path.is_file() for path in _local_files(page))


def test_posters_are_reused_until_the_video_changes(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    build_gallery(tmp_path)
    poster = tmp_path / "posters" / "clip.mp4.png"
    poster.write_bytes(b"stale marker")
    os.utime(poster, ns=(video.stat().st_mtime_ns + 1,) * 2)

    build_gallery(tmp_path)
    assert poster.read_bytes() == b"stale marker"  # newer than the video: kept

    os.utime(poster, ns=(video.stat().st_mtime_ns - 1_000_000_000,) * 2)
    build_gallery(tmp_path)
    assert poster.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # older: made again


def test_rebuild_replaces_the_page(demo: Path) -> None:
    page = build_gallery(demo, title="first build")
    build_gallery(demo, title="second build")

    html = page.read_text(encoding="utf-8")
    assert "<title>second build</title>" in html
    assert "first build" not in html


def test_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot build a gallery of .*nope: no such folder"):
        build_gallery(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    with pytest.raises(StorageError, match=r"clip\.mp4: it is a file, not a folder"):
        build_gallery(video)


@pytest.mark.parametrize(
    "names", [[], [".hidden.mp4", "notes.txt", "nested/notes.txt", ".cache/deep.mp4"]]
)
def test_folder_without_videos_is_an_invalid_argument(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    before = sorted(p.name for p in tmp_path.iterdir())

    with pytest.raises(InvalidArgumentError, match=r"no videos in .*: the gallery shows the \.mp4"):
        build_gallery(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize(
    "out_name", ["", "sub/index.html", ".index.html", "index.htm", "../x.html"]
)
def test_out_name_must_be_a_plain_html_name(tmp_path: Path, out_name: str) -> None:
    _video(tmp_path / "clip.mp4")
    with pytest.raises(InvalidArgumentError, match=r"out_name must be a plain file name ending in"):
        build_gallery(tmp_path, out_name=out_name)


def test_page_that_cannot_be_written_is_a_storage_error(tmp_path: Path) -> None:
    _video(tmp_path / "clip.mp4")
    (tmp_path / "index.html").mkdir()  # a folder where the page should go

    with pytest.raises(StorageError, match=r"cannot write .*index\.html"):
        build_gallery(tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_jinja2_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _video(tmp_path / "clip.mp4")
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 -> ModuleNotFoundError

    with pytest.raises(
        MissingDependencyError,
        match=r'rlvideo gallery needs jinja2: pip install "rlvideo\[gallery\]"',
    ):
        build_gallery(tmp_path)
    assert not (tmp_path / "posters").exists()
    assert not (tmp_path / "index.html").exists()


def test_jinja2_loads_on_first_build_not_on_import() -> None:
    code = "import sys, rlvideo.gallery; print('jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_frames_of_solid_video_give_solid_poster(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "gray.webm", fps=5) as writer:
        writer.write_batch([np.full((32, 48, 3), 128, np.uint8)] * 4)
    build_gallery(tmp_path)
    with av.open(str(tmp_path / "posters" / "gray.webm.png")) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert image.shape == (32, 48, 3)
    assert abs(float(image.mean()) - 128) < 3


def test_cut_short_videos_are_shown_as_such(tmp_path: Path) -> None:
    """Issue 9, defect 3: a video saved by a plain close() mid-episode says so in the gallery."""
    from rlvideo._core.metadata import VideoMetadata

    folder = tmp_path / "cut"
    for name, cut_short in (("rl-video-episode-0.mp4", False), ("rl-video-episode-1.mp4", True)):
        video = _video(folder / name)
        meta = VideoMetadata(path=str(video), kind="episode", terminated=not cut_short)
        meta.cut_short = cut_short
        sidecar_path(video).write_text(meta.to_json(), encoding="utf-8")
    rows = _parse(build_gallery(folder)).rows
    assert "cut short" in rows["rl-video-episode-1.mp4"]["file"]
    assert "cut short" not in rows["rl-video-episode-0.mp4"]["file"]


def test_replayed_videos_say_whether_their_replay_was_verified(tmp_path: Path) -> None:
    """Issue 23: a video rendered from a replay that diverged is marked, with the step."""
    from rlvideo._core.metadata import VideoMetadata

    folder = tmp_path / "replayed"
    records = {
        "rl-video-episode-0.mp4": {"file": "rl-video-episode-0.replay.npz", "verified": True},
        "rl-video-episode-1.mp4": {"file": "rl-video-episode-1.replay.npz", "verified": False,
                                   "diverged_at_step": 6, "diverged_at_frame": 6},
        "rl-video-episode-2.mp4": None,
    }  # fmt: skip
    for name, record in records.items():
        video = _video(folder / name)
        meta = VideoMetadata(path=str(video), kind="episode", replay=record)
        sidecar_path(video).write_text(meta.to_json(), encoding="utf-8")
    rows = _parse(build_gallery(folder)).rows
    assert "replayed" in rows["rl-video-episode-0.mp4"]["file"]
    assert "diverged" not in rows["rl-video-episode-0.mp4"]["file"]
    assert "replay diverged" in rows["rl-video-episode-1.mp4"]["file"]
    assert "diverged at step 6" in rows["rl-video-episode-1.mp4"]["file"]
    assert "replay" not in rows["rl-video-episode-2.mp4"]["file"]


# -- the page's data: what the script filters, sorts, plots and plays ---------------------------
def _data(page: Path) -> dict[str, dict[str, object]]:
    """The videos embedded in the page (``<script type="application/json">``), by file name."""
    html = page.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="gallery-data">(.*?)</script>', html)
    assert match, "no embedded data"
    return {video["file"]: video for video in json.loads(match.group(1))["videos"]}


def _columns(page: Path) -> list[str]:
    return re.findall(r'<th scope="col" data-key="([a-z_]+)"', page.read_text(encoding="utf-8"))


def test_data_holds_sidecar_probe_and_name_fields(tmp_path: Path) -> None:
    write_clip(
        tmp_path, "ppo-w2-episode-4.mp4", episode=4, first_step=4096, seed=7,
        extra={"checkpoint": "ckpt-200"},
    )  # fmt: skip
    write_clip(tmp_path, "sac-env-3-episode-0.webm", env_index=3, seed=7, terminated=True)
    write_clip(
        tmp_path, "eval-episode-1.mp4", track=False, cut_short=True,
        extra={"run": "my run", "worker": 5},
    )  # fmt: skip

    page = build_gallery(tmp_path)
    data = _data(page)

    ppo = data["ppo-w2-episode-4.mp4"]
    assert (ppo["run"], ppo["worker"], ppo["checkpoint"]) == ("ppo", 2, "ckpt-200")
    assert (ppo["episode"], ppo["step"], ppo["seed"], ppo["return"]) == (4, 4096, 7, 11.0)
    assert (ppo["frames"], ppo["fps"], ppo["sidecar_fps"], ppo["env"]) == (
        12,
        20.0,
        20.0,
        "Grid-v0",
    )
    assert ppo["poster"] == "posters/ppo-w2-episode-4.mp4.png"
    assert ppo["terminated"] is False
    assert ppo["cut_short"] is False
    sac = data["sac-env-3-episode-0.webm"]
    assert (sac["run"], sac["env_index"], sac["worker"], sac["terminated"]) == (
        "sac",
        3,
        None,
        True,
    )
    assert sac["mime"] == "video/webm"
    evaluation = data["eval-episode-1.mp4"]
    assert (evaluation["run"], evaluation["worker"], evaluation["cut_short"]) == ("my run", 5, True)
    assert "track" not in evaluation
    rows = _parse(page).rows
    assert rows["ppo-w2-episode-4.mp4"]["step"] == "4096"
    assert rows["ppo-w2-episode-4.mp4"]["checkpoint"] == "ckpt-200"
    assert rows["eval-episode-1.mp4"]["worker"] == "5"
    assert rows["sac-env-3-episode-0.webm"]["env_index"] == "3"
    assert _columns(page) == [
        "file", "run", "worker", "checkpoint", "episode", "step", "return", "length",
        "frames", "duration", "fps", "size", "codec", "env", "env_index", "seed",
    ]  # fmt: skip


def test_columns_nobody_has_are_left_out(tmp_path: Path) -> None:
    _video(tmp_path / "clip.mp4")  # no sidecar: no step, worker, checkpoint or env index

    columns = _columns(build_gallery(tmp_path))

    assert columns == [
        "file", "run", "episode", "return", "length", "frames", "duration", "fps", "size",
        "codec", "env", "seed",
    ]  # fmt: skip


def test_track_is_embedded_as_columns(tmp_path: Path) -> None:
    write_clip(tmp_path, "rl-video-episode-0.mp4", frames=9, reward_per_step=0.5)

    data = _data(build_gallery(tmp_path))

    track = data["rl-video-episode-0.mp4"]["track"]
    lines = track_lines(9, reward=0.5)
    assert isinstance(track, dict)
    assert track["frames"] == 9 == decode(tmp_path / "rl-video-episode-0.mp4").count
    assert track["step"] == [line["step"] for line in lines] == list(range(9))
    assert track["reward"] == [None] + [0.5] * 8
    assert track["return"] == [0.5 * i for i in range(9)]
    assert track["action"] == [None] + [i % 2 for i in range(1, 9)]
    assert track["info"] == {"x": [None] + [round(i * 0.1, 3) for i in range(1, 9)]}
    assert "track" in data["rl-video-episode-0.mp4"]["badges"]  # type: ignore[operator]


def test_track_values_are_compact_and_strict_json(tmp_path: Path) -> None:
    video = write_clip(tmp_path, "clip.mp4", frames=3, track=False)
    lines = [
        '{"frame": 0, "episode": 0, "step": 0, "reward": null, "return": 0.0}',
        '{"frame": 1, "episode": 0, "step": 1, "reward": 0.1234567891, "return": NaN, '
        '"action": [0.333333333, 1], "future_key": {"ignored": true}}',
        '{"frame": 2, "episode": 0, "step": 2, "reward": Infinity, "return": 1e300}',
    ]
    track_path(video).write_text("\n".join(lines) + "\n", encoding="utf-8")

    track = _data(build_gallery(tmp_path))["clip.mp4"]["track"]

    assert isinstance(track, dict)
    assert track["reward"] == [None, 0.123457, None]
    assert track["return"] == [0.0, None, 1e300]
    assert track["action"] == [None, [0.333333, 1], None]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", r"line 2 is not JSON"),
        ("[1, 2]", r"line 2 is not a JSON object"),
        ('{"frame": 5, "step": 1}', r"line 2 has frame 5; expected 1 \(one line per frame"),
    ],
)
def test_a_bad_track_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, line: str, problem: str
) -> None:
    video = write_clip(tmp_path, "clip.mp4", frames=3, track=False)
    good = '{"frame": 0, "episode": 0, "step": 0, "reward": null, "return": 0.0}'
    track_path(video).write_text(f"{good}\n{line}\n", encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="rlvideo.gallery"):
        data = _data(build_gallery(tmp_path))

    assert "track" not in data["clip.mp4"]
    assert re.search(rf"skipped the track .*clip\.track\.jsonl: {problem}", caplog.text)


def test_a_track_of_another_length_is_kept_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = write_clip(tmp_path, "clip.mp4", frames=6, track=False)
    track_path(video).write_text(
        "".join(json.dumps(line) + "\n" for line in track_lines(4)), encoding="utf-8"
    )

    with caplog.at_level(logging.WARNING, logger="rlvideo.gallery"):
        data = _data(build_gallery(tmp_path))

    track = data["clip.mp4"]["track"]
    assert isinstance(track, dict)
    assert track["frames"] == 4
    assert "clip.track.jsonl has 4 lines for 6 decoded frames" in caplog.text


@pytest.mark.parametrize("absolute_path", [False, True])
def test_relative_and_absolute_sidecar_paths_are_both_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, absolute_path: bool
) -> None:
    write_clip(tmp_path / "run", "clip.mp4", seed=3, absolute_path=absolute_path)
    moved = Path(shutil.move(tmp_path / "run", tmp_path / "moved"))  # old absolute paths go stale

    with caplog.at_level(logging.WARNING, logger="rlvideo.gallery"):
        data = _data(build_gallery(moved))

    assert data["clip.mp4"]["seed"] == 3
    assert "badges" in data["clip.mp4"]
    assert "no metadata" not in data["clip.mp4"]["badges"]
    assert caplog.text == ""  # same file name: no complaint, wherever the folder went


def test_a_sidecar_naming_another_video_is_shown_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = write_clip(tmp_path, "a.mp4", seed=4)
    video.rename(tmp_path / "b.mp4")
    sidecar_path(video).rename(tmp_path / "b.json")

    with caplog.at_level(logging.WARNING, logger="rlvideo.gallery"):
        data = _data(build_gallery(tmp_path))

    assert data["b.mp4"]["seed"] == 4
    assert re.search(r"the sidecar .*b\.json names a\.mp4, not b\.mp4; showing it", caplog.text)


def test_text_from_sidecars_cannot_end_the_script(tmp_path: Path) -> None:
    write_clip(tmp_path, "clip.mp4", extra={"run": "</script><script>alert(1)</script>"})

    page = build_gallery(tmp_path)
    html = page.read_text(encoding="utf-8")

    assert "<script>alert(1)" not in html
    assert _data(page)["clip.mp4"]["run"] == "</script><script>alert(1)</script>"


def test_remote_gallery_embeds_the_tracks(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    from rlvideo.gallery import build_remote_gallery

    local = tmp_path / "local"
    video = write_clip(local, "clip.mp4", frames=5)
    memory = fsspec.filesystem("memory")
    for path in (video, sidecar_path(video), track_path(video)):
        memory.pipe(f"/gallery-track-test/{path.name}", path.read_bytes())
    try:
        url = build_remote_gallery("memory://gallery-track-test")
        html = memory.cat(url.removeprefix("memory://")).decode("utf-8")
    finally:
        memory.rm("/gallery-track-test", recursive=True)

    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    track = _data(page)["clip.mp4"]["track"]
    assert isinstance(track, dict)
    assert track["step"] == [0, 1, 2, 3, 4]
