"""show() and show_grid(): decode the embedded payload with PyAV, and run a real notebook."""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rlvideo import VideoWriter
from rlvideo import notebook as nb_module
from rlvideo.errors import (
    EncoderError,
    InvalidArgumentError,
    InvalidFrameError,
    MissingDependencyError,
    StorageError,
    VideoExistsError,
)
from rlvideo.notebook import Grid, Video, show, show_grid
from tests.helpers import decode, gradient_frames, rms, solid

TOLERANCE = {"mp4": 6.0, "webm": 9.0, "gif": 8.0}  # as in test_encoder: lossy codecs
PAYLOAD = re.compile(r'src="data:(?P<mime>[a-z]+/[a-z0-9]+);base64,(?P<b64>[A-Za-z0-9+/=]+)"')


def payloads(html: str) -> list[tuple[str, bytes]]:
    return [(m["mime"], base64.b64decode(m["b64"])) for m in PAYLOAD.finditer(html)]


def decode_bytes(data: bytes, folder: Path, suffix: str):
    path = folder / f"payload-{len(list(folder.iterdir()))}.{suffix}"
    path.write_bytes(data)
    return decode(path)


def write_video(path: Path, frames, fps: float = 30) -> Path:
    with VideoWriter(path, fps=fps) as writer:
        writer.write_batch(frames)
    return path


# -- frames in, video out --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("video_format", "mime", "tag"),
    [
        ("mp4", "video/mp4", "<video "),
        ("webm", "video/webm", "<video "),
        ("gif", "image/gif", "<img "),
    ],
)
def test_frames_round_trip_through_the_html(tmp_path, video_format, mime, tag):
    frames = gradient_frames(20, height=48, width=64)
    video = show(frames, fps=12, format=video_format)
    assert (video.format, video.mime) == (video_format, mime)
    html = video._repr_html_()
    assert html.count(tag) == 1
    [(found_mime, data)] = payloads(html)
    assert found_mime == mime
    assert data == video.data
    decoded = decode_bytes(data, tmp_path, video_format)
    assert decoded.count == 20
    assert (decoded.width, decoded.height) == (64, 48)
    if video_format != "gif":  # GIF delays are whole centiseconds
        assert decoded.fps == pytest.approx(12)
    for original, got in zip(frames, decoded.frames, strict=True):
        assert rms(original, got) < TOLERANCE[video_format]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda f: np.stack(f), id="NHWC-array"),
        pytest.param(lambda f: iter(f), id="iterator"),
        pytest.param(lambda f: (x for x in f), id="generator"),
        pytest.param(lambda f: tuple(f), id="tuple"),
    ],
)
def test_any_frame_sequence(tmp_path, make):
    frames = gradient_frames(7, height=32, width=40)
    decoded = decode_bytes(show(make(frames), fps=7).data, tmp_path, "mp4")
    assert decoded.count == 7
    assert (decoded.width, decoded.height) == (40, 32)
    assert rms(frames[3], decoded.frames[3]) < TOLERANCE["mp4"]


def test_grayscale_batch_and_odd_size(tmp_path):
    frames = np.full((5, 31, 45), 200, np.uint8)  # (N, H, W): grayscale; odd sizes get padded
    decoded = decode_bytes(show(frames).data, tmp_path, "mp4")
    assert decoded.count == 5
    assert (decoded.width, decoded.height) == (46, 32)
    assert abs(float(decoded.frames[0].mean()) - 200) < 3


def test_html_options():
    frames = [solid(90, 16, 16)] * 3
    html = show(frames, width=320, autoplay=True, loop=False)._repr_html_()
    assert "width: 320px" in html
    assert "max-width: 100%" in html
    assert "<video controls autoplay muted playsinline style=" in html
    assert " loop" not in html
    html = show(frames)._repr_html_()  # mediapy's show_video defaults: autoplay muted, loop
    assert "<video controls autoplay muted playsinline loop style=" in html
    assert "width:" not in html.replace("max-width:", "")
    html = show(frames, autoplay=False)._repr_html_()
    assert "<video controls loop style=" in html
    assert "autoplay" not in html


def test_title_above_the_video_and_escaped():
    html = show([solid(0, 16, 16)], title='a <b> & "c"')._repr_html_()
    assert "a &lt;b&gt; &amp; &quot;c&quot;" in html
    assert "<b>" not in html
    assert html.index("a &lt;b&gt;") < html.index("<video ")


def test_gif_title_is_escaped_in_alt_too():
    html = show([solid(0, 16, 16)], title="x<y & z", format="gif")._repr_html_()
    assert 'alt="x&lt;y &amp; z"' in html
    assert "x<y" not in html


def test_repr_is_short():
    video = show([solid(0, 16, 16)], title="t")
    assert re.fullmatch(r"<Video video/mp4, \d+(\.\d)? k?B, title='t'>", repr(video))


def test_nothing_left_in_the_temp_folder(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    show(gradient_frames(3))
    bad = [solid(0), solid(0), np.zeros((5, 5, 3), np.uint8)]  # shape changes at frame 2
    with pytest.raises(InvalidFrameError, match="frame 2"):
        show(bad)
    assert list(scratch.iterdir()) == []


# -- files in --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("video_format", "tag"), [("mp4", "<video "), ("webm", "<video "), ("gif", "<img ")]
)
def test_file_is_embedded_as_is(tmp_path, video_format, tag):
    path = write_video(tmp_path / f"run.{video_format}", gradient_frames(9), fps=15)
    for given in (path, str(path)):
        video = show(given, title="run")
        assert video.format == video_format
        assert video.data == path.read_bytes()
        html = video._repr_html_()
        assert html.count(tag) == 1
        [(_, data)] = payloads(html)
        decoded = decode_bytes(data, tmp_path, video_format)
        assert decoded.count == 9


def test_upper_case_suffix(tmp_path):
    path = write_video(tmp_path / "run.mp4", gradient_frames(3))
    path = path.rename(tmp_path / "RUN.MP4")
    assert show(path).format == "mp4"


@pytest.mark.parametrize(("source", "target"), [("mp4", "gif"), ("webm", "mp4"), ("gif", "mp4")])
def test_file_re_encoded_to_another_format(tmp_path, source, target):
    frames = gradient_frames(12)
    path = write_video(tmp_path / f"run.{source}", frames, fps=20)
    video = show(path, format=target)
    assert video.format == target
    decoded = decode_bytes(video.data, tmp_path, target)
    assert decoded.count == 12
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.times[-1] == pytest.approx(11 / 20, abs=0.011)  # the file's timing is kept
    assert rms(frames[5], decoded.frames[5]) < TOLERANCE[source] + TOLERANCE[target]


def test_same_format_given_explicitly_is_embedded_as_is(tmp_path):
    path = write_video(tmp_path / "run.webm", gradient_frames(4))
    assert show(path, format="webm").data == path.read_bytes()


# -- grids -----------------------------------------------------------------------------------
def test_grid_holds_every_video_and_title(tmp_path):
    runs = [gradient_frames(n, height=32, width=48) for n in (4, 5, 6)]
    titles = ["seed <0>", "a & b", "plain"]
    grid = show_grid(runs, titles=titles, columns=2, width=200, fps=8)
    assert isinstance(grid, Grid)
    assert len(grid) == 3
    html = grid._repr_html_()
    assert html.count("<video ") == 3
    cell = "max(160px, calc((100% - 1 * 12px) / 2))"
    assert f"grid-template-columns: repeat(auto-fill, minmax({cell}, 1fr))" in html
    assert "max-content" not in html  # no fixed total width: the grid fits the page
    assert "seed &lt;0&gt;" in html
    assert "a &amp; b" in html
    assert "seed <0>" not in html
    assert html.count("width: 200px") == 3
    counts = [decode_bytes(data, tmp_path, "mp4").count for _, data in payloads(html)]
    assert counts == [4, 5, 6]
    assert html.index("seed &lt;0&gt;") < html.index("a &amp; b") < html.index("plain")


def test_grid_mixes_paths_frames_and_videos(tmp_path):
    path = write_video(tmp_path / "a.gif", gradient_frames(3))
    made = show([solid(10)] * 2, title="kept")
    grid = show_grid([path, [solid(200)] * 4, made], columns=5)
    html = grid._repr_html_()
    assert html.count("<img ") == 1
    assert html.count("<video ") == 2
    assert "calc((100% - 2 * 12px) / 3)" in html  # never more columns than videos
    assert "kept" in html
    assert [v.title for v in grid.videos] == [None, None, "kept"]
    retitled = show_grid([made], titles=["new"])
    assert retitled.videos[0].title == "new"
    assert made.title == "kept"  # the given Video is not changed


def test_grid_gif_fallback():
    html = show_grid([[solid(0)], [solid(255)]], format="gif")._repr_html_()
    assert html.count('src="data:image/gif;base64,') == 2


def test_the_gif_fallback_is_scaled_down_to_a_sensible_width(tmp_path):
    frames = gradient_frames(4, 400, 600)  # CartPole's size
    gif = show(frames, format="gif")
    decoded = decode_bytes(gif.data, tmp_path, "gif")
    assert (decoded.width, decoded.height) == (nb_module.GIF_MAX_WIDTH, 320)
    assert decoded.count == 4
    assert len(gif.data) < len(show(frames, format="gif", width=600).data)  # smaller file
    wide = decode_bytes(show(frames, format="gif", width=600).data, tmp_path, "gif")
    assert (wide.width, wide.height) == (600, 400)  # width= asks for more: it gets it
    small = decode_bytes(show(gradient_frames(2, 48, 64), format="gif").data, tmp_path, "gif")
    assert (small.width, small.height) == (64, 48)  # never scaled up
    video = write_video(tmp_path / "run.mp4", frames)
    from_file = decode_bytes(show(video, format="gif").data, tmp_path, "gif")
    assert from_file.width == nb_module.GIF_MAX_WIDTH
    assert decode_bytes(show(video).data, tmp_path, "mp4").width == 600  # MP4 as it is


def test_the_grid_fits_the_page_in_a_browser(tmp_path):
    """Three 600-pixel videos: side by side on a wide page, wrapped and shrunk on a narrow one."""
    chromium = Path("/usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not chromium.exists():
        pytest.skip(f"{chromium} is missing: apt-get install chromium")
    grid = show_grid([gradient_frames(3, 400, 600)] * 3, columns=3)
    page_file = tmp_path / "grid.html"
    page_file.write_text(f"<!doctype html><body style='margin: 8px'>{grid._repr_html_()}</body>")
    layout = "() => [document.documentElement.scrollWidth, [...document.querySelectorAll('video')].map(v => [Math.round(v.getBoundingClientRect().left), Math.round(v.getBoundingClientRect().width)])]"  # noqa: E501
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            found = {}
            for viewport in (2000, 900, 300):
                page = browser.new_page(viewport={"width": viewport, "height": 800})
                page.goto(page_file.as_uri())
                found[viewport] = page.evaluate(layout)
                page.close()
        finally:
            browser.close()
    for viewport, (scroll_width, videos) in found.items():
        assert scroll_width <= viewport, (viewport, videos)  # nothing sticks out of the page
        assert all(left + width <= viewport for left, width in videos), (viewport, videos)
    assert [w for _, w in found[2000][1]] == [600, 600, 600]  # own width, never stretched
    assert len({left for left, _ in found[2000][1]}) == 3  # one row of three
    assert len({left for left, _ in found[900][1]}) == 3  # three shrunk columns
    assert all(w < 300 for _, w in found[900][1])
    assert len({left for left, _ in found[300][1]}) == 1  # one column on a phone


# -- errors ----------------------------------------------------------------------------------
def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(StorageError, match=r"cannot show '.*nowhere\.mp4': no such file"):
        show(tmp_path / "nowhere.mp4")


def test_folder_is_not_a_video(tmp_path):
    (tmp_path / "clips.mp4").mkdir()
    with pytest.raises(StorageError, match="is a folder"):
        show(tmp_path / "clips.mp4")


def test_unknown_suffix(tmp_path):
    (tmp_path / "run.avi").write_bytes(b"x")
    with pytest.raises(InvalidArgumentError, match=r"'.*run\.avi'.*not \.mp4, \.webm or \.gif"):
        show(tmp_path / "run.avi")


def test_file_that_is_not_a_video(tmp_path):
    (tmp_path / "fake.mp4").write_text("not a video")
    with pytest.raises(EncoderError, match=r"cannot read '.*fake\.mp4' as video"):
        show(tmp_path / "fake.mp4")


@pytest.mark.parametrize(
    "empty",
    [[], (), iter([]), np.zeros((0, 16, 16, 3), np.uint8)],
    ids=["list", "tuple", "iterator", "array"],
)
def test_no_frames(empty):
    with pytest.raises(InvalidFrameError, match="show\\(\\) got no frames; pass at least one"):
        show(empty)


def test_one_image_is_not_frames():
    with pytest.raises(InvalidFrameError, match=r"one image of shape \(48, 64, 3\).*image\[None\]"):
        show(solid(0))


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (42, "takes a video file's path or frames, got int 42"),
        (None, "got NoneType None"),
        (b"\x00\x00", "got bytes; for an encoded file's bytes use Video"),
    ],
)
def test_not_a_path_nor_frames(video, message):
    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        show(video)


def test_bad_array_rank():
    with pytest.raises(InvalidFrameError, match=r"shape \(2, 3, 4, 5, 3\)"):
        show(np.zeros((2, 3, 4, 5, 3), np.uint8))


@pytest.mark.parametrize("width", [0, -5, 1.5, "300px", True])
def test_bad_width(width):
    with pytest.raises(InvalidArgumentError, match=r"width \(CSS pixels\) must be a positive int"):
        show([solid(0)], width=width)
    with pytest.raises(InvalidArgumentError, match="width"):
        show_grid([[solid(0)]], width=width)


def test_bad_title_fps_and_format():
    with pytest.raises(InvalidArgumentError, match="title must be a string or None, got int 3"):
        show([solid(0)], title=3)
    with pytest.raises(InvalidArgumentError, match="fps must be a finite number above 0"):
        show([solid(0)], fps=0)
    with pytest.raises(InvalidArgumentError, match="format 'avi' is not supported"):
        show([solid(0)], format="avi")


@pytest.mark.parametrize("columns", [0, -1, 2.0, None, False])
def test_bad_columns(columns):
    with pytest.raises(InvalidArgumentError, match="columns must be a positive int"):
        show_grid([[solid(0)]], columns=columns)


def test_titles_must_match_the_videos():
    with pytest.raises(InvalidArgumentError, match="got 1 titles for 2 videos"):
        show_grid([[solid(0)], [solid(1)]], titles=["only one"])
    with pytest.raises(InvalidArgumentError, match="titles must be a sequence of strings"):
        show_grid([[solid(0)]], titles="ab")


def test_empty_grid():
    with pytest.raises(InvalidArgumentError, match="show_grid\\(\\) got no videos"):
        show_grid([])
    with pytest.raises(InvalidArgumentError, match="a grid needs at least one video"):
        Grid([])


def test_video_from_bytes_checks_its_arguments():
    with pytest.raises(InvalidArgumentError, match="needs the encoded file's bytes, got bytes b''"):
        Video(b"", "mp4")
    with pytest.raises(InvalidArgumentError, match="format 'mov' is not supported"):
        Video(b"x", "mov")  # type: ignore[arg-type]


# -- size warning ----------------------------------------------------------------------------
def test_big_embed_logs_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(nb_module, "EMBED_WARN_BYTES", 100)
    with caplog.at_level(logging.WARNING, logger="rlvideo.notebook"):
        show(gradient_frames(5))
        show_grid([gradient_frames(2), gradient_frames(2)])
    messages = [r.getMessage() for r in caplog.records if r.name == "rlvideo.notebook"]
    assert len(messages) == 2
    assert messages[0].startswith("embedding this video (")
    assert "as base64" in messages[0]
    assert "notebooks get slow" in messages[0]
    assert messages[1].startswith("embedding these 2 videos")


def test_small_embed_logs_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="rlvideo.notebook"):
        show(gradient_frames(5))
    assert not [r for r in caplog.records if r.name == "rlvideo.notebook"]


# -- save and display ------------------------------------------------------------------------
def test_save_round_trip(tmp_path):
    video = show(gradient_frames(6), fps=6)
    path = video.save(tmp_path / "sub" / "clip.mp4")
    assert path == tmp_path / "sub" / "clip.mp4"
    assert path.read_bytes() == video.data
    assert decode(path).count == 6
    assert sorted(p.name for p in path.parent.iterdir()) == ["clip.mp4"]  # no hidden leftovers
    with pytest.raises(VideoExistsError, match=r"already exists\. Pass overwrite=True"):
        video.save(path, overwrite=False)
    show([solid(0)]).save(path, overwrite=True)
    assert decode(path).count == 1


def test_save_refuses_a_mislabelling_suffix(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"cannot save gif data as .*clip\.mp4.*\.gif"):
        show([solid(0)], format="gif").save(tmp_path / "clip.mp4")


def test_display_uses_ipython(capsys):
    show([solid(0)], title="shown").display()
    assert "<Video video/mp4" in capsys.readouterr().out  # outside a kernel: the text repr
    show_grid([[solid(0)]]).display()
    assert "<Grid of 1 videos" in capsys.readouterr().out


def test_display_without_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    video = show([solid(0)])
    with pytest.raises(
        MissingDependencyError, match=r'needs IPython.display: pip install "rlvideo'
    ):
        video.display()


def test_show_never_imports_ipython():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        from rlvideo.notebook import show, show_grid
        html = show(np.zeros((3, 16, 16, 3), np.uint8))._repr_html_()
        html += show_grid([np.zeros((2, 16, 16, 3), np.uint8)])._repr_html_()
        assert "data:video/mp4;base64," in html
        print("IPython" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- a real notebook -------------------------------------------------------------------------
@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernelspec for this interpreter in a temporary Jupyter path; no user config is read."""
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path / "jupyter"
    write_kernel_spec(root / "data" / "kernels" / "rlvideo-test")
    monkeypatch.setenv("JUPYTER_PATH", str(root / "data"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(root / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's future paths, no warning
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's frozen-modules note
    return "rlvideo-test"


def test_executed_notebook_embeds_playable_videos(tmp_path, kernel_name):
    import nbclient
    import nbformat

    cells = [
        "import numpy as np\nfrom rlvideo.notebook import show, show_grid",
        textwrap.dedent(
            """
            frames = np.zeros((12, 48, 64, 3), np.uint8)
            frames[..., 0] = np.arange(64, dtype=np.uint8) * 3
            frames[..., 1] = np.arange(12, dtype=np.uint8)[:, None, None] * 20
            """
        ),
        'show(frames, fps=10, title="episode <1> & more")',
        'show_grid([frames, frames[::2]], titles=["all", "every other"], columns=2, fps=10)',
        'show(frames, fps=10, format="gif")',
        "import sys\nprint(sys.executable)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()

    def html_of(cell_index):
        [output] = [
            o for o in notebook.cells[cell_index].outputs if o.output_type == "execute_result"
        ]
        assert output.data["text/plain"].startswith(("<Video", "<Grid"))
        return output.data["text/html"]

    html = html_of(2)
    assert "episode &lt;1&gt; &amp; more" in html
    assert (
        html.count(
            "<video controls autoplay muted playsinline loop "
            'style="max-width: 100%; height: auto;" src="data:'
        )
        == 1
    )
    [(mime, data)] = payloads(html)
    assert mime == "video/mp4"
    decoded = decode_bytes(data, tmp_path, "mp4")
    assert decoded.count == 12
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.fps == pytest.approx(10)
    expected = np.zeros((48, 64, 3), np.uint8)
    expected[..., 0] = np.arange(64) * 3
    expected[..., 1] = 5 * 20
    assert rms(expected, decoded.frames[5]) < TOLERANCE["mp4"]

    html = html_of(3)
    assert "every other" in html
    grid = payloads(html)
    assert [mime for mime, _ in grid] == ["video/mp4", "video/mp4"]
    assert [decode_bytes(data, tmp_path, "mp4").count for _, data in grid] == [12, 6]

    [(mime, data)] = payloads(html_of(4))
    assert mime == "image/gif"
    assert decode_bytes(data, tmp_path, "gif").count == 12

    [printed] = notebook.cells[5].outputs
    assert printed.text.strip() == sys.executable  # the kernel ran this venv's Python
    for cell in notebook.cells:
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs
