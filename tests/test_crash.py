"""Crash safety of VideoWriter: a kill, an exception or Ctrl-C never leaves a broken final file.

- SIGKILL mid-video: nothing under the final name, a hidden partial file that ``recover``
  turns into ``<name>.incomplete.mp4``; videos finished before the kill are untouched.
- An exception or KeyboardInterrupt inside ``with``: it propagates, and what was recorded is
  kept as ``<name>.incomplete.<ext>``, never under the final name, with no hidden files left.
- An existing video is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from rlvideo import EncoderError, InvalidFrameError, VideoExistsError, VideoWriter, recover
from rlvideo.errors import StorageError
from rlvideo.io.recovery import find_partials
from tests.helpers import code_frame, code_of, decode

Frame = npt.NDArray[np.uint8]

MAX_MAE = 8.0  # per channel, 0-255 scale: lossy codecs stay well below this on solid colours


# -- shared helpers: decode with PyAV directly, never with rlvideo.probe -------------------------
def indexed_frame(i: int, height: int = 48, width: int = 64) -> Frame:
    """A solid frame whose colour encodes ``i`` (distinct for i < 64)."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = 4 * i % 256
    frame[..., 1] = (255 - 4 * i) % 256
    frame[..., 2] = 60 * (i % 4)
    return frame


def decode_frames(path: Path) -> list[Frame]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def mae(a: Frame, b: Frame) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def assert_frames_are_the_first_written(path: Path, count: int, height: int, width: int) -> None:
    decoded = decode_frames(path)
    assert len(decoded) == count, f"{path.name}: {len(decoded)} frames, expected {count}"
    for i, got in enumerate(decoded):
        assert got.shape == (height, width, 3)
        error = mae(got, indexed_frame(i, height, width))
        assert error < MAX_MAE, f"{path.name} frame {i}: MAE {error:.2f}"


def hidden_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


# -- SIGKILL -------------------------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from rlvideo import VideoWriter

    folder, height, width, ready_after, keep_writing = sys.argv[1:6]
    height, width, ready_after = int(height), int(width), int(ready_after)

    def indexed_frame(i):
        frame = np.empty((height, width, 3), np.uint8)
        frame[..., 0] = 4 * i % 256
        frame[..., 1] = (255 - 4 * i) % 256
        frame[..., 2] = 60 * (i % 4)
        return frame

    for name, count in (("a.mp4", 45), ("b.mp4", 17)):
        with VideoWriter(f"{folder}/{name}", fps=30) as writer:
            for i in range(count):
                writer.write(indexed_frame(i))

    with VideoWriter(f"{folder}/c.mp4", fps=30) as writer:
        i = 0
        while True:
            writer.write(indexed_frame(i % 64))
            i += 1
            if i == ready_after:
                print("ready", flush=True)
                if keep_writing != "yes":
                    sys.stdin.read()  # wait to be killed; the parent never writes
            if i > ready_after:
                print(i, flush=True)
            time.sleep(0.001)
    """
)


@pytest.mark.parametrize(
    ("height", "width", "keep_writing"),
    [
        pytest.param(64, 64, False, id="64x64-idle"),
        pytest.param(64, 64, True, id="64x64-writing"),
        pytest.param(240, 320, False, id="320x240-idle"),
        pytest.param(240, 320, True, id="320x240-writing"),
    ],
)
def test_sigkill_leaves_a_recoverable_partial(
    tmp_path: Path, height: int, width: int, keep_writing: bool
) -> None:
    ready_after = 63  # 2.1 s of video at 30 fps: at least two one-second fragments
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path),
            str(height),
            str(width),
            str(ready_after),
            "yes" if keep_writing else "no",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "ready\n", f"the child failed before recording c.mp4: {line!r}"
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    # every line printed after "ready" is a frame count reached; the write after it may be done
    counts = [int(n) for n in rest.split()]
    written = (max(counts) if counts else ready_after) + (1 if keep_writing else 0)

    assert not (tmp_path / "c.mp4").exists(), "nothing may appear under the final name"
    partials = find_partials(tmp_path)
    assert [p.name.split(".")[1:3] for p in partials] == [["c", "mp4"]]
    assert partials[0].name.startswith(".c.mp4.")
    assert partials[0].name.endswith(".partial.mp4")

    recovered = recover(partials[0])
    assert recovered == tmp_path / "c.incomplete.mp4"
    decoded = decode_frames(recovered)
    assert 0 < len(decoded) <= written
    assert all(frame.shape == (height, width, 3) for frame in decoded)
    for i, got in enumerate(decoded):  # the recovered frames are the first ones written
        assert mae(got, indexed_frame(i % 64, height, width)) < MAX_MAE, f"frame {i}"

    assert find_partials(tmp_path) == []
    assert hidden_files(tmp_path) == []
    assert_frames_are_the_first_written(tmp_path / "a.mp4", 45, height, width)
    assert_frames_are_the_first_written(tmp_path / "b.mp4", 17, height, width)
    assert sorted(os.listdir(tmp_path)) == ["a.mp4", "b.mp4", "c.incomplete.mp4"]


def test_sigkill_before_the_first_fragment_is_reported_and_removed(tmp_path: Path) -> None:
    """Killed after 20 frames, before the first one-second fragment: recover() says no frame
    had reached the disk, and removes the file (it holds the MP4 header at most)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "64", "64", "20", "no"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not (tmp_path / "c.mp4").exists()
    partials = find_partials(tmp_path)
    assert len(partials) == 1
    with pytest.raises(
        EncoderError,
        match=r"\.c\.mp4\.[0-9a-f]+\.partial\.mp4: no frame had been flushed to disk .*removed it",
    ):
        recover(partials[0])
    assert not (tmp_path / "c.incomplete.mp4").exists()
    assert hidden_files(tmp_path) == []  # nothing left behind
    assert sorted(os.listdir(tmp_path)) == ["a.mp4", "b.mp4"]


def record_then_write(path: Path, frames: int, last: object) -> None:
    """Write ``frames`` good frames inside ``with VideoWriter(...)``, then ``last``."""
    with VideoWriter(path, fps=30) as writer:
        for i in range(frames):
            writer.write(indexed_frame(i))
        writer.write(last)


# -- exceptions inside `with` --------------------------------------------------------------------
FORMATS = ["mp4", "webm", "gif"]


class SimulatedCrashError(Exception):
    pass


def record_then_raise(path: Path, frames: int, error: BaseException, **kwargs: object) -> None:
    """Write ``frames`` frames inside ``with VideoWriter(...)``, then raise ``error`` there."""
    with VideoWriter(path, fps=30, **kwargs) as writer:  # type: ignore[arg-type]
        for i in range(frames):
            writer.write(indexed_frame(i))
        raise error


@pytest.mark.parametrize("fmt", FORMATS)
def test_exception_keeps_the_frames_as_incomplete(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"run.{fmt}"
    with pytest.raises(SimulatedCrashError, match="env crashed"):
        record_then_raise(path, 40, SimulatedCrashError("env crashed"))
    assert not path.exists()
    kept = tmp_path / f"run.incomplete.{fmt}"
    assert os.listdir(tmp_path) == [kept.name]
    assert_frames_are_the_first_written(kept, 40, 48, 64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_keyboard_interrupt_keeps_the_frames_as_incomplete(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "videos" / f"run.{fmt}"
    with pytest.raises(KeyboardInterrupt, match="simulated Ctrl-C"):
        record_then_raise(path, 40, KeyboardInterrupt("simulated Ctrl-C"))
    assert not path.exists()
    assert os.listdir(path.parent) == [f"run.incomplete.{fmt}"]
    assert_frames_are_the_first_written(path.parent / f"run.incomplete.{fmt}", 40, 48, 64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_frame_mid_video_keeps_the_good_frames(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"run.{fmt}"
    with pytest.raises(InvalidFrameError, match=r"frame 40 has shape \(32, 64, 3\)"):
        record_then_write(path, 40, indexed_frame(40, height=32))
    assert not path.exists()
    assert os.listdir(tmp_path) == [f"run.incomplete.{fmt}"]
    assert_frames_are_the_first_written(tmp_path / f"run.incomplete.{fmt}", 40, 48, 64)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exception_before_any_frame_leaves_nothing(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    with (
        pytest.raises(SimulatedCrashError, match="reset failed"),
        VideoWriter(folder / f"run.{fmt}"),
    ):
        raise SimulatedCrashError("reset failed")
    assert os.listdir(folder) == []


def test_exception_before_any_frame_creates_no_folder(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet"
    with pytest.raises(SimulatedCrashError, match="reset failed"), VideoWriter(folder / "run.mp4"):
        raise SimulatedCrashError("reset failed")
    assert not folder.exists()


def test_a_second_incomplete_never_replaces_the_first(tmp_path: Path) -> None:
    path = tmp_path / "run.mp4"
    for frames in (10, 25, 7):
        with pytest.raises(SimulatedCrashError, match=f"after {frames}"):
            record_then_raise(path, frames, SimulatedCrashError(f"after {frames}"))
    assert sorted(os.listdir(tmp_path)) == [
        "run.incomplete-1.mp4",
        "run.incomplete-2.mp4",
        "run.incomplete.mp4",
    ]
    assert len(decode_frames(tmp_path / "run.incomplete.mp4")) == 10
    assert len(decode_frames(tmp_path / "run.incomplete-1.mp4")) == 25
    assert len(decode_frames(tmp_path / "run.incomplete-2.mp4")) == 7


def test_an_exception_after_a_recovered_kill_gets_the_next_incomplete_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "run.incomplete.mp4").write_bytes(b"the first incomplete, kept as it is")
    with pytest.raises(SimulatedCrashError, match="again"):
        record_then_raise(tmp_path / "run.mp4", 1, SimulatedCrashError("again"))
    assert (tmp_path / "run.incomplete.mp4").read_bytes() == b"the first incomplete, kept as it is"
    assert len(decode_frames(tmp_path / "run.incomplete-1.mp4")) == 1


# -- overwrite protection ------------------------------------------------------------------------
def write_video(path: Path, frames: int, **kwargs: object) -> None:
    with VideoWriter(path, fps=30, **kwargs) as writer:  # type: ignore[arg-type]
        for i in range(frames):
            writer.write(indexed_frame(i))


@pytest.mark.parametrize("fmt", FORMATS)
def test_existing_video_is_never_replaced_with_overwrite_false(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"run.{fmt}"
    write_video(path, 12)
    before = path.read_bytes()
    with pytest.raises(VideoExistsError, match=r"already exists.*overwrite=True"):
        VideoWriter(path, fps=30, overwrite=False)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]

    write_video(path, 30, overwrite=True)
    assert path.read_bytes() != before
    assert_frames_are_the_first_written(path, 30, 48, 64)
    assert os.listdir(tmp_path) == [path.name]


def test_video_exists_error_is_a_file_exists_error(tmp_path: Path) -> None:
    path = tmp_path / "run.mp4"
    path.write_bytes(b"not even a video")
    with pytest.raises(FileExistsError, match="already exists"):
        VideoWriter(path, overwrite=False)
    assert path.read_bytes() == b"not even a video"


def test_crash_while_overwriting_keeps_the_old_video(tmp_path: Path) -> None:
    path = tmp_path / "run.mp4"
    write_video(path, 12)
    before = path.read_bytes()
    with pytest.raises(SimulatedCrashError, match="mid-overwrite"):
        record_then_raise(path, 20, SimulatedCrashError("mid-overwrite"), overwrite=True)
    assert path.read_bytes() == before
    assert len(decode_frames(tmp_path / "run.incomplete.mp4")) == 20
    assert sorted(os.listdir(tmp_path)) == ["run.incomplete.mp4", "run.mp4"]


def test_name_taken_while_recording_keeps_both_videos(tmp_path: Path) -> None:
    """Another process claims the name after the writer started: close() must not replace it."""
    path = tmp_path / "run.mp4"
    writer = VideoWriter(path, fps=30)
    for i in range(15):
        writer.write(indexed_frame(i))
    path.write_bytes(b"written by another process")
    with pytest.raises(VideoExistsError, match=r"already exists.*kept as .*run\.incomplete\.mp4"):
        writer.close()
    assert path.read_bytes() == b"written by another process"
    assert len(decode_frames(tmp_path / "run.incomplete.mp4")) == 15
    assert hidden_files(tmp_path) == []


# -- a video cut short keeps a gap-free run of its first frames ----------------------------------
# x264 encodes a P-frame before the B-frames shown ahead of it: a fragment can end with a P-frame
# whose B-frames went into the next one. When that next fragment is lost (a kill, a full disk),
# the kept video must stop before the first missing frame, never show the P-frame after a gap.
GAP_FPS = 10  # one fragment a second: 10 frames
GAP_CUTS = range(23, 80)  # frames written when each snapshot is taken (the first fragment is in)
VARIABLE = (0.1, 0.05, 0.2, 0.1, 0.15, 0.05)  # seconds, per frame, in turn


def partial_snapshots(folder: Path, durations: list[float | None]) -> dict[int, Path]:
    """Record ``durations`` frames; after each count in :data:`GAP_CUTS`, copy the partial file.

    A kill at that point leaves exactly that file: a writer of small frames encodes and muxes
    in the caller's thread, and every fragment goes to the file as it is made. Each copy is
    ``folder/k<count>/<the partial's name>``.
    """
    writer = VideoWriter(folder / "v.mp4", fps=GAP_FPS)
    copies = {}
    for i, duration in enumerate(durations):
        writer.write(code_frame(i), duration=duration)
        if i + 1 in GAP_CUTS:
            (partial,) = folder.glob(".v.mp4.*.partial.mp4")
            (folder / f"k{i + 1}").mkdir()
            copies[i + 1] = folder / f"k{i + 1}" / partial.name
            copies[i + 1].write_bytes(partial.read_bytes())
    writer.abort()
    return copies


def kept_codes(path: Path) -> list[int]:
    return [code_of(frame) for frame in decode(path).frames]


def assert_gap_free(kept: dict[int, list[int]]) -> None:
    """Each video kept after ``count`` frames shows frames 0, 1, ... with none missing, and
    lost at most the second not yet in a fragment and x264's look-ahead (22 frames at 10 fps),
    its B-frames' frames and those it held back for them (x264's reorder depth, 2)."""
    gaps = {count: codes for count, codes in kept.items() if codes != list(range(len(codes)))}
    assert not gaps, "frames after a gap: " + "; ".join(
        f"cut after {count}: ...{codes[-4:]}" for count, codes in gaps.items()
    )
    short = {count: len(codes) for count, codes in kept.items() if len(codes) < count - 22 - 5}
    assert not short, f"too few frames kept: {short}"


@pytest.mark.parametrize("durations", ["constant", "variable"])
def test_recover_keeps_no_frame_after_a_missing_one(tmp_path: Path, durations: str) -> None:
    """recover() of a partial cut at each frame of 23-79 (failed before: cut after 23-31,
    frames ...[6, 7, 8, 11]; variable durations: ...[7, 8, 9, 11])."""
    seconds = [None] * 80 if durations == "constant" else [VARIABLE[i % 6] for i in range(80)]
    copies = partial_snapshots(tmp_path, seconds)  # type: ignore[arg-type]
    assert_gap_free({count: kept_codes(recover(copy)) for count, copy in copies.items()})


@pytest.mark.parametrize("room", ["room for a copy", "no room for a copy"])
def test_salvage_keeps_no_frame_after_a_missing_one(
    tmp_path: Path, room: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """salvage() after a full disk: the remuxed copy, or (no room for one) the partial file cut
    in place (failed before: frames ...[6, 7, 8, 11] after 23-31 frames)."""
    from rlvideo.io import recovery

    copies = partial_snapshots(tmp_path, [None] * 80)
    if room == "no room for a copy":

        def full_disk(source: Path, target: Path, **kwargs: object) -> int:
            raise StorageError(f"no space left while writing {target}")

        monkeypatch.setattr(recovery, "remux", full_disk)
    kept = {}
    for count, copy in copies.items():
        path = recovery.salvage(copy, copy.parent / "v.mp4")
        assert path == copy.parent / "v.incomplete.mp4"
        assert os.listdir(copy.parent) == ["v.incomplete.mp4"]
        kept[count] = kept_codes(path)
    assert_gap_free(kept)
