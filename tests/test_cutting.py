"""Step clips encoded once and cut: exact frames, timestamps from 0, failure handling."""

from __future__ import annotations

import numpy as np
import pytest

from rlvideo import save_video
from rlvideo.errors import InvalidFrameError
from tests.helpers import decode, folder_names, gradient_frames, rms


def _best_match(frame, frames):
    return int(np.argmin([rms(frame, f) for f in frames]))


@pytest.mark.parametrize("video_format", ["mp4", "webm"])
@pytest.mark.parametrize("video_length", [None, 1, 3, 7, 100])
def test_overlapping_clips_hold_exactly_their_frames(tmp_path, video_format, video_length):
    frames = gradient_frames(30)
    trigger = lambda s: s % 4 == 1  # noqa: E731
    paths = save_video(
        frames, tmp_path, step_trigger=trigger, video_length=video_length, fps=30,
        format=video_format, step_starting_index=0,
    )  # fmt: skip
    starts = [k + 1 for k in range(29) if trigger(k)]
    assert [p.name for p in paths] == [f"rl-video-step-{s - 1}.{video_format}" for s in starts]
    for path, start in zip(paths, starts, strict=True):
        stop = 30 if video_length is None else min(start + video_length, 30)
        video = decode(path)
        assert video.count == stop - start
        assert video.times[0] == pytest.approx(0.0, abs=1e-6)
        assert np.allclose(np.diff(video.times), 1 / 30, atol=1e-3) if video.count > 1 else True
        assert [_best_match(f, frames) for f in video.frames] == list(range(start, stop))
    assert folder_names(tmp_path) == {p.name for p in paths}, "no hidden temporary file is left"


def test_cut_clips_with_durations(tmp_path):
    durations = [0.1 * (i % 3 + 1) for i in range(12)]
    paths = save_video(
        gradient_frames(12), tmp_path, step_trigger=lambda s: s in (2, 4), video_length=4,
        durations=durations,
    )  # fmt: skip
    video = decode(paths[0])  # frames 3..6
    assert np.allclose(np.diff(video.times), durations[3:6], atol=1e-3)


def test_gif_step_clips_are_encoded_one_by_one(tmp_path):
    paths = save_video(
        gradient_frames(10),
        tmp_path,
        step_trigger=lambda s: s % 3 == 0,
        video_length=4,
        format="gif",
    )
    assert [decode(p).count for p in paths] == [4, 4, 3]


def test_bad_frame_midway_keeps_complete_clips_and_the_one_in_progress(tmp_path):
    frames = [*gradient_frames(12), np.zeros((5, 5, 3), np.uint8), *gradient_frames(5)]
    with pytest.raises(InvalidFrameError, match=r"has shape \(5, 5, 3\)"):
        save_video(frames, tmp_path, step_trigger=lambda s: s % 4 == 0, video_length=6)
    # clips start at frames 1, 5, 9, 13, 17; frame 12 is bad, so 12 frames were recorded
    assert folder_names(tmp_path) == {
        "rl-video-step-0.mp4",  # frames 1-6: complete
        "rl-video-step-4.mp4",  # frames 5-10: complete
        "rl-video-step-8.incomplete.mp4",  # frames 9-11 of 9-14
    }
    assert decode(tmp_path / "rl-video-step-0.mp4").count == 6
    assert decode(tmp_path / "rl-video-step-4.mp4").count == 6
    assert decode(tmp_path / "rl-video-step-8.incomplete.mp4").count == 3


def test_episode_video_beside_cut_step_clips(tmp_path):
    frames = gradient_frames(20)
    paths = save_video(
        frames, tmp_path, episode_trigger=lambda i: True, step_trigger=lambda s: s % 5 == 0
    )
    assert paths[0].name == "rl-video-episode-0.mp4"
    assert [decode(p).count for p in paths] == [20, 19, 14, 9, 4]
