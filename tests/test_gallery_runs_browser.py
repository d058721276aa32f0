"""A gallery of many runs in Chromium, at 1400 and 400 px wide (issue 20, parts 2 and 5).

Reuses tests/test_gallery_browser.py's browser (Playwright driving Debian's Chromium) and its
skip rule. The fixture is a folder of 20 run folders: ``demo/`` (the CartPole demo: two runs,
one per policy, on seeds 0 and 1), ``ppo/`` and ``hand/`` (CartPole-v1, seeds 0 and 1),
``pendulum/sac/`` (Pendulum-v1, return near -500) and ``sweep/lr-01..15`` (Acrobot-v1).

``RLVIDEO_UPDATE_SCREENSHOT=1`` copies docs/gallery-runs-1400.png, gallery-runs-400.png and
gallery-runs-400-filters.png: this file is the script that makes them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlvideo.cli.demo import record_demo
from rlvideo.gallery import RUN_COLORS, build_gallery
from tests.gallery_fixtures import page_data, write_clip, write_runs
from tests.test_gallery_browser import (  # skips this module as it skips itself
    CHROMIUM,
    CHROMIUM_ARGS,
    DOCS,
    PAGE_READY,
    _QuietHandler,
    _Server,
)

from playwright import sync_api  # isort: skip (after the skip above)

SWEEP = [f"sweep/lr-{i:02d}" for i in range(1, 16)]
WIDE, NARROW = (1400, 900), (400, 800)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched as tests/test_gallery_browser.py launches it."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<tmp>/site/runs``: 20 runs in 3 envs, the gallery built in ``runs``."""
    root = tmp_path_factory.mktemp("site") / "runs"
    record_demo(root / "demo", episodes=1)
    write_runs(root, size=(96, 144))
    for i, run in enumerate(SWEEP):
        write_clip(
            root / run, "rl-video-episode-0.mp4", frames=6, size=(96, 144), track=False,
            env_id="Acrobot-v1", seed=i, reward_per_step=-100.0 + 4 * i,
        )  # fmt: skip
    build_gallery(root, title="runs")
    return root


@pytest.fixture(scope="module")
def site(runs: Path) -> Iterator[str]:
    """An HTTP server of the folder *above* ``runs``: the page is served from /runs/."""
    handler = functools.partial(_QuietHandler, directory=str(runs.parent))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="runs-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/runs/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def _open(browser: Any, root: str, size: tuple[int, int]) -> Iterator[Any]:
    """The page at ``root``; after use: no console error, nothing asked for outside ``root``."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    requests: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(root + "index.html")
        page.wait_for_function(PAGE_READY, timeout=15_000)
        yield page
        assert [url for url in requests if not url.startswith((root, "data:"))] == []
        assert errors == []
    finally:
        context.close()


def _loaded(page: Any, selector: str) -> None:
    page.wait_for_function(
        "s => { const v = Array.from(document.querySelectorAll(s));"
        " return v.length > 0 && v.every(x => x.readyState >= 2); }",
        arg=selector,
        timeout=15_000,
    )


# -- part 2: many runs, one page, links that work from anywhere --------------------------------
@pytest.mark.parametrize("served", ["moved folder", "http from above"])
def test_runs_play_and_compare_across_runs(
    browser: Any, runs: Path, tmp_path: Path, served: str, request: pytest.FixtureRequest
) -> None:
    if served == "moved folder":
        root = Path(shutil.copytree(runs, tmp_path / "elsewhere" / "copy")).as_uri() + "/"
    else:
        root = request.getfixturevalue("site")
    with _open(browser, root, WIDE) as page:
        names = page.eval_on_selector_all("#grid .card", "cs => cs.map(c => c.dataset.file)")
        assert "pendulum/sac/rl-video-episode-0.mp4" in names
        assert len(names) == len(page_data(runs / "index.html")["videos"])
        page.evaluate("() => { location.hash = 'v=' + 'pendulum/sac/rl-video-episode-0.mp4'; }")
        _loaded(page, "#viewer video")
        assert page.locator("#viewer-title").inner_text() == "pendulum/sac/rl-video-episode-0.mp4"
        page.keyboard.press("Escape")

        pairs = page.locator("#pairs-list li").all_text_contents()
        seed0 = next(item for item in pairs if item.startswith("seed 0 \N{MIDDLE DOT} CartPole"))
        for run in ("demo/cartpole-balancing", "demo/cartpole-random", "hand", "ppo"):
            assert f"{run} ep 0" in seed0
        page.locator("#pairs summary").click()
        page.locator("#pairs-list a", has_text="seed 0 \N{MIDDLE DOT} CartPole").click()
        _loaded(page, "#compare video")
        runs_shown = page.eval_on_selector_all(
            "#compare figure", "fs => fs.map(f => f.dataset.run)"
        )
        assert runs_shown == ["demo/cartpole-balancing", "demo/cartpole-random", "hand", "ppo"]
        files = page.eval_on_selector_all("#compare figure", "fs => fs.map(f => f.dataset.file)")
        assert files[2:] == ["hand/rl-video-episode-0.mp4", "ppo/rl-video-episode-0.mp4"]


# -- part 5: colours, plots per env, the narrow screen ------------------------------------------
COLOURS_IN_VIEWS = """() => {
    const colour = el => getComputedStyle(el).backgroundColor;
    const seen = {};
    const add = (view, run, value) => { (seen[run] = seen[run] || {})[view] = value; };
    document.querySelectorAll('#grid .card').forEach(c => add('grid', c.dataset.run,
        colour(c.querySelector('.swatch'))));
    document.querySelectorAll('#videos tbody tr').forEach(r => add('table', r.dataset.run,
        colour(r.querySelector('td[data-key=run] .swatch'))));
    document.querySelectorAll('#plot-legend span').forEach(s => add('legend', s.dataset.run,
        colour(s.querySelector('i'))));
    document.querySelectorAll('#plot circle.pt').forEach(c => add('plot', c.dataset.run,
        getComputedStyle(c).fill));
    return seen;
}"""


def _rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_each_run_keeps_one_distinct_colour_in_every_view(browser: Any, runs: Path) -> None:
    colours = page_data(runs / "index.html")["colors"]
    assert len(colours) == 20
    assert sorted(colours.values()) == sorted(RUN_COLORS)
    with _open(browser, runs.as_uri() + "/", WIDE) as page:
        seen = page.evaluate(COLOURS_IN_VIEWS)
        assert set(seen) == set(colours)
        for run, views in seen.items():
            assert set(views) == {"grid", "table", "legend", "plot"}, run
            assert set(views.values()) == {_rgb(colours[run])}, (run, views)
        for run in ("ppo", "sweep/lr-15"):
            video = f"{run}/rl-video-episode-0.mp4"
            page.evaluate("n => { location.hash = 'v=' + n; }", video)
            page.wait_for_function("n => rlvideoGallery.viewer() !== null", arg=video)
            swatch = page.eval_on_selector(
                "#viewer-swatch", "s => getComputedStyle(s).backgroundColor"
            )
            assert swatch == _rgb(colours[run])
        pair = "ppo/rl-video-episode-0.mp4,hand/rl-video-episode-0.mp4"
        page.evaluate("p => { location.hash = 'compare=' + p; }", pair)
        page.wait_for_function("() => document.querySelectorAll('#compare figure').length === 2")
        borders = page.eval_on_selector_all(
            "#compare figure", "fs => fs.map(f => getComputedStyle(f).borderTopColor)"
        )
        assert borders == [_rgb(colours["ppo"]), _rgb(colours["hand"])]


def _panel_points(page: Any) -> dict[str, list[tuple[str, float]]]:
    return dict(
        page.eval_on_selector_all(
            "#plot-panels figure",
            "fs => fs.map(f => [f.dataset.env || '', Array.from(f.querySelectorAll('circle.pt'))"
            ".map(c => [c.dataset.file, Number(c.getAttribute('cy'))])])",
        )
    )


def test_one_return_plot_per_env_or_one_normalised(browser: Any, runs: Path) -> None:
    videos = {v["file"]: v for v in page_data(runs / "index.html")["videos"]}
    with _open(browser, runs.as_uri() + "/", WIDE) as page:
        panels = _panel_points(page)
        assert sorted(panels) == ["Acrobot-v1", "CartPole-v1", "Pendulum-v1"]
        for env, points in panels.items():
            assert {videos[f]["env"] for f, _ in points} == {env}
        # CartPole's returns use the height of their own plot, not a sliver beside Pendulum's.
        cartpole = [cy for _, cy in panels["CartPole-v1"]]
        assert max(cartpole) - min(cartpole) > 100  # of a 200-unit-high panel
        assert page.locator("#plot-mode-label").is_visible()

        page.locator("#plot-mode").select_option("normalised")
        (points,) = _panel_points(page).values()
        assert len(points) == sum(len(p) for p in panels.values())
        heights = {f: cy for f, cy in points}
        for env in panels:
            inside = [f for f in heights if videos[f]["env"] == env]
            lowest = min(inside, key=lambda f: videos[f]["return"])
            highest = max(inside, key=lambda f: videos[f]["return"])
            if len(inside) == 1:  # one return: in the middle
                assert heights[lowest] == pytest.approx(100, abs=0.1)
                continue
            assert heights[lowest] == pytest.approx(190, abs=0.1)  # 0: the panel's bottom
            assert heights[highest] == pytest.approx(10, abs=0.1)  # 1: its top
        page.get_by_role("searchbox", name="Filter the videos").fill("run==ppo")
        dimmed = page.eval_on_selector_all("#plot circle.pt.out", "cs => cs.length")
        assert dimmed == len(points) - 2


def test_narrow_screen_shows_videos_first_and_folds_the_controls(browser: Any, runs: Path) -> None:
    count = len(page_data(runs / "index.html")["videos"])
    with _open(browser, runs.as_uri() + "/", NARROW) as page:
        first = page.locator("#grid .card").first.bounding_box()
        assert first["y"] + first["height"] / 2 < NARROW[1]  # a video on the first screen
        assert first["x"] >= 0
        assert first["x"] + first["width"] <= NARROW[0]
        assert not page.locator("#filter").is_visible()
        assert not page.locator("#facets").is_visible()
        plot = page.locator("#plot").bounding_box()
        assert plot["y"] > page.locator("#grid").bounding_box()["y"]  # after the videos
        toggle = page.get_by_role("button", name="Filters")
        assert toggle.get_attribute("aria-expanded") == "false"

        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        page.get_by_role("searchbox", name="Filter the videos").fill("run==ppo")
        shown = page.eval_on_selector_all(
            "#grid .card", "cs => cs.filter(c => !c.hidden).map(c => c.dataset.file)"
        )
        assert shown == ["ppo/rl-video-episode-0.mp4", "ppo/rl-video-episode-1.mp4"]
        toggle.click()
        assert not page.locator("#filter").is_visible()
        assert toggle.inner_text() == f"Filters \N{MIDDLE DOT} 2 of {count}"
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "filter"
        assert page.locator("#filter").is_visible()

    with _open(browser, runs.as_uri() + "/", WIDE) as page:
        assert not page.locator("#controls-toggle").is_visible()
        assert page.locator("#filter").is_visible()


def test_screenshots(browser: Any, runs: Path, tmp_path: Path) -> None:
    shots: dict[str, Path] = {}

    def shoot(page: Any, name: str) -> None:
        page.wait_for_function(
            "() => Array.from(document.images).filter(i => i.getBoundingClientRect().top <"
            " innerHeight && i.offsetParent).every(i => i.complete && i.naturalWidth > 0)"
        )
        page.wait_for_timeout(400)  # cosmetic: Chromium's loading spinner fades out
        shots[name] = tmp_path / name
        page.screenshot(path=str(shots[name]))

    with _open(browser, runs.as_uri() + "/", WIDE) as page:
        shoot(page, "gallery-runs-1400.png")
    with _open(browser, runs.as_uri() + "/", NARROW) as page:
        shoot(page, "gallery-runs-400.png")
        page.get_by_role("button", name="Filters").click()
        shoot(page, "gallery-runs-400-filters.png")
    for shot in shots.values():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("RLVIDEO_UPDATE_SCREENSHOT") == "1":
        for name, shot in shots.items():
            shutil.copyfile(shot, DOCS / name)
