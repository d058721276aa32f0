"""Fixes from the review of issue 19: what a fault leaves in the video folder, decoded with PyAV.

1. A video kept as ``.incomplete`` after its encoder failed keeps its data track beside it.
2. A Ctrl-C while the recorder finishes a video (its track, its sidecar) waits until they are
   done; only the user's ``on_video_saved`` is interrupted at once.
4. Step clips with ``overwrite=None`` replace a file that was there when the run started, never
   one another process created meanwhile.
"""

from __future__ import annotations

import errno
import os
import signal
import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

import rlvideo.io._cutting
from rlvideo import RecordVideo, save_video
from rlvideo.cli.demo import balancing_policy
from rlvideo.errors import StorageError, VideoExistsError
from rlvideo.recording import _recorder
from tests.helpers import decode, folder_names, solid

FULL_DISK_AT = "RLVIDEO_TEST_FULL_DISK_AT"

FULL_DISK_SITE = f"""
import os
import signal
if os.environ.get("{FULL_DISK_AT}"):  # the encoder process's disk fills as its parent's would
    from tests.test_review_fixes import full_disk_at
    full_disk_at(int(os.environ["{FULL_DISK_AT}"]))
"""


def full_disk_at(frame: int) -> None:
    """Make the encoder's ``frame``-th write (1-based) in this process fail as on a full disk."""
    from rlvideo.io import writer as encoder

    write = encoder.VideoWriter.write_converted
    calls = 0

    def write_or_fail(self: encoder.VideoWriter, *args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == frame:
            error = OSError(errno.ENOSPC, "No space left on device")
            raise StorageError.from_os_error(error, self.path)
        write(self, *args, **kwargs)  # type: ignore[arg-type]

    encoder.VideoWriter.write_converted = write_or_fail  # type: ignore[method-assign]


def run_episode(env: RecordVideo) -> None:
    """One CartPole episode, then close ``env`` (which raises what a background video hit)."""
    try:
        obs, _ = env.reset(seed=0)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(balancing_policy(obs))
            done = terminated or truncated
    finally:
        env.close()


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_a_video_kept_after_a_full_disk_keeps_its_track(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoder: str
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(FULL_DISK_SITE))
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(repo)]))
    monkeypatch.setenv(FULL_DISK_AT, "20")
    from rlvideo.io import writer as encoder_module

    monkeypatch.setattr(
        encoder_module.VideoWriter, "write_converted", encoder_module.VideoWriter.write_converted
    )  # fmt: skip  (restored after)
    full_disk_at(20)  # the thread encoder's writes (the process one's are in its own process)
    folder = tmp_path / "videos"
    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=40),
        str(folder), episode_trigger=lambda e: True, encoder=encoder, track=True,
    )  # fmt: skip
    with pytest.raises(StorageError, match="no space left"):
        run_episode(env)
    kept = folder / "rl-video-episode-0.incomplete.mp4"
    track = folder / "rl-video-episode-0.incomplete.track.jsonl"
    assert folder_names(folder) == {kept.name, track.name}
    frames = decode(kept).count
    assert 1 <= frames < 20
    assert len(track.read_text().splitlines()) == frames


def record_short_episode(folder: Path, encoder: str, **options: Any) -> None:
    """One CartPole episode of 10 steps, recorded with its track; Ctrl-C may come through."""
    env = RecordVideo(
        gym.make("CartPole-v1", render_mode="rgb_array", max_episode_steps=10),
        str(folder), episode_trigger=lambda e: True, encoder=encoder, track=True, metadata=True,
        **options,
    )  # fmt: skip
    run_episode(env)


@pytest.mark.parametrize("encoder", ["process", "thread"])
def test_ctrl_c_while_a_video_is_finished_waits_for_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoder: str
) -> None:
    finish = _recorder._TrackFile.finish
    pressed = []

    def ctrl_c_then_finish(self: _recorder._TrackFile, video: Path, frames: int) -> Path:
        if not pressed:  # a real SIGINT, once, in the middle of the recorder's bookkeeping
            pressed.append(video)
            signal.raise_signal(signal.SIGINT)
        return finish(self, video, frames)

    monkeypatch.setattr(_recorder._TrackFile, "finish", ctrl_c_then_finish)
    folder = tmp_path / "videos"
    with pytest.raises(KeyboardInterrupt):
        record_short_episode(folder, encoder)
    assert pressed
    video = folder / "rl-video-episode-0.mp4"
    names = {video.name, "rl-video-episode-0.json", "rl-video-episode-0.track.jsonl"}
    assert folder_names(folder) == names  # published, nothing hidden left behind
    frames = decode(video).count
    assert frames == 11  # the reset's frame and one a step
    assert len((folder / "rl-video-episode-0.track.jsonl").read_text().splitlines()) == frames


def test_ctrl_c_in_on_video_saved_interrupts_it(tmp_path: Path) -> None:
    after = []

    def on_saved(path: object, meta: object) -> None:
        signal.raise_signal(signal.SIGINT)
        after.append(path)  # never reached: Ctrl-C goes through the user's callback at once

    folder = tmp_path / "videos"
    with pytest.raises(KeyboardInterrupt):
        record_short_episode(folder, "process", on_video_saved=on_saved)
    assert after == []
    assert decode(folder / "rl-video-episode-0.mp4").count == 11


STEP_CLIPS = {"rl-video-step-0.mp4": 10, "rl-video-step-10.mp4": 10, "rl-video-step-20.mp4": 4}


def save_step_clips(folder: Path) -> list[Path]:
    """25 frames (the reset's, then 24 steps) in clips of 10 from steps 0, 10 and 20, cut."""
    frames = [solid(8 * i) for i in range(25)]
    return save_video(
        frames, folder, step_trigger=lambda step: step % 10 == 0, video_length=10, fps=10
    )


def test_step_clips_keep_a_file_another_process_created_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "videos"
    theirs = folder / "rl-video-step-10.mp4"
    cut_segments = rlvideo.io._cutting.cut_segments

    def another_process_then_cut(*args: Any, **kwargs: Any) -> list[Path]:
        theirs.write_bytes(b"another process's video")  # after the names were checked
        return cut_segments(*args, **kwargs)

    monkeypatch.setattr(rlvideo.io._cutting, "cut_segments", another_process_then_cut)
    kept = folder / "rl-video-step-10.incomplete.mp4"
    with pytest.raises(VideoExistsError, match=str(kept)):
        save_step_clips(folder)
    assert theirs.read_bytes() == b"another process's video"
    assert decode(kept).count == 10
    for name in ("rl-video-step-0.mp4", "rl-video-step-20.mp4"):
        assert decode(folder / name).count == STEP_CLIPS[name]
    assert not [name for name in folder_names(folder) if name.startswith(".")]


def test_step_clips_replace_the_files_that_were_there_when_the_run_started(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "rl-video-step-10.mp4").write_bytes(b"the last run's video")
    save_step_clips(folder)
    saved = save_step_clips(folder)  # a re-run: every name is taken
    assert [path.name for path in saved] == list(STEP_CLIPS)
    assert folder_names(folder) == set(STEP_CLIPS)
    for name, count in STEP_CLIPS.items():
        assert decode(folder / name).count == count


def test_close_again_after_a_ctrl_c_in_close_keeps_the_interrupted_video_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording was cut off; a second Ctrl-C lands inside close() just before a video's
    abort is sent; close() called again must not publish that video under its final name."""
    import numpy as np

    from rlvideo.recording import _encoder
    from rlvideo.recording._recorder import Recorder

    recorder = Recorder(
        str(tmp_path), name_prefix="x", fps=10, format="mp4", codec=None, crf=None,
        overwrite=None, metadata=True, on_video_saved=None, keep_if=None, encoder="thread",
        env_id=None, track=True,
    )  # fmt: skip
    video = recorder.start("run", kind="episode", episode=0, first_step=0)
    for i in range(20):
        recorder.frame(video, np.full((48, 64, 3), 5 * i, np.uint8))
        recorder.step(video, 1.0, False, False)
    recorder.interrupt()  # a Ctrl-C escaped step()
    real_abort = _encoder.BackgroundEncoder.abort_video
    calls = []

    def abort_video(self: Any, video_id: int) -> None:
        calls.append(video_id)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the second Ctrl-C, just before the abort is sent
        real_abort(self, video_id)

    monkeypatch.setattr(_encoder.BackgroundEncoder, "abort_video", abort_video)
    with pytest.raises(KeyboardInterrupt):
        recorder.close()
    recorder.close()
    names = {path.name for path in tmp_path.iterdir()}
    assert "run.mp4" not in names, names
    assert "run.incomplete.mp4" in names, names
    assert not [name for name in names if name.startswith(".")], names
