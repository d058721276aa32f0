"""The gallery's live text beside a burnt-in overlay, in Chromium (issue 20 part 4).

A video whose sidecar records an overlay (``"overlay": {"position", "band_height"}``) shows its
values in its own frames: the player and the compare view start with its live text hidden, so
the text is never there twice; a video without one keeps its live text, in a strip under the
picture, never on it. ``o`` (or the ``overlay`` box) switches the live text of every video on or
off. At 400 px the compare view shows each video whole in its column.

The browser, the page helpers and their checks (no console error, no request outside the
gallery's folder) are :mod:`tests.test_gallery_browser`'s; the videos are real CartPole episodes
on the same seed: with the default band, with a corner box, and without an overlay.
``RLVIDEO_UPDATE_SCREENSHOT=1`` copies docs/gallery-overlay-400.png (the compare view at 400 px).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_gallery_browser import (  # the module skips (or fails on CI) without Chromium
    DOCS,
    Visit,
    _data,
    _open,
    browser,  # noqa: F401 (a fixture, used by name)
)

gym = pytest.importorskip("gymnasium")
pytest.importorskip("PIL", reason='the overlay needs Pillow: pip install "rlvideo[overlay]"')

import rlvideo  # noqa: E402
from rlvideo.gallery import build_gallery  # noqa: E402
from rlvideo.overlay import Overlay  # noqa: E402

BAND = "band-episode-0.mp4"  # overlay=True: a band above the frame
CORNER = "corner-episode-0.mp4"  # a box inside the frame, top left
PLAIN = "plain-episode-0.mp4"  # no overlay: only the live text shows the values
HUD_SHOWN = "s => Array.from(document.querySelectorAll(s + ' .hud')).map(h => !h.hidden)"


@pytest.fixture(scope="module")
def overlays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three CartPole episodes on seed 0, each with a data track; one gallery."""
    folder = tmp_path_factory.mktemp("overlays")
    for prefix, overlay in (
        ("band", True),
        ("corner", Overlay(position="top-left")),
        ("plain", None),
    ):
        env = gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=40)
        env = rlvideo.RecordVideo(
            env, str(folder), name_prefix=prefix, metadata=True, track=True, overlay=overlay
        )
        env.reset(seed=0)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0 if env.unwrapped.state[2] < 0 else 1)
            done = terminated or truncated
        env.close()
    build_gallery(folder, title="overlays")
    return folder


@pytest.fixture
def page(browser: Any, overlays: Path) -> Iterator[Visit]:  # noqa: F811 (browser: the fixture)
    with _open(browser, (overlays / "index.html").as_uri(), local=("file://", "data:")) as seen:
        yield seen


def _overlay_box(visit: Visit, where: str) -> Any:
    return visit.page.locator(f"{where}-controls [data-act=overlay]")


def test_the_page_knows_which_videos_hold_their_own_text(overlays: Path) -> None:
    data = _data(overlays)
    band = Overlay().band_height(400, 600, {})
    assert data[BAND]["overlay"] == {"position": "top", "band_height": band}
    assert data[BAND]["height"] == 400 + band  # the env's 600x400 and the band above
    assert data[CORNER]["overlay"] == {"position": "top-left", "band_height": 0}
    assert data[CORNER]["height"] == 400
    assert data[PLAIN].get("overlay") is None
    assert all(data[name]["track"] for name in (BAND, CORNER, PLAIN))


@pytest.mark.parametrize(("name", "live"), [(BAND, False), (CORNER, False), (PLAIN, True)])
def test_the_player_shows_live_text_only_where_the_frames_have_none(
    page: Visit, name: str, live: bool
) -> None:
    page.open_viewer(name)
    assert page.js(HUD_SHOWN, "#viewer") == [live]
    assert _overlay_box(page, "#viewer").is_checked() == live
    page.page.keyboard.press("o")  # the user's switch: the other way
    assert page.js(HUD_SHOWN, "#viewer") == [not live]
    assert _overlay_box(page, "#viewer").is_checked() == (not live)
    if not live:  # asked for, the live text shows the track's values as for any video
        page.js("() => rlvideoGallery.viewer().seek(10.5 / rlvideoGallery.videos[0].sidecar_fps)")
        page.wait_paused_at()
        page.page.wait_for_function(
            "() => document.querySelector('#viewer .hud [data-field=step]')"
        )
        assert page.page.locator("#viewer .hud [data-field=frame]").inner_text() == "10"
    page.page.keyboard.press("o")
    assert page.js(HUD_SHOWN, "#viewer") == [live]


def test_compare_at_400px_draws_nothing_over_a_video_with_its_own_text(page: Visit) -> None:
    page.page.set_viewport_size({"width": 400, "height": 800})
    page.js("names => { location.hash = 'compare=' + names.join(','); }", [BAND, PLAIN])
    page.page.wait_for_function(
        "() => { const v = document.querySelectorAll('#compare video');"
        " return v.length === 2 && Array.from(v).every(x => x.readyState >= 2); }",
        timeout=15_000,
    )
    figures = page.page.locator("#compare figure")
    assert [figures.nth(i).get_attribute("data-file") for i in range(2)] == [BAND, PLAIN]
    assert page.js(HUD_SHOWN, "#compare figure") == [False, True]
    assert _overlay_box(page, "#compare").is_checked()  # on: for the video without its own
    # Every video is whole in its column, and no live text lies on any (the strip is below).
    layout = """() => Array.from(document.querySelectorAll('#compare figure')).map(f => {
        const v = f.querySelector('video').getBoundingClientRect();
        const s = f.querySelector('.stage').getBoundingClientRect();
        const covered = Array.from(document.querySelectorAll('#compare .hud'))
            .filter(h => !h.hidden).some(h => { const r = h.getBoundingClientRect();
                return r.left < v.right && r.right > v.left && r.top < v.bottom && r.bottom > v.top;
            });
        return [v.left >= s.left - 0.5 && v.right <= s.right + 0.5, covered];
    })"""
    assert page.js(layout) == [[True, False], [True, False]]
    page.page.keyboard.press("o")
    assert page.js(HUD_SHOWN, "#compare figure") == [False, False]
    page.page.keyboard.press("o")  # on for every video, as asked
    assert page.js(HUD_SHOWN, "#compare figure") == [True, True]


def test_screenshot_of_compare_at_400px(page: Visit, tmp_path: Path) -> None:
    """docs/gallery-overlay-400.png (``RLVIDEO_UPDATE_SCREENSHOT=1``): band and plain, compared."""
    page.page.set_viewport_size({"width": 400, "height": 800})
    page.js("names => { location.hash = 'compare=' + names.join(','); }", [BAND, PLAIN])
    page.page.wait_for_function(
        "() => { const v = document.querySelectorAll('#compare video');"
        " return v.length === 2 && Array.from(v).every(x => x.readyState >= 2); }",
        timeout=15_000,
    )
    page.js("() => rlvideoGallery.compare().seek(0.3)")
    page.wait_paused_at("#compare video")
    shot = tmp_path / "gallery-overlay-400.png"
    page.page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RLVIDEO_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / shot.name)
