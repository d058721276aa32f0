"""Step clips encoded once and cut: exact frames, timestamps from 0, failure handling."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

import av
import numpy as np
import pytest

import rlvideo.io.writer as encoder_module
from rlvideo import save_video
from rlvideo.errors import InvalidFrameError, StorageError
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


# -- a full disk, injected: from a chosen packet of the episode's stream on, every write fails --
@dataclass
class FullDisk:
    """``ENOSPC`` for every write once ``full``; the steps stream fills it at ``after`` packets."""

    after: int | None = None  # packets of the stream the clips are cut from; None: never
    at_close: bool = False  # full once that stream is being finished (its remux)
    stays_full: bool = True  # False: only that stream fails (a file size limit)
    full: bool = False

    def error(self) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def full_disk(monkeypatch):
    disk = FullDisk()
    mux, finish, open_ = encoder_module._Output._mux, encoder_module._Output.finish, av.open

    def failing_mux(self, frame):
        steps = ".steps-" in self.partial.name
        if steps and disk.after is not None and self.packets >= disk.after:
            disk.full = True
        if disk.full and (steps or disk.stays_full):
            raise disk.error()
        mux(self, frame)

    def failing_finish(self):
        if disk.at_close and ".steps-" in self.partial.name:
            disk.full = True
        return finish(self)

    def failing_open(file, mode="r", *args, **kwargs):
        if disk.full and disk.stays_full and mode == "w":
            raise disk.error()
        return open_(file, mode, *args, **kwargs)

    monkeypatch.setattr(encoder_module._Output, "_mux", failing_mux)
    monkeypatch.setattr(encoder_module._Output, "finish", failing_finish)
    monkeypatch.setattr(av, "open", failing_open)
    return disk


def distinct_frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """Smooth frames of which any two differ by 15 levels or more in a channel, everywhere.

    ``gradient_frames`` repeats its colours every 70 frames or so (frames 18 and 136 are 3 levels
    apart): a lossy encode under another load could make one look like the other.
    """
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for i in range(count):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = (i % 16) * 15 + x * 24 // width
        frame[..., 1] = y * 255 // (height - 1)
        frame[..., 2] = (i // 16) * 15 + 20
        frames.append(frame)
    return frames


STEP_FRAMES = distinct_frames(200)  # clips at frames 1-50, 51-100, 101-150, 151-199


def save_step_clips_on(folder):
    return save_video(STEP_FRAMES, folder, step_trigger=lambda s: s % 50 == 0, video_length=50)


def assert_holds_frames_from(path, start, tail=0):
    """The video holds ``STEP_FRAMES[start:]`` in order; its last ``tail`` frames may skip some
    (a stream cut short loses the B-frames whose later reference never reached the disk)."""
    video = decode(path)
    matched = [_best_match(f, STEP_FRAMES) for f in video.frames]
    whole = video.count - tail
    assert matched[:whole] == list(range(start, start + whole)), path.name
    assert matched == sorted(set(matched)), path.name  # increasing: no frame out of place
    return video.count


@pytest.mark.parametrize(
    ("after", "at_close"), [(120, False), (None, True)], ids=["mid-stream", "at-close"]
)
def test_step_clips_on_a_disk_that_stays_full(tmp_path, full_disk, after, at_close):
    """No room to cut a single clip: what was recorded is kept, visible, under the name of the
    first clip not saved, and the error names that file (never a hidden working file)."""
    full_disk.after, full_disk.at_close = after, at_close
    with pytest.raises(StorageError, match="no space left") as caught:
        save_step_clips_on(tmp_path)
    kept = tmp_path / "rl-video-step-0.incomplete.mp4"
    assert folder_names(tmp_path) == {kept.name}, "no hidden file left, nothing else"
    count = assert_holds_frames_from(kept, 1, tail=0 if after else 12)
    assert count >= (60 if after else 199 - 12)  # (at close: the encoder's last 11 frames)
    message = str(caught.value)
    assert str(kept) in message
    assert str(tmp_path / "rl-video-step-0.mp4") in message
    assert ".steps-" not in message
    assert "/." not in message, "the message names no hidden file"


def test_step_clips_when_only_the_stream_fails(tmp_path, full_disk):
    """The stream fails (a file size limit) at packet 140, about frame 150: the clips complete
    in what reached the disk are saved whole, the next one as ``.incomplete``."""
    full_disk.after, full_disk.stays_full = 140, False
    with pytest.raises(StorageError, match="no space left") as caught:
        save_step_clips_on(tmp_path)
    names = folder_names(tmp_path)
    finals = sorted(n for n in names if ".incomplete" not in n)
    [incomplete] = [n for n in names if ".incomplete" in n]
    assert finals == [f"rl-video-step-{s}.mp4" for s in (0, 50, 100)[: len(finals)]]
    assert len(finals) >= 2
    for name in finals:  # a file under a final name is complete: 50 frames, never fewer
        assert decode(tmp_path / name).count == 50, name
        assert_holds_frames_from(tmp_path / name, int(name.split("-")[-1][:-4]) + 1)
    step = 50 * len(finals)
    assert incomplete == f"rl-video-step-{step}.incomplete.mp4"
    assert 0 < assert_holds_frames_from(tmp_path / incomplete, step + 1) < 50
    message = str(caught.value)
    assert str(tmp_path / incomplete) in message
    assert ".steps-" not in message
    assert "/." not in message, "the message names no hidden file"


def test_ctrl_c_while_cutting_keeps_every_frame_visible(tmp_path, monkeypatch):
    """Ctrl-C once the stream is whole, while the clips are cut: the clips cut so far keep
    their names; the stream, holding every frame, is kept as the next clip's ``.incomplete``."""
    import rlvideo.io._cutting as cutting

    copy, copied = cutting._copy, []

    def interrupted(packet, pts, dts, cut):
        copied.append(cut.segment.path.name)
        if copied.count("rl-video-step-100.mp4") == 10:  # midway through the third clip
            raise KeyboardInterrupt
        copy(packet, pts, dts, cut)

    monkeypatch.setattr(cutting, "_copy", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_step_clips_on(tmp_path)
    assert folder_names(tmp_path) == {
        "rl-video-step-0.mp4", "rl-video-step-50.mp4", "rl-video-step-100.incomplete.mp4"
    }  # fmt: skip
    assert decode(tmp_path / "rl-video-step-50.mp4").count == 50
    assert assert_holds_frames_from(tmp_path / "rl-video-step-100.incomplete.mp4", 1) == 199
