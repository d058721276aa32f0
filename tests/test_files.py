"""The file lifecycle: publish never replaces, also where the file system has no hard links."""

from __future__ import annotations

import errno
import os

import pytest

from rlvideo.errors import StorageError, VideoExistsError
from rlvideo.io._files import check_target, keep_as_incomplete, publish, write_file
from rlvideo.storage import LocalDestination
from tests.helpers import folder_names


@pytest.fixture(params=["hard links", "no hard links"])
def links(request, monkeypatch):
    if request.param == "no hard links":  # FAT, some network and FUSE file systems

        def refuse(*args, **kwargs):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", refuse)
    return request.param


def test_publish_moves_a_finished_file(tmp_path, links):
    source = tmp_path / ".a.tmp"
    source.write_text("new")
    publish(source, tmp_path / "a.txt", overwrite=False)
    assert folder_names(tmp_path) == {"a.txt"}
    assert (tmp_path / "a.txt").read_text() == "new"


def test_publish_never_replaces_a_file_unless_asked(tmp_path, links):
    (tmp_path / "a.txt").write_text("old")
    source = tmp_path / ".a.tmp"
    source.write_text("new")
    with pytest.raises(FileExistsError):
        publish(source, tmp_path / "a.txt", overwrite=False)
    assert (tmp_path / "a.txt").read_text() == "old"
    assert source.read_text() == "new"  # kept: nothing is lost
    publish(source, tmp_path / "a.txt", overwrite=True)
    assert (tmp_path / "a.txt").read_text() == "new"


def test_the_local_destination_publishes_through_the_same_path(tmp_path, links):
    folder = LocalDestination(tmp_path / "v")
    folder.prepare()
    (tmp_path / "v" / "a.mp4").write_text("old")
    staged = tmp_path / "staged.mp4"
    staged.write_text("new")
    with pytest.raises(VideoExistsError, match="The new file is kept at"):
        folder.publish(staged, "a.mp4", overwrite=False)
    assert (tmp_path / "v" / "a.mp4").read_text() == "old"
    assert staged.exists()


def test_keep_as_incomplete_takes_the_next_free_name(tmp_path, links):
    final = tmp_path / "run.mp4"
    for expected in ("run.incomplete.mp4", "run.incomplete-1.mp4"):
        source = tmp_path / ".run.tmp"
        source.write_text(expected)
        assert keep_as_incomplete(source, final).name == expected
    assert folder_names(tmp_path) == {"run.incomplete.mp4", "run.incomplete-1.mp4"}


def test_write_file_leaves_no_temporary_behind(tmp_path, links):
    write_file(tmp_path / "a.json", "{}")
    with pytest.raises(FileExistsError):
        write_file(tmp_path / "a.json", "[]", overwrite=False)
    (tmp_path / "folder").mkdir()
    with pytest.raises(StorageError, match=r"cannot write .*folder"):
        write_file(tmp_path / "folder", "x")
    assert folder_names(tmp_path) == {"a.json", "folder"}
    assert (tmp_path / "a.json").read_text() == "{}"


def test_check_target_names_the_fix(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    with pytest.raises(VideoExistsError, match="Pass overwrite=True"):
        check_target(tmp_path / "a.mp4", overwrite=False)
    check_target(tmp_path / "a.mp4", overwrite=True)


def test_a_destination_checks_each_name_with_one_call_and_its_folder_once(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wrappers check every video's name in the env loop (issue 23's loop cost)."""
    from rlvideo.io import _files

    calls: list[str] = []
    real_stat, real_access = os.stat, os.access
    monkeypatch.setattr(_files.os, "stat", lambda p, *a, **k: calls.append("stat") or real_stat(p))
    monkeypatch.setattr(
        _files.os, "access", lambda p, m: calls.append("access") or real_access(p, m)
    )
    folder = LocalDestination(tmp_path / "v")
    folder.prepare()
    (tmp_path / "v" / "b.mp4").write_bytes(b"old")
    assert folder.check_free("a.mp4", overwrite=None) is False
    assert "access" in calls  # the folder, once
    calls.clear()
    assert folder.check_free("b.mp4", overwrite=True) is True
    assert folder.check_free("c.mp4", overwrite=None) is False
    assert calls == ["access", "stat", "access"]  # one access a name; a stat if it is there
    (tmp_path / "v" / "d.mp4").mkdir()
    with pytest.raises(StorageError, match="is a folder"):
        folder.check_free("d.mp4", overwrite=None)
    with pytest.raises(VideoExistsError):
        folder.check_free("b.mp4", overwrite=False)


def test_an_unwritable_folder_is_refused_unless_checked_already(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlvideo.io import _files

    monkeypatch.setattr(_files.os, "access", lambda p, m: False)  # root may write anything
    with pytest.raises(StorageError, match="the folder is not writable"):
        check_target(tmp_path / "a.mp4", overwrite=None)
    assert check_target(tmp_path / "a.mp4", overwrite=None, folder_checked=True) is False
    assert check_target(tmp_path / "new" / "a.mp4", overwrite=None) is False  # made later


def test_a_folder_another_writer_makes_meanwhile_is_asked_again(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Racing writers: the folder was missing when asked, and is there when looked at."""
    from rlvideo.io import _files

    asked: list[str] = []
    real = os.access

    def access(folder: str, mode: int) -> bool:  # missing at the first ask; there after
        asked.append(folder)
        return len(asked) > 1 and real(folder, mode)

    monkeypatch.setattr(_files.os, "access", access)
    assert check_target(tmp_path / "a.mp4", overwrite=None) is False
    assert len(asked) == 2


def test_a_link_loop_at_the_name_is_no_file_there(tmp_path) -> None:
    """As pathlib's ``exists()`` sees it: the writer replaces the link."""
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop.mp4")
    assert check_target(tmp_path / "loop.mp4", overwrite=False) is False


def test_a_folder_is_counted_once_however_many_videos_replace(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlvideo.io import _files

    counted = []
    real = _files._count_files
    monkeypatch.setattr(
        _files, "_count_files", lambda folder: counted.append(folder) or real(folder)
    )
    for i in range(3):
        (tmp_path / f"v{i}.mp4").write_bytes(b"old")
        assert check_target(tmp_path / f"v{i}.mp4", overwrite=None) is True
    assert counted == [tmp_path]  # a scan of the folder for the one warning, not per video
