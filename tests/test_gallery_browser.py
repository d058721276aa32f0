"""The gallery in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium).

The page is opened from disk (file://) and from a local HTTP server. Playwright downloads no
browser here: it launches the system's. Without /usr/bin/chromium the tests skip, except on CI
(``CI`` set), where .ci/run installs it and a missing browser is a failure.

``RLVIDEO_UPDATE_SCREENSHOT=1`` copies the screenshot to docs/gallery.png.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rlvideo import VideoWriter, probe
from rlvideo.demo import record_demo
from rlvideo.gallery import build_gallery
from rlvideo.metadata import VideoMetadata, sidecar_path
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
]
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "gallery.png"
ALL_VIDEOS_HAVE_METADATA = (
    "() => Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 1)"
)


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
    """A demo run (2 policies x 2 episodes, H.264 MP4 with sidecars) plus a VP9 WebM and a GIF."""
    folder = tmp_path_factory.mktemp("gallery")
    record_demo(folder, episodes=2)
    with VideoWriter(folder / "gradient.webm", fps=25) as writer:
        writer.write_batch(gradient_frames(30, 96, 128))
    sidecar_path(folder / "gradient.webm").write_text(
        VideoMetadata(
            path=str(folder / "gradient.webm"), kind="episode", episode=7, steps=29, frames=30,
            episode_return=-3.5, fps=25.0, codec="libvpx-vp9", env_id="Gradient-v0", seed=11,
        ).to_json(),
        encoding="utf-8",
    )  # fmt: skip
    with VideoWriter(folder / "pulse.gif", fps=10) as writer:
        writer.write_batch(gradient_frames(6, 48, 64)[::-1])
    build_gallery(folder, title="rlvideo demo: CartPole-v1")
    return folder


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
        """The file names of the rows, in page order, visible or not."""
        return list(
            self.page.eval_on_selector_all("tbody tr", "rows => rows.map(r => r.dataset.file)")
        )

    def visible_rows(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.file)"
            )
        )


@contextlib.contextmanager
def _open(browser: Any, url: str, *, local: tuple[str, ...]) -> Iterator[Visit]:
    """Open ``url`` once every player has its metadata; check console and requests after use."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: seen.errors.append(f"page error: {exc}"))
        page.on("request", lambda r: seen.requests.append(r.url))
        page.goto(url)
        page.wait_for_function(ALL_VIDEOS_HAVE_METADATA, timeout=15_000)
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


def _returns(gallery: Path) -> dict[str, float]:
    returns = {}
    for sidecar in gallery.glob("*.json"):
        meta = VideoMetadata.from_json(sidecar.read_text(encoding="utf-8"))
        returns[Path(meta.path).name] = meta.episode_return
    return returns


def test_every_video_loads_with_the_duration_probe_reads(visit: Visit, gallery: Path) -> None:
    players = visit.page.eval_on_selector_all(
        "video",
        "vs => vs.map(v => [v.getAttribute('src'), v.readyState, v.duration, v.error?.code])",
    )
    srcs = [src for src, *_ in players]
    assert sorted(srcs) == sorted(
        p.name for p in gallery.iterdir() if p.suffix in (".mp4", ".webm")
    )
    assert any(src.endswith(".mp4") for src in srcs)  # H.264: Debian's Chromium plays it
    assert any(src.endswith(".webm") for src in srcs)  # VP9
    for src, ready_state, duration, error in players:
        assert error is None, src
        assert ready_state >= 1, src
        assert duration == pytest.approx(probe(gallery / src).duration, abs=0.1), src
    fallbacks = visit.page.eval_on_selector_all(
        ".fallback", "ps => ps.filter(p => !p.hidden).length"
    )
    assert fallbacks == 0


def test_chromium_decodes_h264_frames(visit: Visit) -> None:
    """Metadata alone only needs the demuxer: play a short MP4 through to prove the decoder."""
    shortest = visit.page.eval_on_selector_all(
        "video[src$='.mp4']",
        """vs => {
            const v = vs.reduce((a, b) => (a.duration <= b.duration ? a : b));
            v.muted = true;
            v.play();
            return v.getAttribute('src');
        }""",
    )
    visit.page.wait_for_function(
        "src => document.querySelector(`video[src='${src}']`).ended", arg=shortest, timeout=10_000
    )
    decoded = visit.page.eval_on_selector(
        f"video[src='{shortest}']", "v => v.getVideoPlaybackQuality().totalVideoFrames"
    )
    assert decoded > 0


def test_header_click_sorts_rows_both_ways(visit: Visit, gallery: Path) -> None:
    returns = _returns(gallery)
    before = visit.rows()
    assert before == sorted(before)  # as built: by file name

    visit.page.get_by_role("button", name="Return").click()
    ascending = visit.rows()
    assert ascending != before
    with_return = [name for name in ascending if name in returns]
    assert [returns[n] for n in with_return] == sorted(returns[n] for n in with_return)
    assert ascending[len(with_return) :] == [
        n for n in before if n not in returns
    ]  # no return: last
    assert visit.page.locator("th[data-key=return]").get_attribute("aria-sort") == "ascending"

    visit.page.get_by_role("button", name="Return").click()
    descending = visit.rows()
    assert [returns[n] for n in descending if n in returns] == sorted(
        returns.values(), reverse=True
    )
    assert visit.page.locator("th[data-key=return]").get_attribute("aria-sort") == "descending"

    visit.page.get_by_role("button", name="Episode").click()
    episodes = visit.page.eval_on_selector_all(
        "tbody tr td[data-key=episode]", "cells => cells.map(c => c.dataset.sort)"
    )
    numbers = [int(e) for e in episodes if e]
    assert numbers == sorted(numbers)


def test_filter_hides_rows_that_do_not_match(visit: Visit) -> None:
    everything = visit.rows()
    box = visit.page.get_by_role("searchbox", name="Filter the videos")

    box.fill("random")
    shown = visit.visible_rows()
    assert shown
    assert all("random" in name for name in shown)
    assert set(everything) - set(shown) == {n for n in everything if "random" not in n}
    assert visit.page.locator("#shown").inner_text() == f"{len(shown)} of {len(everything)}"

    box.fill("cartpole-v1 truncated")  # every word must match, in any column
    assert visit.visible_rows() == [n for n in everything if "balancing" in n]

    box.fill("no such video")
    assert visit.visible_rows() == []
    assert visit.page.locator("#nomatch").is_visible()

    box.fill("")
    assert visit.visible_rows() == everything
    assert not visit.page.locator("#nomatch").is_visible()


def test_gif_plays_on_click(visit: Visit) -> None:
    image = visit.page.locator("a.gif img")
    assert image.get_attribute("src") == "posters/pulse.gif.png"
    visit.page.locator("a.gif").click()
    visit.page.wait_for_function(
        "() => { const i = document.querySelector('a.gif img'); "
        "return i.src.endsWith('pulse.gif') && i.complete && i.naturalWidth === 64; }"
    )


def test_screenshot(browser: Any, gallery: Path, tmp_path: Path) -> None:
    with _open(browser, (gallery / "index.html").as_uri(), local=("file://", "data:")) as visit:
        visit.page.wait_for_function(
            "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        visit.page.wait_for_timeout(1500)  # cosmetic: Chromium's loading spinner fades out
        shot = tmp_path / "gallery.png"
        visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RLVIDEO_UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


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
        page.goto((folder / "index.html").as_uri())
        player = page.locator(f"tr[data-file='{broken.name}']")
        page.wait_for_function(
            "name => document.querySelector(`tr[data-file='${name}'] video`).error !== null",
            arg=broken.name,
            timeout=10_000,
        )
        assert player.locator(".fallback").is_visible()
        assert player.locator(".fallback a").get_attribute("href") == broken.name
        assert player.locator("video").get_attribute("poster") == f"posters/{broken.name}.png"
        others = page.locator(".fallback:visible").count()
        assert others == 1
    finally:
        context.close()
