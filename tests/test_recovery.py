"""``rlvideo recover``: every state a kill leaves, built exactly, then recovered and decoded.

Each state is made by the project's own writers in a child process that ``os._exit``s at the
injection point (a monkeypatched call), never by timing a signal:

- a partial file with no frame flushed (killed within a video's first second), beside others;
- a finished video stranded under its hidden ``.final.mp4`` name (killed before publish), or
  its ``.final.mp4`` cut short beside the finished partial (killed during the remux);
- a published video whose data track is still hidden (killed before the track was moved);
- a track one line short of its video (killed between the frame and its line).

``recover`` must keep everything recoverable, report each file in one line, and leave no hidden
file behind that it has not named.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import psutil
import pytest
from click.testing import CliRunner

from rlvideo import VideoWriter
from rlvideo.cli import cli
from rlvideo.errors import EncoderError
from rlvideo.io.recovery import recover
from tests.helpers import decode, folder_names

PYTHON = sys.executable


def shade(i: int) -> int:
    """The grey level of frame ``i``: distinct for i < 50."""
    return (20 + 5 * i) % 256


def assert_frames_are_the_first(path: Path, count: int) -> None:
    video = decode(path)
    assert video.count == count, f"{path.name}: {video.count} frames, expected {count}"
    for i, frame in enumerate(video.frames):
        assert abs(float(frame.mean()) - shade(i)) < 6, f"{path.name}: frame {i} is not frame {i}"


NOTHING_FLUSHED = (
    "no frame had been flushed to disk when its writer died (a video's first second, or less, "
    "is held in memory)"
)


def hidden(folder: Path) -> list[str]:
    return sorted(name for name in folder_names(folder) if name.startswith("."))


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def run_child(code: str, *args: object) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child; it must die by ``os._exit(9)`` at its injection point."""
    result = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 9, f"the child did not reach its injection point:\n{result.stderr}"
    return result


def invoke_recover(*paths: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["recover", *map(str, paths)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.splitlines()


# -- the children ----------------------------------------------------------------------------
KILLED_WRITER = """
    import os, sys
    import numpy as np
    from rlvideo import VideoWriter

    path, frames = sys.argv[1], int(sys.argv[2])
    writer = VideoWriter(path, fps=30)
    for i in range(frames):
        writer.write(np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8))
    os._exit(9)  # killed mid-video, before close()
"""

KILLED_BEFORE_PUBLISH = """
    import os, sys
    import numpy as np
    import rlvideo.io.writer
    from rlvideo import VideoWriter

    path, frames, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    real_remux = rlvideo.io.writer.remux

    def die_during_remux(source, target, **kwargs):
        real_remux(source, target, **kwargs)
        os.truncate(target, os.path.getsize(target) // 2)  # the copy cut short
        os._exit(9)

    def die(*args, **kwargs):
        os._exit(9)

    if where == "publish":
        rlvideo.io.writer.publish = die
    else:
        rlvideo.io.writer.remux = die_during_remux
    with VideoWriter(path, fps=30) as writer:
        for i in range(frames):
            writer.write(np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8))
"""

RECORDER = """
    import os, sys
    import numpy as np
    import psutil
    import rlvideo.recording._encoder
    import rlvideo.recording._recorder
    from rlvideo.recording._recorder import Recorder

    folder, encoder, frames, where = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

    def die(*args, **kwargs):
        os._exit(9)

    real_write = rlvideo.recording._encoder.BackgroundEncoder.write

    def write_then_die(self, video_id, frame, **kwargs):
        real_write(self, video_id, frame, **kwargs)
        if self._converters[video_id].count == frames:  # the last frame reached the worker
            self._transport.flush()
            while len(self._free) < self.slots:  # every frame reached the worker, and was encoded
                self._handle(self._transport.receive(block=True))
            for worker in psutil.Process().children(recursive=True):
                print(worker.pid, flush=True)
            os._exit(9)  # killed before the frame's track line

    if where == "track":
        rlvideo.recording._recorder._TrackFile.finish = die
    else:
        rlvideo.recording._encoder.BackgroundEncoder.write = write_then_die
    recorder = Recorder(
        folder, name_prefix="rl-video", fps=30, format="mp4", codec=None, crf=None,
        overwrite=False, metadata=True, on_video_saved=None, encoder=encoder, env_id=None,
        keep_if=None, track=True,
    )
    video = recorder.start("run", kind="episode", episode=0, first_step=0)
    for i in range(frames):
        recorder.frame(video, np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8))
        recorder.step(video, 1.0, False, False)
    recorder.stop(video)
    recorder.close()
"""


# -- 2. a partial with no frame flushed does not stop the folder --------------------------------
@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_a_partial_with_no_frame_flushed_is_reported_and_the_rest_recovered(
    tmp_path: Path, fmt: str
) -> None:
    run_child(KILLED_WRITER, tmp_path / "long.mp4", 75)  # 2.5 s: two complete fragments
    run_child(KILLED_WRITER, tmp_path / f"short.{fmt}", 5)  # killed within its first second
    (long_partial,) = (n for n in hidden(tmp_path) if n.startswith(".long."))
    (short_partial,) = (n for n in hidden(tmp_path) if n.startswith(".short."))

    code, lines = invoke_recover(tmp_path)

    assert code == 0, lines
    assert folder_names(tmp_path) == {"long.incomplete.mp4"}  # nothing hidden is left
    kept = decode(tmp_path / "long.incomplete.mp4").count
    assert 30 <= kept <= 75
    assert_frames_are_the_first(tmp_path / "long.incomplete.mp4", kept)
    assert lines == [
        f"recovered {tmp_path / long_partial} -> {tmp_path / 'long.incomplete.mp4'} "
        f"({kept} frames)",
        f"lost {tmp_path / short_partial}: no frame had been flushed to disk when its writer "
        "died (a video's first second, or less, is held in memory); removed it",
    ]


@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_an_empty_partial_of_any_format_is_reported_lost(tmp_path: Path, fmt: str) -> None:
    """0 bytes: what WebM and GIF writers left before they flushed as they write (issue 19)."""
    run_child(KILLED_WRITER, tmp_path / "long.mp4", 75)
    empty = tmp_path / f".empty.{fmt}.0123abcd.partial.{fmt}"
    empty.write_bytes(b"")
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"long.incomplete.mp4"}
    assert lines[0] == f"lost {empty}: {NOTHING_FLUSHED}; removed it"
    assert lines[1].startswith("recovered ")


def test_the_track_of_a_lost_video_is_removed_with_it_on_the_same_line(tmp_path: Path) -> None:
    run_child(KILLED_WRITER, tmp_path / "short.mp4", 5)
    (partial,) = hidden(tmp_path)
    (tmp_path / ".short.track.jsonl.0123abcd.writing").write_text('{"frame":0}\n' * 5)
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == set()
    assert lines == [
        f"lost {tmp_path / partial}: no frame had been flushed to disk when its writer died (a "
        "video's first second, or less, is held in memory); removed it and its data track "
        ".short.track.jsonl.0123abcd.writing (5 lines)"
    ]


def test_the_track_of_a_lost_video_never_goes_to_an_earlier_runs_video(tmp_path: Path) -> None:
    """An earlier run left short.incomplete.mp4 without a track (metadata=False); this run's
    video of the same name was lost: its track is removed with it, not given to the old one."""
    run_child(KILLED_WRITER, tmp_path / "short.mp4", 5)
    (partial,) = hidden(tmp_path)
    with VideoWriter(tmp_path / "short.incomplete.mp4", fps=30) as writer:  # the earlier run's
        for _ in range(3):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    (tmp_path / ".short.track.jsonl.0123abcd.writing").write_text('{"frame":0}\n' * 5)
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"short.incomplete.mp4"}  # and no track beside it
    assert len(lines) == 1
    assert lines[0].startswith(f"lost {tmp_path / partial}: ")
    assert lines[0].endswith(".short.track.jsonl.0123abcd.writing (5 lines)")


def test_an_unreadable_partial_is_kept_visible_as_damaged(tmp_path: Path) -> None:
    run_child(KILLED_WRITER, tmp_path / "good.mp4", 75)
    damaged = tmp_path / ".bad.mp4.0123abcd.partial.mp4"
    damaged.write_bytes(bytes(range(256)) * 40)  # not a video: perhaps a disk error
    code, lines = invoke_recover(tmp_path)
    assert code == 1, lines  # not everything could be recovered
    assert folder_names(tmp_path) == {"good.incomplete.mp4", "bad.damaged.mp4"}
    assert (tmp_path / "bad.damaged.mp4").read_bytes() == bytes(range(256)) * 40
    assert decode(tmp_path / "good.incomplete.mp4").count >= 30
    assert lines[0].startswith(f"damaged {damaged}: no frame can be read (")
    assert lines[0].endswith(f"); kept as {tmp_path / 'bad.damaged.mp4'}")
    assert lines[1].startswith("recovered ")


def test_recover_of_one_empty_partial_raises_and_removes_it(tmp_path: Path) -> None:
    run_child(KILLED_WRITER, tmp_path / "short.mp4", 5)
    (partial,) = hidden(tmp_path)
    with pytest.raises(EncoderError, match=r"no frame had been flushed .*removed it"):
        recover(tmp_path / partial)
    assert folder_names(tmp_path) == set()


# -- 3. a finished video stranded under a hidden name -------------------------------------------
def test_a_video_killed_before_publish_is_published(tmp_path: Path) -> None:
    run_child(KILLED_BEFORE_PUBLISH, tmp_path / "run.mp4", 40, "publish")
    (final,) = hidden(tmp_path)
    assert final.endswith(".final.mp4")
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert lines == [
        f"published {tmp_path / final} -> {tmp_path / 'run.mp4'} (40 frames, complete)"
    ]
    assert folder_names(tmp_path) == {"run.mp4"}
    assert_frames_are_the_first(tmp_path / "run.mp4", 40)


def test_a_stranded_video_never_replaces_a_file_that_took_its_name(tmp_path: Path) -> None:
    run_child(KILLED_BEFORE_PUBLISH, tmp_path / "run.mp4", 40, "publish")
    (tmp_path / "run.mp4").write_bytes(b"another process took the name")
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"run.mp4", "run.recovered.mp4"}
    assert (tmp_path / "run.mp4").read_bytes() == b"another process took the name"
    assert_frames_are_the_first(tmp_path / "run.recovered.mp4", 40)
    assert lines[0].endswith(
        f"-> {tmp_path / 'run.recovered.mp4'} (40 frames, complete; run.mp4 is taken)"
    )


def test_a_video_killed_during_its_final_remux_is_published_whole(tmp_path: Path) -> None:
    """The partial was finished (closed) before the remux began: it holds every frame."""
    run_child(KILLED_BEFORE_PUBLISH, tmp_path / "run.mp4", 40, "remux")
    assert sorted(name.rsplit(".", 2)[1] for name in hidden(tmp_path)) == ["final", "partial"]
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"run.mp4"}
    assert_frames_are_the_first(tmp_path / "run.mp4", 40)
    assert len(lines) == 1
    assert lines[0].startswith(f"published {tmp_path / '.run.mp4.'}")
    assert lines[0].endswith(f".partial.mp4 -> {tmp_path / 'run.mp4'} (40 frames, complete)")


def test_a_track_left_hidden_after_its_video_was_published_is_given_to_it(tmp_path: Path) -> None:
    run_child(RECORDER, tmp_path, "thread", 20, "track")
    (track,) = hidden(tmp_path)
    assert track.startswith(".run.track.jsonl.")
    assert track.endswith(".writing")
    assert folder_names(tmp_path) == {"run.mp4", track}  # published, with no sidecar nor track
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"run.mp4", "run.track.jsonl"}
    records = [json.loads(line) for line in read_lines(tmp_path / "run.track.jsonl")]
    assert [r["frame"] for r in records] == list(range(20))
    assert [r["step"] for r in records] == list(range(20))
    assert_frames_are_the_first(tmp_path / "run.mp4", 20)
    assert lines == [f"recovered {tmp_path / track} -> {tmp_path / 'run.track.jsonl'} (20 lines)"]


# -- 7. a track one line short of its video -----------------------------------------------------
def test_a_kill_between_a_frame_and_its_track_line_leaves_them_agreeing(tmp_path: Path) -> None:
    """The process worker keeps the 12 frames it was handed; the track got 11 lines: recover
    ends it with a line that marks frame 11 as missing, so the two agree, frame by frame."""
    result = run_child(RECORDER, tmp_path, "process", 12, "frame")
    workers = []
    for pid in result.stdout.split():
        with contextlib.suppress(psutil.NoSuchProcess):  # ended already
            workers.append(psutil.Process(int(pid)))
    _, alive = psutil.wait_procs(workers, timeout=60)  # the worker keeps the video, then ends
    assert not alive
    (track,) = hidden(tmp_path)
    assert len(read_lines(tmp_path / track)) == 11
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"run.incomplete.mp4", "run.incomplete.track.jsonl"}
    assert_frames_are_the_first(tmp_path / "run.incomplete.mp4", 12)
    records = [json.loads(line) for line in read_lines(tmp_path / "run.incomplete.track.jsonl")]
    assert [r["frame"] for r in records] == list(range(12))
    assert [r["step"] for r in records[:11]] == list(range(11))
    assert records[11] == {"frame": 11, "missing": True}
    assert lines == [
        f"recovered {tmp_path / track} -> {tmp_path / 'run.incomplete.track.jsonl'} (12 lines; "
        "frame 11 had no line: marked missing)"
    ]


def test_a_track_shorter_than_its_video_gets_marked_gap_lines(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "run.mp4", fps=30)
    for i in range(12):
        writer.write(np.full((48, 64, 3), shade(i), np.uint8))
    assert writer.abort() == tmp_path / "run.incomplete.mp4"
    line = '{{"frame":{0},"episode":0,"step":{0},"reward":1.0,"return":{0}.0}}\n'
    hidden_track = tmp_path / ".run.track.jsonl.0123abcd.writing"
    hidden_track.write_text("".join(line.format(i) for i in range(10)))
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    records = [json.loads(line) for line in read_lines(tmp_path / "run.incomplete.track.jsonl")]
    assert len(records) == decode(tmp_path / "run.incomplete.mp4").count == 12
    assert records[9] == {"frame": 9, "episode": 0, "step": 9, "reward": 1.0, "return": 9.0}
    assert records[10:] == [{"frame": 10, "missing": True}, {"frame": 11, "missing": True}]
    assert lines == [
        f"recovered {hidden_track} -> {tmp_path / 'run.incomplete.track.jsonl'} (12 lines; "
        "frames 10-11 had no line: marked missing)"
    ]


def test_recover_folder_reports_every_file(tmp_path: Path) -> None:
    from rlvideo.io.recovery import recover_folder

    run_child(KILLED_WRITER, tmp_path / "a.mp4", 75)
    run_child(KILLED_WRITER, tmp_path / "b.mp4", 5)
    outcomes = recover_folder(tmp_path)
    assert [o.status for o in outcomes] == ["recovered", "lost"]
    assert [o.ok for o in outcomes] == [True, True]
    assert outcomes[0].kept == tmp_path / "a.incomplete.mp4"
    assert outcomes[1].kept is None
    assert hidden(tmp_path) == []


# -- an aborted video is never published as complete (F1) --------------------------------------
ABORTED = """
    import os, sys
    import numpy as np
    import rlvideo.io.writer
    from rlvideo import VideoWriter

    path, frames, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    real_remux = rlvideo.io.writer.remux

    def die_after_remux(source, target, **kwargs):
        real_remux(source, target, **kwargs)
        os._exit(9)  # the copy is whole; the partial is not removed yet

    def die(*args, **kwargs):
        os._exit(9)

    if where == "keep":
        rlvideo.io.writer.keep_as_incomplete = die
    else:
        rlvideo.io.writer.remux = die_after_remux
    writer = VideoWriter(path, fps=30)
    for i in range(frames):
        writer.write(np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8))
    writer.abort()  # stopped early (an exception, Ctrl-C): never the final name
"""


@pytest.mark.parametrize("where", ["keep", "remux"])
def test_an_aborted_video_killed_before_it_was_kept_stays_incomplete(
    tmp_path: Path, where: str
) -> None:
    run_child(ABORTED, tmp_path / "run.mp4", 40, where)
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"run.incomplete.mp4"}, lines
    assert_frames_are_the_first(tmp_path / "run.incomplete.mp4", 40)
    assert len(lines) == 1
    assert lines[0].startswith("recovered "), lines
    assert lines[0].endswith(f"-> {tmp_path / 'run.incomplete.mp4'} (40 frames)")


# -- a live writer's finished file is never taken by a recover run beside it (F2) ---------------
PAUSED_BEFORE_PUBLISH = """
    import sys
    import numpy as np
    import rlvideo.io.writer
    from rlvideo import VideoWriter

    path, how = sys.argv[1], sys.argv[2]
    name = "publish" if how == "close" else "keep_as_incomplete"
    real = getattr(rlvideo.io.writer, name)

    def pause_then(*args, **kwargs):
        print("paused", flush=True)
        sys.stdin.readline()  # the test runs `rlvideo recover` meanwhile
        return real(*args, **kwargs)

    setattr(rlvideo.io.writer, name, pause_then)
    writer = VideoWriter(path, fps=30)
    for i in range(40):
        writer.write(np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8))
    print(writer.close() if how == "close" else writer.abort(), flush=True)
"""


@pytest.mark.parametrize("how", ["close", "abort"])
@pytest.mark.parametrize("fmt", ["mp4", "webm", "gif"])
def test_recover_leaves_a_finished_video_its_live_writer_is_about_to_publish(
    tmp_path: Path, fmt: str, how: str
) -> None:
    child = subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(PAUSED_BEFORE_PUBLISH), str(tmp_path / f"run.{fmt}"), how],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline() == "paused\n", child.stderr and child.stderr.read()
        before = hidden(tmp_path)
        assert len(before) == 1, before  # the finished file, between its partial and its name

        code, lines = invoke_recover(tmp_path)

        assert (code, lines) == (0, ["no partial files found: nothing to recover"])
        assert hidden(tmp_path) == before
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0, err
    name = f"run.{fmt}" if how == "close" else f"run.incomplete.{fmt}"
    assert out.strip() == str(tmp_path / name)
    assert folder_names(tmp_path) == {name}
    assert_frames_are_the_first(tmp_path / name, 40)


def test_a_stranded_video_whose_name_holds_a_stage_word_keeps_its_name(tmp_path: Path) -> None:
    """Only the stage tag changes from partial to final, never the same word in the name."""
    run_child(KILLED_BEFORE_PUBLISH, tmp_path / "my.partial.mp4", 40, "publish")
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"my.partial.mp4"}
    assert_frames_are_the_first(tmp_path / "my.partial.mp4", 40)


# -- step clips: the stream they are cut from is recovered visible (F5) -------------------------
STEP_CLIPS = """
    import os, sys
    import numpy as np
    import rlvideo.io._cutting
    import rlvideo.io.writer
    from rlvideo import save_video

    folder, where = sys.argv[1], sys.argv[2]
    frames = [np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8) for i in range(50)]

    def die(*args, **kwargs):
        os._exit(9)

    if where == "encoding":  # killed while the stream is encoded, after 40 frames
        real_write = rlvideo.io.writer.VideoWriter.write

        def write(self, frame, **kwargs):
            if self.frames_written == 40:
                os._exit(9)
            real_write(self, frame, **kwargs)

        rlvideo.io.writer.VideoWriter.write = write
    elif where == "cutting":  # killed while cutting, once rl-video-step-0.mp4 was saved
        real_copy = rlvideo.io._cutting._copy

        def copy(packet, pts, dts, cut):
            real_copy(packet, pts, dts, cut)
            if cut.segment.path.name == "rl-video-step-20.mp4":
                os._exit(9)

        rlvideo.io._cutting._copy = copy
    elif where == "cutting-after-failure":  # a bad frame 45, then killed cutting what was kept
        frames[45] = np.zeros((8, 8, 3), np.uint8)
        rlvideo.io._cutting.cut_segments = die
    elif where == "keeping-incomplete":  # every clip cut; killed keeping the last, cut short
        frames[45] = np.zeros((8, 8, 3), np.uint8)
        rlvideo.io._cutting.keep_as_incomplete = die
    # clips start at frames 1, 11, 21, 31, 41 (named after steps 0, 10, ...), 20 frames each
    save_video(frames, folder, step_trigger=lambda s: s % 10 == 0, video_length=20, fps=30)
"""


def assert_frames_from(path: Path, first: int, count: int) -> None:
    video = decode(path)
    assert video.count == count, f"{path.name}: {video.count} frames, expected {count}"
    for i, frame in enumerate(video.frames):
        assert abs(float(frame.mean()) - shade(first + i)) < 6, f"{path.name}: frame {i}"


def test_step_clips_killed_while_encoding_keep_their_stream_visible(tmp_path: Path) -> None:
    run_child(STEP_CLIPS, tmp_path, "encoding")
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {"rl-video-step-0.steps.incomplete.mp4"}, lines
    kept = decode(tmp_path / "rl-video-step-0.steps.incomplete.mp4").count
    assert 10 <= kept <= 40  # the promise: all but the last second (30 frames) or so
    assert_frames_from(tmp_path / "rl-video-step-0.steps.incomplete.mp4", 1, kept)
    assert len(lines) == 1
    assert lines[0].startswith(f"recovered {tmp_path / '..rl-video-step-0.steps-'}"), lines
    assert lines[0].endswith(
        f"-> {tmp_path / 'rl-video-step-0.steps.incomplete.mp4'} ({kept} frames: the stream "
        "the step clips from rl-video-step-0.mp4 on are cut from, from that clip's first frame)"
    ), lines


def test_step_clips_killed_while_cutting_keep_the_saved_clips_and_the_stream(
    tmp_path: Path,
) -> None:
    run_child(STEP_CLIPS, tmp_path, "cutting")
    assert any(".cutting." in name for name in hidden(tmp_path)), hidden(tmp_path)
    code, lines = invoke_recover(tmp_path)
    assert code == 0, lines
    assert folder_names(tmp_path) == {
        "rl-video-step-0.mp4",  # cut before the kill
        "rl-video-step-0.steps.incomplete.mp4",  # every frame recorded, from frame 1 on
    }, lines
    assert_frames_from(tmp_path / "rl-video-step-0.mp4", 1, 20)
    assert_frames_from(tmp_path / "rl-video-step-0.steps.incomplete.mp4", 1, 49)
    removed = [line for line in lines if line.startswith("removed ")]
    assert len(removed) == len(lines) - 1 == 2, lines  # the clips being cut: 10 and 20
    assert all("a clip being cut from the stream of step clips" in line for line in removed)


PAUSED_WHILE_CUTTING = """
    import sys
    import numpy as np
    import rlvideo.io._cutting
    from rlvideo import save_video

    folder = sys.argv[1]
    frames = [np.full((48, 64, 3), (20 + 5 * i) % 256, np.uint8) for i in range(50)]
    real_copy = rlvideo.io._cutting._copy
    paused = []

    def copy(packet, pts, dts, cut):
        real_copy(packet, pts, dts, cut)
        if cut.segment.path.name == "rl-video-step-20.mp4" and not paused:
            paused.append(True)
            print("paused", flush=True)
            sys.stdin.readline()  # the test runs `rlvideo recover` meanwhile

    rlvideo.io._cutting._copy = copy
    paths = save_video(frames, folder, step_trigger=lambda s: s % 10 == 0, video_length=20, fps=30)
    print(" ".join(path.name for path in paths), flush=True)
"""


def test_recover_leaves_the_stream_and_clips_of_a_live_save_video_alone(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(PAUSED_WHILE_CUTTING), str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline() == "paused\n", child.stderr and child.stderr.read()
        before = hidden(tmp_path)
        assert len(before) == 3, before  # the stream, and clips 10 and 20 being cut

        code, lines = invoke_recover(tmp_path)

        assert (code, lines) == (0, ["no partial files found: nothing to recover"])
        assert hidden(tmp_path) == before
        child.stdin.write("go\n")
        child.stdin.flush()
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0, err
    names = [f"rl-video-step-{step}.mp4" for step in (0, 10, 20, 30, 40)]
    assert out.split() == names
    assert folder_names(tmp_path) == set(names)
    for step, name in zip((0, 10, 20, 30, 40), names, strict=True):
        assert_frames_from(tmp_path / name, step + 1, min(20, 49 - step))


# -- no recover outcome leaves a hidden media file ----------------------------------------------
def _clip_staged_then_cut(folder: Path) -> None:
    """A clip cut into a staged name, itself a working name (no stream beside it)."""
    with VideoWriter(folder / "made.mp4", fps=30) as writer:
        for i in range(12):
            writer.write(np.full((48, 64, 3), shade(i), np.uint8))
    staged = ".x.mp4.0123abcd.cutting-incomplete.mp4"
    (folder / "made.mp4").rename(folder / f".{staged}.4567cdef.cutting.mp4")


HIDDEN_KINDS = {
    "partial": lambda d: run_child(KILLED_WRITER, d / "run.mp4", 75),
    "partial webm": lambda d: run_child(KILLED_WRITER, d / "run.webm", 75),
    "final": lambda d: run_child(KILLED_BEFORE_PUBLISH, d / "run.mp4", 40, "publish"),
    "final and partial": lambda d: run_child(KILLED_BEFORE_PUBLISH, d / "run.mp4", 40, "remux"),
    "aborted": lambda d: run_child(ABORTED, d / "run.mp4", 40, "keep"),
    "aborted and partial": lambda d: run_child(ABORTED, d / "run.mp4", 40, "remux"),
    "steps stream partial": lambda d: run_child(STEP_CLIPS, d, "encoding"),
    "steps stream and cutting": lambda d: run_child(STEP_CLIPS, d, "cutting"),
    "steps stream kept by an error": lambda d: run_child(STEP_CLIPS, d, "cutting-after-failure"),
    "cutting-incomplete": lambda d: run_child(STEP_CLIPS, d, "keeping-incomplete"),
    "cutting, unreadable": lambda d: (d / ".x.mp4.0123abcd.cutting.mp4").write_bytes(b"x" * 4096),
    "cutting of a staged clip": _clip_staged_then_cut,
    "track writing": lambda d: run_child(RECORDER, d, "thread", 20, "track"),
}


@pytest.mark.parametrize("kind", list(HIDDEN_KINDS))
def test_recover_never_leaves_a_hidden_media_file(tmp_path: Path, kind: str) -> None:
    from rlvideo.io.recovery import recover_folder

    HIDDEN_KINDS[kind](tmp_path)
    before = hidden(tmp_path)
    assert before, "the child left no hidden file"

    outcomes = recover_folder(tmp_path)

    assert hidden(tmp_path) == [], [str(o) for o in outcomes]
    assert {o.source.name for o in outcomes} <= set(before)
    assert all(o.kept is None or not o.kept.name.startswith(".") for o in outcomes)
    for name in folder_names(tmp_path):
        if name.endswith((".mp4", ".webm", ".gif")) and ".damaged" not in name:
            assert decode(tmp_path / name).count > 0, name


def test_a_file_is_locked_before_recover_can_see_it(tmp_path: Path, monkeypatch) -> None:
    """``claim`` names a file only once it is locked: a recover run at the instant between
    creating a writer's file and locking it finds nothing to take."""
    import rlvideo.io._files
    from rlvideo.io.recovery import recover_folder

    real_flock = rlvideo.io._files.fcntl.flock
    seen: list[list[str]] = []

    def recover_first(fd: int, operation: int) -> None:
        if not seen:  # the writer's first lock: recover runs just before it is taken
            seen.append([])
            seen[0] += [str(outcome) for outcome in recover_folder(tmp_path)]
        real_flock(fd, operation)

    monkeypatch.setattr(rlvideo.io._files.fcntl, "flock", recover_first)
    with VideoWriter(tmp_path / "run.mp4", fps=30) as writer:
        for i in range(40):
            writer.write(np.full((48, 64, 3), shade(i), np.uint8))
    assert seen == [[]]
    assert folder_names(tmp_path) == {"run.mp4"}
    assert_frames_are_the_first(tmp_path / "run.mp4", 40)


def test_remove_leftovers_deletes_only_the_stopped_writers_files(tmp_path: Path) -> None:
    """A replay's render stopped after a Ctrl-C: its hidden files go; an earlier run's of the
    same name (there before: ``keep``), another video's, and finished videos stay."""
    from rlvideo.io.recovery import remove_leftovers

    ours = [".run.mp4.0a1b.partial.mp4", ".run.track.jsonl.0a1b.writing"]
    earlier = ".run.mp4.ffff.partial.mp4"  # a crash before this run: rlvideo recover's
    others = [".other.mp4.0a1b.partial.mp4", "run.mp4", "run.replay.npz"]
    for name in [*ours, earlier, *others]:
        (tmp_path / name).write_bytes(b"x")
    removed = remove_leftovers(tmp_path, ["run.mp4"], keep={earlier})
    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([earlier, *others])
