"""save_video: gym's behaviour plus rlvideo's extensions, decoded and checked."""

from __future__ import annotations

import sys
import weakref

import numpy as np
import pytest

import rlvideo
from rlvideo import save_video
from rlvideo.errors import (
    InvalidArgumentError,
    InvalidFrameError,
    MissingDependencyError,
    VideoExistsError,
)
from tests.helpers import decode, folder_names, gradient_frames, rms, solid


def test_default_is_capped_cubic_episode_video_at_30_fps(tmp_path):
    frames = gradient_frames(12)
    assert save_video(frames, tmp_path, episode_index=8) == [tmp_path / "rl-video-episode-8.mp4"]
    assert save_video(frames, tmp_path, episode_index=9) == []
    video = decode(tmp_path / "rl-video-episode-8.mp4")
    assert (video.count, video.fps) == (12, 30.0)
    assert all(rms(a, b) < 6 for a, b in zip(frames, video.frames, strict=True))
    assert folder_names(tmp_path) == {"rl-video-episode-8.mp4"}


def test_positional_arguments_in_gyms_order(tmp_path):
    frames = gradient_frames(10)
    paths = save_video(frames, str(tmp_path), None, lambda s: s == 3, 4, "p", 0, 2, None, fps=10)
    assert [p.name for p in paths] == ["p-step-3.mp4"]
    video = decode(paths[0])
    assert video.count == 4
    assert rms(video.frames[0], frames[2]) < 6  # step 3 with start 2 is frame 2


def test_returns_absolute_paths_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = save_video(
        gradient_frames(8), "out", episode_trigger=lambda i: True,
        step_trigger=lambda s: s in (5, 1), fps=8,
    )  # fmt: skip
    assert [p.name for p in paths] == [
        "rl-video-episode-0.mp4", "rl-video-step-1.mp4", "rl-video-step-5.mp4",
    ]  # fmt: skip
    assert all(p.is_absolute() for p in paths)
    assert [decode(p).count for p in paths] == [8, 6, 2]


@pytest.mark.parametrize(("video_format", "codec"), [("webm", "vp9"), ("gif", "gif")])
def test_formats_change_suffix_and_codec(tmp_path, video_format, codec):
    paths = save_video(
        gradient_frames(5), tmp_path, episode_trigger=lambda i: True, format=video_format
    )
    assert paths == [tmp_path / f"rl-video-episode-0.{video_format}"]
    assert decode(paths[0]).codec == codec


def test_array_inputs(tmp_path):
    rgb = np.stack(gradient_frames(6))
    gray = rgb[..., 0]
    assert decode(save_video(rgb, tmp_path / "a", episode_index=0)[0]).count == 6
    assert decode(save_video(gray, tmp_path / "b", episode_index=0)[0]).count == 6


def test_generator_is_streamed_not_held(tmp_path):
    """An episode video from a generator never holds more than a few frames at once."""
    alive = 0
    most_alive = 0

    def forget():
        nonlocal alive
        alive -= 1

    def frames():
        nonlocal alive, most_alive
        for i in range(300):
            frame = solid(i % 256, 64, 64)
            weakref.finalize(frame, forget)
            alive += 1
            most_alive = max(most_alive, alive)
            yield frame

    paths = save_video(frames(), tmp_path, episode_trigger=lambda i: True)
    assert decode(paths[0]).count == 300
    assert most_alive <= 4


def test_generator_stops_at_video_length(tmp_path):
    consumed = 0

    def frames():
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield solid(i % 256)

    paths = save_video(frames(), tmp_path, episode_trigger=lambda i: True, video_length=10)
    assert decode(paths[0]).count == 10
    assert consumed == 10


def test_generator_with_step_trigger(tmp_path):
    paths = save_video((solid(i) for i in range(9)), tmp_path, step_trigger=lambda s: s % 4 == 0)
    assert [decode(p).count for p in paths] == [8, 4]


def test_durations_give_exact_timestamps(tmp_path):
    durations = [0.5, 0.25, 0.25, 1.0, 0.125]
    paths = save_video(
        gradient_frames(5), tmp_path, episode_trigger=lambda i: True, durations=durations
    )
    video = decode(paths[0])
    assert video.count == 5
    assert np.allclose(np.array(video.times) - video.times[0], [0, 0.5, 0.75, 1.0, 2.0], atol=1e-3)


def test_durations_follow_step_clips(tmp_path):
    durations = [0.1, 0.2, 0.3, 0.4, 0.5]
    paths = save_video(
        gradient_frames(5), tmp_path, step_trigger=lambda s: s == 1, durations=durations
    )
    video = decode(paths[0])  # frames 2, 3, 4
    assert np.allclose(np.diff(video.times), [0.3, 0.4], atol=1e-3)


def test_fractional_fps(tmp_path):
    paths = save_video(gradient_frames(30), tmp_path, episode_index=0, fps=29.97)
    assert decode(paths[0]).fps == pytest.approx(29.97, rel=1e-4)


def test_progress_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    save_video(gradient_frames(5), tmp_path, episode_index=0, save_logger="bar")
    assert "rl-video-episode-0.mp4:   0%|          | 0/5" in capsys.readouterr().err


def test_progress_bar_without_tqdm(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # what a missing package looks like
    with pytest.raises(MissingDependencyError, match=r'pip install "rlvideo\[progress\]"'):
        save_video(gradient_frames(2), tmp_path, episode_index=0, save_logger="bar")


def test_existing_name_checked_before_anything_is_written(tmp_path):
    (tmp_path / "rl-video-step-5.mp4").write_bytes(b"keep me")
    with pytest.raises(VideoExistsError, match=r"rl-video-step-5.mp4 already exists"):
        save_video(
            gradient_frames(10), tmp_path, step_trigger=lambda s: s in (0, 5), overwrite=False
        )
    assert folder_names(tmp_path) == {"rl-video-step-5.mp4"}
    assert (tmp_path / "rl-video-step-5.mp4").read_bytes() == b"keep me"
    paths = save_video(
        gradient_frames(10), tmp_path, step_trigger=lambda s: s in (0, 5), overwrite=True
    )
    assert [decode(p).count for p in paths] == [9, 4]


@pytest.mark.parametrize(
    ("frames", "kwargs", "error", "match"),
    [
        ([], {}, InvalidFrameError, "frames is empty"),
        (np.zeros((0, 4, 4, 3), np.uint8), {}, InvalidFrameError, "frames is empty"),
        (np.zeros((4, 6, 3), np.uint8), {}, InvalidFrameError, r"one image of shape \(4, 6, 3\)"),
        (
            [solid(0)],
            {"fps": 30, "durations": [1]},
            InvalidArgumentError,
            "fps or durations, not both",
        ),
        ([solid(0)] * 3, {"durations": [1, 1]}, InvalidArgumentError, "2 entries for 3 frames"),
        ([solid(0)], {"fps": 0}, InvalidArgumentError, "fps must be a finite number"),
        ([solid(0)], {"video_length": 0}, InvalidArgumentError, "video_length must be a positive"),
        ([solid(0)], {"video_length": -3}, InvalidArgumentError, "got -3"),
        ([solid(0)], {"name_prefix": "../up"}, InvalidArgumentError, "path separator"),
        ([solid(0)], {"format": "avi"}, InvalidArgumentError, "format 'avi'"),
        ([solid(0)], {"save_logger": "verbose"}, InvalidArgumentError, 'save_logger must be "bar"'),
        ([solid(0)], {"episode_index": 1.5}, InvalidArgumentError, "episode_index must be an int"),
        ([solid(0)], {"with_mask": True}, InvalidArgumentError, "'with_mask' \\(moviepy-only"),
        ([solid(0)], {"fsp": 30}, InvalidArgumentError, "unexpected keyword argument 'fsp'"),
        ([solid(0)], {"episode_trigger": "always"}, InvalidArgumentError, "must be a callable"),
        (
            [solid(0)],
            {"episode_trigger": lambda i: None},
            InvalidArgumentError,
            "must return a bool",
        ),
        ([solid(0), solid(0, 8, 8)], {}, InvalidFrameError, r"frame 1 has shape \(8, 8, 3\)"),
    ],
)
def test_bad_input_errors(tmp_path, frames, kwargs, error, match):
    kwargs.setdefault("episode_index", 0)
    with pytest.raises(error, match=match):
        save_video(frames, tmp_path / "out", **kwargs)
    left = folder_names(tmp_path / "out")
    if match.startswith("frame 1"):  # frame 0 was encoded: kept, and named as cut short
        assert left == {"rl-video-episode-0.incomplete.mp4"}
        assert decode(tmp_path / "out" / "rl-video-episode-0.incomplete.mp4").count == 1
    else:  # refused before anything was written
        assert left == set()


def test_bad_frame_mid_clip_leaves_only_an_incomplete_file(tmp_path):
    frames = [solid(0), solid(0), solid(0, 8, 8)]
    with pytest.raises(InvalidFrameError, match="frame 2 has shape"):
        save_video(frames, tmp_path, episode_index=0)
    assert folder_names(tmp_path) == {"rl-video-episode-0.incomplete.mp4"}
    assert decode(tmp_path / "rl-video-episode-0.incomplete.mp4").count == 2


def test_exported_from_package():
    assert rlvideo.save_video is save_video
    assert callable(rlvideo.save_video)
