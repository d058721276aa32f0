from __future__ import annotations

from pathlib import Path

import pytest

from rlvideo._core.naming import (
    check_format,
    check_name_prefix,
    clip_file_name,
    final_name_of_partial,
    format_from_path,
    incomplete_name,
    is_partial_name,
    partial_name,
)
from rlvideo.errors import InvalidArgumentError


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("rl-video", "episode", 0, "mp4"), "rl-video-episode-0.mp4"),
        (("run 1", "step", 1000, "webm"), "run 1-step-1000.webm"),
        (("x", "episode", 27, "gif"), "x-episode-27.gif"),
    ],
)
def test_clip_names(args, name):
    assert clip_file_name(*args) == name


@pytest.mark.parametrize("prefix", ["../up", "a/b", "a\\b", "..", ".", "", "nul\0"])
def test_prefix_cannot_leave_the_folder(prefix):
    with pytest.raises(InvalidArgumentError, match="name_prefix"):
        check_name_prefix(prefix)


@pytest.mark.parametrize("prefix", ["rl-video", "my run", "ünï", ".hidden-ok", "a..b"])
def test_plain_prefixes_accepted(prefix):
    assert check_name_prefix(prefix) == prefix


def test_formats():
    assert format_from_path("a/b.GIF") == "gif"
    with pytest.raises(InvalidArgumentError, match="format 'mkv' is not supported"):
        check_format("mkv")
    with pytest.raises(InvalidArgumentError, match="from its suffix"):
        format_from_path("movie.avi")


def test_partial_names_are_hidden_unique_and_reversible(tmp_path):
    final = tmp_path / "rl-video-episode-0.mp4"
    a, b = partial_name(final), partial_name(final)
    assert a != b
    assert a.name.startswith(".")
    assert a.suffix == ".mp4"
    assert is_partial_name(a)
    assert final_name_of_partial(a) == final
    assert not is_partial_name(final)
    with pytest.raises(InvalidArgumentError, match="not a partial file"):
        final_name_of_partial(final)


def test_incomplete_names():
    assert incomplete_name(Path("x.webm"), 0) == Path("x.incomplete.webm")
    assert incomplete_name(Path("x.webm"), 3) == Path("x.incomplete-3.webm")
