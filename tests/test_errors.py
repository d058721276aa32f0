"""Errors carry their data: ``path``, ``argument``, ``value``, ``fix_argument`` (and ``kept`` for a
taken name), raised through the real API; the command words them from those fields."""

from __future__ import annotations

import errno
import pickle
import sys
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest

import rlvideo
from rlvideo import VideoWriter
from rlvideo.cli._errors import UserError, in_cli_terms, user_errors
from rlvideo.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    RLVideoError,
    StorageError,
    VideoExistsError,
)
from rlvideo.io._cutting import Segment, cut_segments
from rlvideo.notebook import show
from rlvideo.storage import LocalDestination, open_destination

FRAMES = [np.full((16, 16, 3), 10 * i, np.uint8) for i in range(4)]
TAKEN = "already exists. Pass overwrite=True to replace it, or choose another name."


def _write_video(path: Path, frames: int = 4, *, keyframes: tuple[int, ...] = ()) -> None:
    with VideoWriter(path, fps=10) as writer:
        for i in range(frames):
            writer.write(np.full((16, 16, 3), 10 * i, np.uint8), keyframe=i in keyframes)


def _assert_taken(error: VideoExistsError, path: Path | str, kept: Path | str | None) -> None:
    assert error.path == str(path)
    assert error.argument == error.fix_argument == "overwrite"
    assert error.value is False
    assert error.kept == (None if kept is None else str(kept))
    assert str(error).startswith(f"{path} {TAKEN}")


# -- VideoExistsError.for_path at each raise site ---------------------------------------------


def test_the_writer_refuses_a_taken_path_naming_it(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"precious")
    with pytest.raises(VideoExistsError) as caught:
        VideoWriter(path, overwrite=False)
    _assert_taken(caught.value, path, None)
    assert str(caught.value) == f"{path} {TAKEN}"


def test_a_name_taken_while_recording_names_where_the_video_was_kept(tmp_path):
    path = tmp_path / "v.mp4"
    writer = VideoWriter(path, fps=10)
    writer.write_batch(FRAMES)
    path.write_bytes(b"another process got here first")
    with pytest.raises(VideoExistsError) as caught:
        writer.close()
    kept = tmp_path / "v.incomplete.mp4"
    _assert_taken(caught.value, path, kept)
    assert str(caught.value).endswith(f" The new video was kept as {kept}.")
    assert Path(caught.value.kept or "").exists()


def test_a_cut_clip_whose_name_was_taken_names_where_it_was_kept(tmp_path):
    source = tmp_path / "source.mp4"
    _write_video(source, keyframes=(0, 2))
    taken = tmp_path / "b.mp4"
    taken.write_bytes(b"someone else's")
    segments = [Segment(0, 2, tmp_path / "a.mp4"), Segment(2, 4, taken)]
    with pytest.raises(VideoExistsError) as caught:
        cut_segments(source, segments, container_format="mp4")
    _assert_taken(caught.value, taken, tmp_path / "b.incomplete.mp4")
    assert taken.read_bytes() == b"someone else's"


def test_a_local_folder_refuses_a_taken_name_naming_the_staged_file(tmp_path):
    folder = LocalDestination(tmp_path / "v")
    folder.prepare()
    (tmp_path / "v" / "a.mp4").write_text("old")
    staged = tmp_path / "staged.mp4"
    staged.write_text("new")
    with pytest.raises(VideoExistsError) as caught:
        folder.publish(staged, "a.mp4", overwrite=False)
    _assert_taken(caught.value, tmp_path / "v" / "a.mp4", staged)
    assert str(caught.value).endswith(f" The new file is kept at {staged}.")


def test_a_store_refuses_a_taken_key_naming_its_url(tmp_path):
    root = f"memory://rlvideo-errors-{uuid.uuid4().hex[:8]}/videos"
    fsspec.filesystem("memory").pipe(f"{root.removeprefix('memory://')}/a.mp4", b"older")
    store = open_destination(root)
    store.prepare()
    with pytest.raises(VideoExistsError) as caught:
        store.taken("a.mp4", False)
    _assert_taken(caught.value, f"{root}/a.mp4", None)
    staged = tmp_path / "a.mp4"
    staged.write_bytes(b"new")
    with pytest.raises(VideoExistsError) as caught:
        store.publish(staged, "a.mp4", overwrite=False)
    _assert_taken(caught.value, f"{root}/a.mp4", staged)


def test_a_notebook_video_refuses_a_taken_path(tmp_path):
    path = tmp_path / "clip.gif"
    path.write_bytes(b"older")
    video = show(FRAMES, fps=10, format="gif")
    with pytest.raises(VideoExistsError) as caught:
        video.save(path, overwrite=False)
    _assert_taken(caught.value, path, None)


# -- arguments: the argument, its value, and the message's terms ------------------------------


@pytest.mark.parametrize(
    ("options", "argument", "value", "cli_start"),
    [
        ({"fps": 0}, "fps", 0, "--fps must be a finite number above 0"),
        ({"name_prefix": "a/b"}, "name_prefix", "a/b", "--name-prefix 'a/b' holds a path"),
        ({"video_length": 0}, "video_length", 0, "--video-length must be a positive number"),
        ({"episode_trigger": "x"}, "episode_trigger", "x", "--every must be a callable"),
    ],
)
def test_an_argument_error_names_the_argument_and_its_value(
    tmp_path, options, argument, value, cli_start
):
    with pytest.raises(InvalidArgumentError) as caught:
        rlvideo.save_video(FRAMES, tmp_path, **options)
    error = caught.value
    assert (error.argument, error.value, error.fix_argument) == (argument, value, argument)
    assert str(error).startswith(argument)
    assert in_cli_terms(error).startswith(cli_start)


def test_a_name_prefix_error_also_words_the_folder_it_points_to(tmp_path):
    with pytest.raises(InvalidArgumentError) as caught:
        rlvideo.save_video(FRAMES, tmp_path, name_prefix="a/b")
    assert str(caught.value).endswith("(put folders in video_folder)")
    assert in_cli_terms(caught.value).endswith("(put folders in --out)")


def test_a_trigger_that_answers_badly_is_the_argument_at_fault(tmp_path):
    def trigger(index: int) -> str:
        return "yes"

    with pytest.raises(InvalidArgumentError) as caught:
        rlvideo.save_video(FRAMES, tmp_path, episode_trigger=trigger)
    assert caught.value.argument == "episode_trigger"
    assert caught.value.value is trigger
    assert in_cli_terms(caught.value).startswith("--every(0) returned 'yes'")


def test_a_wrapper_video_length_error_names_it(tmp_path):
    gym = pytest.importorskip("gymnasium")
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    with pytest.raises(InvalidArgumentError) as caught:
        rlvideo.RecordVideo(env, tmp_path, video_length=-1)
    env.close()
    assert (caught.value.argument, caught.value.value) == ("video_length", -1)


def test_a_folder_that_cannot_be_created_is_the_path_and_the_argument(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    folder = tmp_path / "file" / "videos"
    with pytest.raises(StorageError) as caught:
        open_destination(folder).prepare()
    assert caught.value.path == str(folder)
    assert caught.value.argument == "video_folder"
    assert str(caught.value).startswith(f"cannot create video_folder {folder}: ")
    assert in_cli_terms(caught.value).startswith(f"cannot create --out {folder}: ")


def test_a_store_without_fsspec_names_the_folder_argument(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec fails as if not installed
    with pytest.raises(MissingDependencyError) as caught:
        open_destination("s3://bucket/videos")
    assert caught.value.argument == "video_folder"
    assert str(caught.value) == (
        "video_folder 's3://bucket/videos' needs fsspec: pip install \"rlvideo[cloud]\""
    )
    assert in_cli_terms(caught.value).startswith("--out 's3://bucket/videos' needs fsspec")


def test_a_folder_given_as_the_video_is_the_path(tmp_path):
    folder = tmp_path / "v.mp4"
    folder.mkdir()
    with pytest.raises(StorageError) as caught:
        VideoWriter(folder)
    assert caught.value.path == str(folder)
    assert str(caught.value) == f"{folder} is a folder; give the video file's path"


def test_a_write_failure_names_the_file_and_keeps_its_errno():
    error = StorageError.from_os_error(OSError(errno.ENOSPC, "No space left on device"), "v/a.mp4")
    assert (error.path, error.errno, error.argument) == ("v/a.mp4", errno.ENOSPC, None)


def test_the_fields_survive_pickling():
    """Errors cross processes (Ray workers, the encoder's process) with their data."""
    error = pickle.loads(pickle.dumps(VideoExistsError.for_path("v/a.mp4", kept_as="v/b.mp4")))
    assert (error.path, error.argument, error.kept) == ("v/a.mp4", "overwrite", "v/b.mp4")
    assert in_cli_terms(error).endswith("choose another --out. The new video was kept as v/b.mp4.")


# -- the command words errors from their fields, not from their prose --------------------------


def _cli_message(error: RLVideoError, *, cli_terms: bool = True) -> str:
    with pytest.raises(UserError) as caught, user_errors(cli_terms=cli_terms):
        raise error
    return caught.value.format_message()


def test_the_command_words_an_unusual_message_from_its_terms():
    term = InvalidArgumentError.Term
    error = InvalidArgumentError(
        "with ", term("video_length"), " as odd as this, pass ", term("overwrite=True"), " too"
    )
    assert error.argument == "video_length"
    assert _cli_message(error) == "with --video-length as odd as this, pass --overwrite too"
    assert _cli_message(error, cli_terms=False) == str(error)


def test_the_command_leaves_a_message_without_terms_as_it_is():
    """The words alone are not rewritten: only the pieces the error marks as its arguments."""
    error = InvalidArgumentError("fps must be odd; video_folder, name_prefix and overwrite=True")
    assert error.argument is None
    assert _cli_message(error) == str(error)


def test_the_commands_no_overwrite_refusal_carries_the_folder(tmp_path):
    from click.testing import CliRunner

    from rlvideo.cli import cli

    (tmp_path / "rl-video-episode-0.mp4").write_bytes(b"an earlier run's")
    args = ["record", "CartPole-v1", "--episodes", "1", "--out", str(tmp_path), "--no-overwrite"]
    result = CliRunner().invoke(cli, args, standalone_mode=False)
    assert isinstance(result.exception, UserError), result.output
    error = result.exception.__cause__
    assert isinstance(error, VideoExistsError)
    assert (error.path, error.argument, error.value) == (str(tmp_path), "overwrite", False)
    assert result.exception.format_message() == str(error)


def test_a_taken_name_is_worded_for_the_command(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"precious")
    with pytest.raises(VideoExistsError) as caught:
        VideoWriter(path, overwrite=False)
    assert _cli_message(caught.value) == (
        f"{path} already exists. Pass --overwrite to replace it, or choose another --out."
    )
