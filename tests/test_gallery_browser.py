"""The gallery in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium).

The page is opened from disk (file://) and from a local HTTP server. Playwright downloads no
browser here: it launches the system's. Without /usr/bin/chromium the tests skip, except on CI
(``CI`` set), where .ci/run installs it and a missing browser is a failure.

Every visit checks that the console showed no error and that nothing was asked for outside the
gallery's folder. The fixture is a real demo run (CartPole, two policies on the same seeds) with
data tracks written per the track format, plus small clips with env indexes, workers and flags.

``RLVIDEO_UPDATE_SCREENSHOT=1`` copies the screenshots to docs/ (gallery.png, gallery-grid.png,
gallery-table.png, gallery-player.png, gallery-compare.png): this file is the script that makes
them.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rlvideo import VideoWriter, probe
from rlvideo._core.metadata import VideoMetadata, sidecar_path
from rlvideo.cli.demo import record_demo
from rlvideo.gallery import build_gallery
from tests.gallery_fixtures import write_clip, write_track
from tests.helpers import gradient_frames

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE_READY = "() => window.rlvideoGallery !== undefined"
BALANCING = "cartpole-balancing-episode-0.mp4"  # 501 frames at 50 fps, with a track


def _unavailable(reason: str) -> None:
    """Skip the module, except on CI, which installs both (.ci/run) and must run these tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide it for the gallery's browser tests", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not CHROMIUM.exists():
    _unavailable(f"{CHROMIUM} is missing: apt-get install chromium (Debian's package)")
try:
    from playwright import sync_api
except ImportError:
    _unavailable('playwright is missing: pip install -e ".[dev]"')


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run with tracks, a VP9 WebM, a GIF and small clips with env index and flags."""
    folder = tmp_path_factory.mktemp("gallery")
    record_demo(folder, episodes=2)
    for sidecar in sorted(folder.glob("cartpole-*.json")):
        meta = VideoMetadata.from_json(sidecar.read_text(encoding="utf-8"))
        write_track(folder / Path(meta.path).name, meta.frames, episode=meta.episode)
    with VideoWriter(folder / "gradient.webm", fps=25) as writer:
        writer.write_batch(gradient_frames(30, 96, 128))
    sidecar_path(folder / "gradient.webm").write_text(
        VideoMetadata(
            path="gradient.webm", kind="episode", episode=7, steps=29, frames=30,
            episode_return=-3.5, fps=25.0, codec="libvpx-vp9", env_id="Gradient-v0", seed=11,
        ).to_json(),
        encoding="utf-8",
    )  # fmt: skip
    with VideoWriter(folder / "pulse.gif", fps=10) as writer:
        writer.write_batch(gradient_frames(6, 48, 64)[::-1])
    write_clip(folder, "vec-env-1-episode-0.mp4", env_index=1, seed=5, episode=0, truncated=True)
    write_clip(folder, "vec-env-3-episode-0.mp4", env_index=3, seed=5, episode=0, terminated=True)
    write_clip(
        folder, "ppo-w1-episode-2.mp4", episode=2, first_step=2048, seed=9, reward_per_step=4.0,
        extra={"checkpoint": "ckpt-1"},
    )  # fmt: skip
    write_clip(
        folder, "ppo-w2-episode-3.mp4", episode=3, first_step=3072, seed=9, cut_short=True,
        track=False, extra={"checkpoint": "ckpt-2"},
    )  # fmt: skip
    build_gallery(folder, title="rlvideo demo: CartPole-v1")
    return folder


def _data(gallery: Path) -> dict[str, dict[str, Any]]:
    html = (gallery / "index.html").read_text(encoding="utf-8")
    start = html.index('id="gallery-data">') + len('id="gallery-data">')
    videos = json.loads(html[start : html.index("</script>", start)])["videos"]
    return {video["file"]: video for video in videos}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the browser drops video downloads it no longer needs: not an error of the page


@pytest.fixture(scope="module")
def http_root(gallery: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(gallery))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="gallery-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Visit:
    """A page, and what it logged and asked for while the test ran."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def rows(self) -> list[str]:
        """The file names of the table rows, in page order, visible or not."""
        return list(
            self.page.eval_on_selector_all(
                "#videos tbody tr", "rows => rows.map(r => r.dataset.file)"
            )
        )

    def visible_rows(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "#videos tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.file)"
            )
        )

    def visible_cards(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "#grid .card", "cards => cards.filter(c => !c.hidden).map(c => c.dataset.file)"
            )
        )

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def open_viewer(self, name: str) -> None:
        self.js("name => { location.hash = 'v=' + encodeURIComponent(name); }", name)
        self.page.wait_for_function(
            "() => { const v = document.querySelector('#viewer video');"
            " return v && v.readyState >= 2; }",
            timeout=15_000,
        )

    def wait_paused_at(self, selector: str = "#viewer video") -> None:
        """Wait until every matching player has finished seeking."""
        self.page.wait_for_function(
            "s => Array.from(document.querySelectorAll(s))"
            ".every(v => !v.seeking && v.readyState >= 2)",
            arg=selector,
            timeout=10_000,
        )


@contextlib.contextmanager
def _open(browser: Any, url: str, *, local: tuple[str, ...]) -> Iterator[Visit]:
    """Open ``url``; after use, check the console stayed clean and nothing left the folder."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
        page.on("request", lambda r: seen.requests.append(r.url))
        page.goto(url)
        page.wait_for_function(PAGE_READY, timeout=15_000)
        yield seen
        assert [url for url in seen.requests if not url.startswith(local)] == []
        assert seen.errors == []
    finally:
        context.close()


@pytest.fixture(params=["file", "http"])
def visit(request: pytest.FixtureRequest, browser: Any, gallery: Path) -> Iterator[Visit]:
    """The gallery, opened from disk and over HTTP; no console error, no request elsewhere."""
    if request.param == "file":
        root = gallery.as_uri() + "/"
        local: tuple[str, ...] = ("file://", "data:")
    else:
        root = request.getfixturevalue("http_root")
        local = (root, "data:")
    with _open(browser, root + "index.html", local=local) as seen:
        assert seen.requests[0] == root + "index.html"
        yield seen


@pytest.fixture
def page(browser: Any, gallery: Path) -> Iterator[Visit]:
    """The gallery from disk only (file://), for the playback tests."""
    with _open(browser, (gallery / "index.html").as_uri(), local=("file://", "data:")) as seen:
        yield seen


def _frame_at(time: float, fps: float) -> int:
    return int(time * fps + 1e-3)


# -- views, lazy loading ----------------------------------------------------------------------
def test_grid_first_with_lazy_posters_and_no_players(visit: Visit, gallery: Path) -> None:
    data = _data(gallery)
    assert visit.page.locator("#grid").is_visible()
    assert not visit.page.locator("#table-view").is_visible()
    assert sorted(visit.visible_cards()) == sorted(data)
    assert visit.js("document.querySelectorAll('video').length") == 0  # none until asked for
    lazy = visit.page.eval_on_selector_all("img", "imgs => imgs.map(i => i.loading)")
    assert lazy
    assert set(lazy) == {"lazy"}
    requested = {url.rsplit("/", 1)[-1] for url in visit.requests}
    assert not {name for name in data if name.endswith((".mp4", ".webm"))} & requested

    visit.page.get_by_role("button", name="Table", exact=True).click()
    assert visit.page.locator("#table-view").is_visible()
    assert not visit.page.locator("#grid").is_visible()
    assert sorted(visit.visible_rows()) == sorted(data)
    visit.page.keyboard.press("v")
    assert visit.page.locator("#grid").is_visible()
    assert visit.page.locator("#view-grid").get_attribute("aria-pressed") == "true"


def test_hover_plays_a_preview_and_leaving_drops_it(page: Visit) -> None:
    card = page.page.locator(f"#grid .card[data-file='{BALANCING}']")
    card.locator(".thumb").hover()
    page.page.wait_for_function(
        "n => { const v = document.querySelector(`.card[data-file='${n}'] video`);"
        " return v && !v.paused && v.currentTime > 0.2; }",
        arg=BALANCING,
        timeout=10_000,
    )
    assert card.locator("video").get_attribute("preload") == "none"
    page.page.mouse.move(5, 5)
    assert card.locator("video").count() == 0

    gif = page.page.locator("#grid .card[data-file='pulse.gif'] img")
    assert gif.get_attribute("src") == "posters/pulse.gif.png"
    gif.hover()
    page.page.wait_for_function(
        "() => { const i = document.querySelector(\".card[data-file='pulse.gif'] img\");"
        " return i.src.endsWith('pulse.gif') && i.complete && i.naturalWidth === 64; }"
    )


# -- the query language -----------------------------------------------------------------------
QUERIES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("return>30", lambda v: v.get("return") is not None and v["return"] > 30),
    ("return<=20", lambda v: v.get("return") is not None and v["return"] <= 20),
    ("return=10..50", lambda v: v.get("return") is not None and 10 <= v["return"] <= 50),
    ("env=3", lambda v: v["env_index"] == 3),
    ("env=1|3", lambda v: v["env_index"] in (1, 3)),
    ("env=cartpole", lambda v: "CartPole" in (v.get("env") or "")),
    ("terminated", lambda v: v["terminated"]),
    ("-terminated", lambda v: not v["terminated"]),
    ("truncated", lambda v: v["truncated"]),
    ("cut short", lambda v: v["cut_short"]),
    ('"cut short"', lambda v: v["cut_short"]),
    ("!cut_short", lambda v: not v["cut_short"]),
    ("balancing", lambda v: "balancing" in v["file"]),
    ("seed=0", lambda v: v.get("seed") == 0),
    ("seed!=0", lambda v: v.get("seed") != 0),
    ("episode=0..1 random", lambda v: "random" in v["file"] and v.get("episode") in (0, 1)),
    ("worker=1|2", lambda v: v["worker"] in (1, 2)),
    ("run==cartpole-random", lambda v: v["run"] == "cartpole-random"),
    ("step>=2048", lambda v: (v.get("step") or 0) >= 2048),
    ("checkpoint=ckpt-2", lambda v: v.get("checkpoint") == "ckpt-2"),
    ("track", lambda v: "track" in v),
    ("gif", lambda v: v["gif"]),
    ("codec=vp9", lambda v: v.get("codec") == "vp9"),
    ("frames>100 truncated", lambda v: (v.get("frames") or 0) > 100 and v["truncated"]),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_queries_return_the_right_videos(
    browser: Any, gallery: Path, query: str, expected: Callable[[dict[str, Any]], bool]
) -> None:
    data = _data(gallery)
    with _open(browser, (gallery / "index.html").as_uri(), local=("file://", "data:")) as visit:
        visit.page.get_by_role("searchbox", name="Filter the videos").fill(query)
        want = sorted(name for name, video in data.items() if expected(video))
        assert want, f"the fixture should have a video matching {query}"
        assert sorted(visit.visible_cards()) == want
        assert sorted(visit.visible_rows()) == want
        assert visit.page.locator("#shown").inner_text() == f"{len(want)} of {len(data)}"
        assert not visit.page.locator("#query-error").is_visible()


def test_bad_queries_say_why_and_nothing_matches_shows_a_note(visit: Visit) -> None:
    box = visit.page.get_by_role("searchbox", name="Filter the videos")
    everything = visit.rows()

    box.fill("retrun>30")
    assert (
        visit.page.locator("#query-error")
        .inner_text()
        .startswith("unknown field retrun in retrun>30; fields: file, run")
    )
    assert box.get_attribute("aria-invalid") == "true"
    assert sorted(visit.visible_rows()) == sorted(everything)  # the bad term is left out

    box.fill("return>lots")
    assert "return>lots: lots is not a number" in visit.page.locator("#query-error").inner_text()
    box.fill("run>a")
    assert (
        "run is text; use = (contains) or == (exactly)"
        in visit.page.locator("#query-error").inner_text()
    )

    box.fill("no such video")
    assert visit.visible_rows() == []
    assert visit.page.locator("#nomatch").is_visible()
    box.fill("")
    assert visit.visible_rows() == everything
    assert not visit.page.locator("#nomatch").is_visible()
    assert not visit.page.locator("#query-error").is_visible()


def test_facet_chips_add_and_remove_terms(visit: Visit, gallery: Path) -> None:
    data = _data(gallery)
    chip = visit.page.locator("#facets .chip[data-term='run==cartpole-random']")
    assert chip.inner_text().replace("\n", "") == "cartpole-random2"
    chip.click()
    box = visit.page.get_by_role("searchbox", name="Filter the videos")
    assert box.input_value() == "run==cartpole-random"
    assert chip.get_attribute("aria-pressed") == "true"
    assert sorted(visit.visible_cards()) == sorted(n for n in data if "random" in n)
    visit.page.locator("#facets .chip[data-term='env=3']").click()
    assert box.input_value() == "run==cartpole-random env=3"
    assert visit.visible_cards() == []
    chip.click()
    assert box.input_value() == "env=3"
    assert visit.visible_cards() == ["vec-env-3-episode-0.mp4"]
    for term in ("worker=1", "worker=2", "checkpoint==ckpt-1", "terminated", "cut_short", "track"):
        assert visit.page.locator(f"#facets .chip[data-term='{term}']").count() == 1, term


# -- sorting ----------------------------------------------------------------------------------
def test_header_click_sorts_rows_both_ways(visit: Visit, gallery: Path) -> None:
    returns = {n: v["return"] for n, v in _data(gallery).items() if v.get("return") is not None}
    visit.page.get_by_role("button", name="Table", exact=True).click()
    before = visit.rows()
    assert before == sorted(before)  # as built: by file name

    visit.page.get_by_role("button", name="Return").click()
    ascending = visit.rows()
    with_return = [name for name in ascending if name in returns]
    assert [returns[n] for n in with_return] == sorted(returns.values())
    assert ascending[len(with_return) :] == [n for n in before if n not in returns]  # unknown: last
    assert visit.page.locator("th[data-key=return]").get_attribute("aria-sort") == "ascending"
    assert visit.page.locator("#sort").input_value() == "return"

    visit.page.get_by_role("button", name="Return").click()
    descending = visit.rows()
    assert [returns[n] for n in descending if n in returns] == sorted(
        returns.values(), reverse=True
    )
    assert visit.page.locator("th[data-key=return]").get_attribute("aria-sort") == "descending"


def test_sort_select_orders_the_grid(visit: Visit, gallery: Path) -> None:
    data = _data(gallery)
    visit.page.locator("#sort").select_option("step")
    order = [data[n]["step"] for n in visit.visible_cards() if data[n].get("step") is not None]
    assert order == sorted(order)
    assert order[-1] == 3072
    visit.page.locator("#sort-dir").click()
    order = [data[n]["step"] for n in visit.visible_cards() if data[n].get("step") is not None]
    assert order == sorted(order, reverse=True)
    visit.page.locator("#sort").select_option("seed")
    seeds = [data[n]["seed"] for n in visit.visible_cards() if data[n].get("seed") is not None]
    assert seeds == sorted(seeds)


# -- the player -------------------------------------------------------------------------------
def test_every_video_plays_with_the_duration_probe_reads(visit: Visit, gallery: Path) -> None:
    players = [n for n, v in _data(gallery).items() if not v["gif"] and not v["problem"]]
    assert any(n.endswith(".webm") for n in players)
    assert any(n.endswith(".mp4") for n in players)
    for name in players:
        visit.open_viewer(name)
        duration, error = visit.js(
            "() => { const v = document.querySelector('#viewer video');"
            " return [v.duration, v.error && v.error.code]; }"
        )
        assert error is None, name
        assert duration == pytest.approx(probe(gallery / name).duration, abs=0.1), name
        assert not visit.page.locator("#viewer-fallback").is_visible()
    visit.page.keyboard.press("Escape")
    assert not visit.page.locator("#viewer").is_visible()
    assert visit.js("document.querySelectorAll('video').length") == 0  # players are let go


def test_chromium_decodes_h264_frames(page: Visit, gallery: Path) -> None:
    """Metadata alone only needs the demuxer: play a short MP4 through to prove the decoder."""
    data = _data(gallery)
    shortest = min(
        (n for n in data if n.endswith(".mp4")), key=lambda n: data[n]["duration"] or 1e9
    )
    page.open_viewer(shortest)
    page.page.locator("#viewer-controls [data-act=play]").click()
    page.page.wait_for_function(
        "() => document.querySelector('#viewer video').ended", timeout=10_000
    )
    decoded = page.js(
        "() => document.querySelector('#viewer video').getVideoPlaybackQuality().totalVideoFrames"
    )
    assert decoded > 0
    assert page.page.locator("#viewer-controls [data-act=play]").inner_text().endswith("play")


def test_keys_step_frames_change_speed_loop_and_navigate(page: Visit, gallery: Path) -> None:
    data = _data(gallery)
    fps = data[BALANCING]["sidecar_fps"]
    page.open_viewer(BALANCING)
    keyboard = page.page.keyboard
    for _ in range(3):
        keyboard.press(".")
    page.wait_paused_at()
    now = page.js("() => document.querySelector('#viewer video').currentTime")
    assert _frame_at(now, fps) == 3
    assert page.page.locator("#viewer-controls [data-act=time]").get_attribute("data-frame") == "3"
    keyboard.press(",")
    page.wait_paused_at()
    assert _frame_at(page.js("() => document.querySelector('#viewer video').currentTime"), fps) == 2

    speed = "() => document.querySelector('#viewer video').playbackRate"
    keyboard.press("]")
    assert page.js(speed) == 1.5
    for _ in range(6):
        keyboard.press("[")
    assert page.js(speed) == 0.25  # the slowest
    assert page.page.locator("#viewer-controls [data-act=speed]").input_value() == "0.25"
    for _ in range(9):
        keyboard.press("]")
    assert page.js(speed) == 4  # the fastest

    keyboard.press("l")
    assert page.page.locator("#viewer-controls [data-act=loop]").is_checked()
    keyboard.press(" ")
    page.page.wait_for_function("() => !document.querySelector('#viewer video').paused")
    keyboard.press("k")
    page.page.wait_for_function("() => document.querySelector('#viewer video').paused")
    keyboard.press("End")
    page.wait_paused_at()
    end = page.js("() => document.querySelector('#viewer video').currentTime")
    assert _frame_at(end, fps) == data[BALANCING]["frames"] - 1
    keyboard.press("Home")
    page.wait_paused_at()
    assert page.js("() => document.querySelector('#viewer video').currentTime") == 0

    # the demo's frames hold their own text (a band): its live text starts off (issue 20 part 4)
    assert not page.page.locator("#viewer .hud").is_visible()
    keyboard.press("o")
    assert page.page.locator("#viewer .hud").is_visible()
    keyboard.press("o")
    assert not page.page.locator("#viewer .hud").is_visible()
    keyboard.press("n")
    page.page.wait_for_function(
        "n => document.querySelector('#viewer-title').textContent !== n", arg=BALANCING
    )
    order = page.visible_cards()
    assert page.page.locator("#viewer-title").inner_text() == order[order.index(BALANCING) + 1]
    keyboard.press("p")
    page.page.wait_for_function(
        "n => document.querySelector('#viewer-title').textContent === n", arg=BALANCING
    )
    keyboard.press("Escape")
    assert not page.page.locator("#viewer").is_visible()
    keyboard.press("/")
    assert page.js("document.activeElement.id") == "filter"
    keyboard.press("Escape")
    keyboard.press("?")
    assert page.js("document.getElementById('help').open")
    help_text = page.page.locator("#help").inner_text()
    for words in ("previous / next frame", "slower / faster", "loop on / off", "return>30"):
        assert words in help_text


def test_loop_plays_again_from_the_start(page: Visit, gallery: Path) -> None:
    short = "vec-env-1-episode-0.mp4"  # 12 frames at 20 fps
    page.open_viewer(short)
    page.page.locator("#viewer-controls [data-act=loop]").check()
    page.page.locator("#viewer-controls [data-act=play]").click()
    page.page.wait_for_function(
        "() => { const v = document.querySelector('#viewer video');"
        " window.maxSeen = Math.max(window.maxSeen || 0, v.currentTime);"
        " return window.maxSeen > 0.4 && v.currentTime < 0.2 && !v.paused; }",
        timeout=10_000,
        polling=10,
    )


def test_overlay_and_playhead_follow_the_frame_shown(page: Visit, gallery: Path) -> None:
    data = _data(gallery)
    video, track, fps = data[BALANCING], data[BALANCING]["track"], data[BALANCING]["sidecar_fps"]
    page.open_viewer(BALANCING)
    assert page.page.locator("#viewer-track").is_visible()
    page.page.keyboard.press("o")  # the demo's text is burnt in: its live text starts off
    assert page.page.locator("#viewer .hud").is_visible()
    state = """() => {
        const v = document.querySelector('#viewer video');
        const hud = {};
        document.querySelectorAll('#viewer .hud [data-field]').forEach(b => {
            hud[b.dataset.field] = b.textContent; });
        const head = document.getElementById('playhead');
        return [v.currentTime, hud, Number(head.dataset.frame), Number(head.getAttribute('x1'))];
    }"""
    for target in (0, 1, 40, 250, video["frames"] - 1):
        page.js(f"() => rlvideoGallery.viewer().seek(({target} + 0.5) / {fps})")
        page.wait_paused_at()
        page.page.wait_for_function(
            f"() => document.getElementById('playhead').dataset.frame === '{target}'"
        )
        now, hud, head, x = page.js(state)
        assert _frame_at(now, fps) == target
        assert head == target
        assert x == pytest.approx(target / (track["frames"] - 1) * 960, abs=0.01)
        assert hud["frame"] == str(target)
        assert hud["step"] == str(track["step"][target])
        assert hud["return"] == f"{track['return'][target]:g}"
        assert ("reward" in hud) == (target > 0)  # no reward on the reset frame
        assert hud.get("action") == (None if target == 0 else str(track["action"][target]))

    page.js("() => rlvideoGallery.viewer().seek(0)")
    page.wait_paused_at()
    page.page.locator("#viewer-controls [data-act=play]").click()
    # While it plays, the playhead and the HUD show the frame the video's own clock is at, checked
    # in the page as it draws: at ever later frames, whatever speed the machine plays at.
    agreeing = """([least, fps, steps]) => {
        const v = document.querySelector('#viewer video');
        const now = Math.floor(v.currentTime * fps + 1e-3);
        const head = Number(document.getElementById('playhead').dataset.frame);
        const hud = {};
        document.querySelectorAll('#viewer .hud [data-field]').forEach(b => {
            hud[b.dataset.field] = b.textContent; });
        const agree = head === now && hud.frame === String(now) && hud.step === String(steps[now]);
        return !v.paused && now >= least && agree && now;
    }"""
    seen = []
    for least in (5, 20, 40, 80):
        shown = page.page.wait_for_function(
            agreeing, arg=[least, fps, track["step"]], polling="raf", timeout=30_000
        )
        seen.append(shown.json_value())
    assert seen == sorted(seen), seen  # the playhead moves forward with the video
    page.page.locator("#viewer-controls [data-act=play]").click()  # pause
    box = page.page.locator("#curve").bounding_box()
    page.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_paused_at()
    half = (track["frames"] - 1) / 2
    head_frame = page.js("() => Number(document.getElementById('playhead').dataset.frame)")
    assert abs(head_frame - half) <= 2
    now = page.js("() => document.querySelector('#viewer video').currentTime")
    assert _frame_at(now, fps) == head_frame


# -- compare ----------------------------------------------------------------------------------
def _times(visit: Visit) -> list[float]:
    return list(
        visit.js(
            "() => Array.from(document.querySelectorAll('#compare video')).map(v => v.currentTime)"
        )
    )


def test_compare_keeps_players_within_a_frame(page: Visit, gallery: Path) -> None:
    data = _data(gallery)
    names = ["cartpole-balancing-episode-0.mp4", "cartpole-balancing-episode-1.mp4"]
    fps = data[names[0]]["sidecar_fps"]
    frame = 1 / fps
    for name in names:
        page.page.locator(f"#grid .card[data-file='{name}'] input.pick").check()
    assert page.page.locator("#tray").is_visible()
    page.page.get_by_role("button", name="Compare 2 videos").click()
    page.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare video')).length === 2 &&"
        " Array.from(document.querySelectorAll('#compare video')).every(v => v.readyState >= 2)",
        timeout=15_000,
    )
    captions = page.page.locator("#compare figcaption").all_inner_texts()
    assert [n in c for n, c in zip(names, captions, strict=True)] == [True, True]
    assert all("cartpole-balancing" in c and "seed" in c for c in captions)

    seek = page.page.locator("#compare-controls [data-act=seek]")
    seek.evaluate("(s) => { s.value = '3.3'; s.dispatchEvent(new Event('input')); }")
    page.wait_paused_at("#compare video")
    times = _times(page)
    assert times[0] == pytest.approx(3.3, abs=frame)
    assert max(times) - min(times) < frame

    page.page.keyboard.press(" ")
    spreads = []
    for _ in range(15):
        page.page.wait_for_timeout(120)
        times = _times(page)
        spreads.append(max(times) - min(times))
    assert min(_times(page)) > 3.6  # they played
    assert max(spreads) < frame, spreads

    page.page.locator("#compare-controls [data-act=speed]").select_option("2")
    page.page.wait_for_timeout(600)
    rates = page.js(
        "() => Array.from(document.querySelectorAll('#compare video')).map(v => v.playbackRate)"
    )
    assert 2 in rates
    assert all(1.4 <= r <= 2.6 for r in rates)
    times = _times(page)
    assert max(times) - min(times) < frame

    page.page.keyboard.press("k")
    page.wait_paused_at("#compare video")
    times = _times(page)
    assert max(times) - min(times) < frame
    page.page.keyboard.press(".")
    page.wait_paused_at("#compare video")
    assert {_frame_at(t, fps) for t in _times(page)} == {_frame_at(times[0], fps) + 1}
    page.page.keyboard.press("Escape")
    assert not page.page.locator("#compare").is_visible()


def test_compare_takes_at_most_four(page: Visit, gallery: Path) -> None:
    names = [n for n, v in _data(gallery).items() if not v["gif"] and not v["problem"]][:5]
    for name in names[:4]:
        page.page.locator(f"#grid .card[data-file='{name}'] input.pick").check()
    page.page.locator(f"#grid .card[data-file='{names[4]}'] input.pick").click()
    assert not page.page.locator(f"#grid .card[data-file='{names[4]}'] input.pick").is_checked()
    assert "at most 4" in page.page.locator("#tray-note").inner_text()
    page.page.keyboard.press("c")
    page.page.wait_for_function("() => document.querySelectorAll('#compare video').length === 4")
    assert page.page.locator("#compare-title").inner_text() == "Compare 4 videos"
    page.page.locator("#compare .close").click()
    assert not page.page.locator("#compare").is_visible()
    page.page.get_by_role("button", name="Clear").click()
    assert not page.page.locator("#tray").is_visible()


def test_same_seed_pairs_across_runs_are_suggested(visit: Visit) -> None:
    items = visit.page.locator("#pairs-list li").all_text_contents()  # folded: not rendered
    assert len(items) == 2  # the two policies on seeds 0 and 1
    assert items[0].startswith("seed 0 \N{MIDDLE DOT} CartPole-v1: cartpole-balancing ep 0")
    assert "vs cartpole-random ep 0" in items[0]
    visit.page.locator("#pairs summary").click()
    visit.page.locator("#pairs-list a").first.click()
    visit.page.wait_for_function("() => document.querySelectorAll('#compare video').length === 2")
    files = visit.page.eval_on_selector_all("#compare figure", "fs => fs.map(f => f.dataset.file)")
    assert files == ["cartpole-balancing-episode-0.mp4", "cartpole-random-episode-0.mp4"]


def test_return_plot_has_a_point_per_video_that_opens_it(visit: Visit, gallery: Path) -> None:
    data = _data(gallery)
    with_return = sorted(n for n, v in data.items() if v.get("return") is not None)
    points = visit.page.eval_on_selector_all("#plot circle.pt", "cs => cs.map(c => c.dataset.file)")
    assert sorted(points) == with_return
    legend = visit.page.locator("#plot-legend").inner_text()
    assert "cartpole-balancing" in legend
    assert "cartpole-random" in legend

    visit.page.get_by_role("searchbox", name="Filter the videos").fill("random")
    dimmed = visit.page.eval_on_selector_all(
        "#plot circle.pt.out", "cs => cs.map(c => c.dataset.file)"
    )
    assert sorted(dimmed) == [n for n in with_return if "random" not in n]

    visit.page.locator("#plot-x").select_option("step")
    xs = visit.page.eval_on_selector_all(
        "#plot circle.pt", "cs => cs.map(c => [c.dataset.file, Number(c.getAttribute('cx'))])"
    )
    by_x = [name for name, _ in sorted(xs, key=lambda item: item[1])]
    assert by_x[-1] == "ppo-w2-episode-3.mp4"  # the largest training step
    visit.page.locator(f"#plot circle.pt[data-file='{BALANCING}']").click()
    visit.page.wait_for_function("() => !document.getElementById('viewer').hidden")
    assert visit.page.locator("#viewer-title").inner_text() == BALANCING


# -- a video the browser cannot play, and the screenshots ---------------------------------------
def test_a_video_the_browser_cannot_play_shows_the_fallback(
    browser: Any, gallery: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(gallery, folder)
    broken = sorted(folder.glob("*random*.mp4"))[0]
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 8)  # not decodable
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto((folder / "index.html").as_uri() + "#v=" + broken.name)
        page.wait_for_function(
            "() => { const v = document.querySelector('#viewer video'); return v && v.error; }",
            timeout=10_000,
        )
        fallback = page.locator("#viewer-fallback")
        assert fallback.is_visible()
        assert "cannot play this h264 video" in fallback.inner_text()
        assert fallback.locator("a").get_attribute("href") == broken.name
        page.evaluate("() => { location.hash = 'v=' + encodeURIComponent('gradient.webm'); }")
        page.wait_for_function("() => document.querySelector('#viewer video').readyState >= 1")
        assert not fallback.is_visible()
    finally:
        context.close()


def test_screenshots(page: Visit, gallery: Path, tmp_path: Path) -> None:
    shots: dict[str, Path] = {}

    def shoot(name: str, *, full_page: bool = False) -> None:
        page.page.wait_for_function(
            "() => Array.from(document.images).filter(i => i.getBoundingClientRect().top < 860"
            " && i.offsetParent).every(i => i.complete && i.naturalWidth > 0)"
        )
        page.page.wait_for_timeout(600)  # cosmetic: Chromium's loading spinner fades out
        shots[name] = tmp_path / name
        page.page.screenshot(path=str(shots[name]), full_page=full_page)

    shoot("gallery-grid.png")
    shutil.copyfile(shots["gallery-grid.png"], tmp_path / "gallery.png")
    shots["gallery.png"] = tmp_path / "gallery.png"
    page.page.get_by_role("button", name="Table", exact=True).click()
    shoot("gallery-table.png")
    page.page.get_by_role("button", name="Grid", exact=True).click()
    page.open_viewer(BALANCING)
    page.js("() => rlvideoGallery.viewer().seek(180.5 / 50)")
    page.wait_paused_at()
    shoot("gallery-player.png")
    page.page.keyboard.press("Escape")
    page.page.locator("#pairs summary").click()
    page.page.locator("#pairs-list a").first.click()
    page.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare video'))"
        ".every(v => v.readyState >= 2)"
    )
    page.js("() => rlvideoGallery.compare().seek(0.25)")
    page.wait_paused_at("#compare video")
    shoot("gallery-compare.png")
    for shot in shots.values():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RLVIDEO_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        for name, shot in shots.items():
            shutil.copyfile(shot, DOCS / name)
