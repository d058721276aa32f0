"""The life of a file rlvideo writes: checked, claimed, written hidden, published, or kept.

One module owns it, for videos, sidecars, manifests, galleries and notebook files alike:

- :func:`check_target`: may a video be written at this path (name, folder, taken)? A taken
  name is replaced by default (``overwrite=None``), said once per folder
  (:func:`say_replacing`); ``overwrite=False`` refuses it, ``overwrite=True`` replaces quietly;
- :func:`claim`: create a hidden partial file and lock it for as long as its writer lives, and
  :func:`release` it once published (:func:`in_use` tells a crash's leftover from a file
  still being written);
- :func:`publish`: move a finished file to its final name atomically, never replacing one
  unless asked (a hard link, with a check-then-rename fallback where there are none);
  :func:`publish_video` also removes what belonged to the video it replaced
  (:func:`remove_companions`: its sidecar, data track and gallery poster);
- :func:`keep_as_incomplete`: keep a cut-off file as ``<name>.incomplete[-N].<ext>``;
- :func:`keep_as`: keep a file under the first free ``<name>.<tag>[-N].<ext>`` (a finished
  video whose name was taken: ``recovered``; a file nothing can read: ``damaged``);
- :func:`write_file`: write bytes or text under a hidden name, then publish them.

No half-written file is ever left under a final name. Crash *recovery* (remuxing what a killed
writer left) is :mod:`rlvideo.io.recovery`'s job, built on this one.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; recover() then trusts its caller
    fcntl = None  # type: ignore[assignment]

from rlvideo._core.metadata import sidecar_path
from rlvideo._core.naming import check_file_name, incomplete_name
from rlvideo._core.track import track_path
from rlvideo.errors import InvalidArgumentError, StorageError, VideoExistsError

__all__ = [
    "POSTER_FOLDER",
    "check_target",
    "claim",
    "claimed_by_us",
    "companion_names",
    "in_use",
    "keep_as",
    "keep_as_incomplete",
    "keep_first_lines",
    "publish",
    "publish_video",
    "release",
    "remove_companions",
    "say_replacing",
    "told_replacing",
    "write_file",
]

logger = logging.getLogger(__name__)

POSTER_FOLDER = "posters"
"""The gallery's poster folder (:data:`rlvideo.gallery.POSTER_FOLDER`): a video's poster is
``<gallery folder>/posters/<the video's path from there>.png``."""
_POSTER_LEVELS = 8  # how many folders up a gallery of run folders may be built

_TOLD_REPLACING: set[str] = set()  # the folders whose replacing was said (once per process)
_TOLD_LOCK = threading.Lock()


def say_replacing(folder: str | os.PathLike[str], files: int | None) -> None:
    """Log, once per folder and process, that videos in ``folder`` are being replaced.

    Gymnasium's ``RecordVideo`` warns once too ("Overwriting existing videos at ..."); this
    one says how many files the folder holds and how to keep them.

    Args:
        folder: The folder (or URL) that holds the video being replaced.
        files: How many files it holds (None: unknown, e.g. a store that cannot be listed).
    """
    key = os.fspath(folder)
    with _TOLD_LOCK:
        if key in _TOLD_REPLACING:
            return
        _TOLD_REPLACING.add(key)
    holds = "" if files is None else f" (it holds {files} file{'' if files == 1 else 's'})"
    logger.warning(
        "Overwriting existing videos in %s%s: a video with the same name as a new one is "
        "replaced, with its sidecar and data track. Pass overwrite=False to keep them (a taken "
        "name is then an error), or choose another folder.",
        key, holds,
    )  # fmt: skip


def told_replacing(folder: str | os.PathLike[str]) -> bool:
    """Whether :func:`say_replacing` has spoken of ``folder`` in this process."""
    with _TOLD_LOCK:
        return os.fspath(folder) in _TOLD_REPLACING


def _count_files(folder: Path) -> int:
    """How many visible files ``folder`` holds (0 if it cannot be read)."""
    try:
        with os.scandir(folder) as entries:
            return sum(1 for e in entries if e.is_file() and not e.name.startswith("."))
    except OSError:
        return 0


_NOT_THERE = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}  # pathlib's "not there"
_NOT_THERE_WIN = {21, 123, 1921}  # not ready, invalid name, a link that cannot be followed


def check_target(path: Path, *, overwrite: bool | None, folder_checked: bool = False) -> bool:
    """Raise unless a video may be written at ``path``.

    The name must fit (see :func:`~rlvideo._core.naming.check_file_name`), ``path`` must not be a
    folder, and its folder, if it exists already, must be writable. (A folder still to be made
    is checked when it is made.) An existing file is an error with ``overwrite=False``, is
    replaced with ``overwrite=True``, and with ``overwrite=None`` (the default everywhere) is
    replaced and said once per folder (:func:`say_replacing`).

    One ``stat`` of ``path`` (and one ``access`` of its folder, unless ``folder_checked``: a
    caller that checked the folder already, as a destination does for each video after its
    first): the wrappers check every video's name in the env loop.

    Returns:
        Whether ``path`` is taken (and, since this returned, may be replaced). A writer with
        ``overwrite=None`` replaces only a file that was there when it checked: one that
        appears while it writes (another process) is kept, as with ``overwrite=False``.

    Raises:
        InvalidArgumentError: If ``path`` does not end in a usable file name (too long, a NUL).
        StorageError: If ``path`` is a folder, or its folder cannot be written.
        VideoExistsError: If ``path`` exists and ``overwrite`` is False.
    """
    check_file_name(path.name)
    text = str(path)
    if "\0" in text:
        raise InvalidArgumentError(f"the path {text!r} holds a NUL character")
    try:
        mode: int | None = os.stat(text).st_mode
    except ValueError:  # a name the OS cannot encode: refused when written, as before
        mode = None
    except OSError as exc:
        if exc.errno not in _NOT_THERE and getattr(exc, "winerror", None) not in _NOT_THERE_WIN:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}", path=path) from exc
        mode = None  # no such file, its folder a file, a link loop: as pathlib's exists() says
    if mode is not None and stat.S_ISDIR(mode):
        raise StorageError(f"{path} is a folder; give the video file's path", path=path)
    exists = mode is not None
    if exists and overwrite is False:
        raise VideoExistsError.for_path(path)
    if exists and overwrite is None and not told_replacing(path.parent):  # count once only
        say_replacing(path.parent, _count_files(path.parent))
    writable = folder_checked or os.access(path.parent, os.W_OK | os.X_OK)
    if not writable and path.parent.is_dir() and not os.access(path.parent, os.W_OK | os.X_OK):
        # else a folder still to be made, or made since by another writer: asked again
        raise StorageError(
            f"cannot write {path.name} in {path.parent}: the folder is not writable (a "
            "read-only file system or no permission); choose another folder or fix its "
            "permissions",
            path=path,
        )
    return exists


def publish(source: Path, target: Path, *, overwrite: bool | None) -> None:
    """Move a finished file to its final name atomically, never replacing a file unless asked.

    With ``overwrite`` True or None (a video's default: see :func:`check_target`) the move is
    one rename over ``target``: a reader sees the old file, whole, until it sees the new one.
    With ``overwrite=False`` it is a hard link plus unlink, which fails if ``target`` appeared
    meanwhile (another process), so nothing is replaced.

    Raises:
        FileExistsError: If ``target`` exists and ``overwrite`` is False (``source`` is kept).
        StorageError: If the file cannot be moved.
    """
    try:
        if overwrite is not False:
            os.replace(source, target)
            return
        try:
            os.link(source, target)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links: check, then rename
            if target.exists():
                raise FileExistsError(str(target)) from None
            os.rename(source, target)
            return
        os.unlink(source)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StorageError(
            f"cannot move {source} to {target}: {exc.strerror or exc}", path=target
        ) from exc


def publish_video(source: Path, target: Path, *, overwrite: bool | None) -> None:
    """:func:`publish` a finished video, then remove what belonged to the one it replaced.

    A replaced video's sidecar, data track and poster (:func:`remove_companions`) never stay
    beside the new one: the new video's own are written after it is published. With
    ``overwrite=False`` nothing is replaced, so nothing is removed.

    Raises:
        FileExistsError: If ``target`` exists and ``overwrite`` is False (``source`` is kept).
        StorageError: If the file cannot be moved.
    """
    publish(source, target, overwrite=overwrite)
    if overwrite is not False:
        remove_companions(target)


def companion_names(video_name: str) -> list[str]:
    """The files that belong to the video ``video_name`` in its folder: sidecar, data track.

    Example:
        >>> companion_names("run-episode-0.mp4")
        ['run-episode-0.json', 'run-episode-0.track.jsonl']
    """
    return [sidecar_path(video_name).name, track_path(video_name).name]


def remove_companions(video: Path) -> None:
    """Remove the sidecar, data track and gallery posters of the video once at ``video``.

    Posters are looked for in ``posters/`` of the video's folder and of the folders above it
    (a gallery of run folders), at the video's path from there.
    """
    for name in companion_names(video.name):
        _remove_quietly(video.with_name(name))
    relative = Path(video.name)
    for folder in list(video.parents)[:_POSTER_LEVELS]:
        _remove_quietly(folder / POSTER_FOLDER / relative.with_name(f"{relative.name}.png"))
        relative = Path(folder.name) / relative


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # a folder of that name, no permission: the new video is there
        logger.warning("could not remove %s, which belonged to the replaced video: %s", path, exc)


def keep_as_incomplete(source: Path, final: Path) -> Path:
    """Move ``source`` to the first free ``<name>.incomplete[-N].<ext>`` beside ``final``."""
    return _keep_under_first_free(source, final, incomplete_name, "'.incomplete'")


def keep_as(source: Path, final: Path, tag: str) -> Path:
    """Move ``source`` to the first free ``<name>.<tag>[-N].<ext>`` beside ``final``.

    Example:
        >>> _ = Path(".run.tmp").write_text("a"), Path("run.damaged.mp4").write_text("taken")
        >>> keep_as(Path(".run.tmp"), Path("run.mp4"), "damaged").name
        'run.damaged-1.mp4'
    """

    def tagged(final: Path, attempt: int) -> Path:
        suffix = "" if attempt == 0 else f"-{attempt}"
        return final.with_name(f"{final.stem}.{tag}{suffix}{final.suffix}")

    return _keep_under_first_free(source, final, tagged, f"'.{tag}'")


def _keep_under_first_free(
    source: Path, final: Path, name: Callable[[Path, int], Path], what: str
) -> Path:
    """Publish ``source`` as ``name(final, 0)``, else ``name(final, 1)``, ...; never replacing."""
    for attempt in range(1000):
        candidate = name(final, attempt)
        try:
            publish(source, candidate, overwrite=False)
        except FileExistsError:
            continue
        return candidate
    raise StorageError(f"no free {what} name for {final} after 1000 tries", path=final)


def keep_first_lines(path: Path, count: int) -> None:
    """Cut the text file ``path`` to its first ``count`` lines, streaming (memory flat)."""
    cut = path.with_name(path.name + ".cut")
    with open(path, encoding="utf-8") as source, open(cut, "w", encoding="utf-8") as target:
        for index, line in enumerate(source):
            if index >= count:
                break
            target.write(line)
    os.replace(cut, path)


def claim(path: Path) -> int | None:
    """Create the partial file ``path`` and lock it for as long as its writer lives.

    The lock (``flock``, advisory) tells :func:`~rlvideo.io.recovery.recover` that a live process
    still writes the file; the system drops it when the writer closes it or dies, killed or not.
    Where the system allows (Linux), the file is created unnamed, locked, then named, so no
    other process ever sees it unlocked (a ``recover`` run at that instant would take a
    writer's empty new file for a crash's leftover).

    Returns:
        The descriptor that holds the lock (close it, with :func:`release`, to release), or
        None where the platform or file system has no locks (the file is still created).

    Raises:
        OSError: If the file cannot be created (an unwritable folder, a full disk), or exists.
    """
    fd = _locked_then_named(path)
    if fd is not None:
        return fd
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    if fcntl is None:
        os.close(fd)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks
        os.close(fd)
        return None
    return fd


def _locked_then_named(path: Path) -> int | None:
    """An unnamed file (``O_TMPFILE``), locked, then linked as ``path``; None if unsupported.

    Raises:
        FileExistsError: If ``path`` exists (nothing is left behind).
    """
    unnamed = getattr(os, "O_TMPFILE", None)
    if unnamed is None or fcntl is None:
        return None
    try:
        fd = os.open(path.parent, unnamed | os.O_WRONLY, 0o644)
    except OSError:  # a file system without unnamed files
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.link(f"/proc/self/fd/{fd}", path)  # fails if ``path`` exists, as O_EXCL does
    except FileExistsError:
        os.close(fd)
        raise
    except OSError:  # no locks, or no /proc: the plain way
        os.close(fd)
        return None
    return fd


def release(lock: int | None) -> None:
    """Give up a lock :func:`claim` returned (None: there was none)."""
    if lock is not None:
        os.close(lock)


@contextlib.contextmanager
def claimed_by_us(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock for the block; False if a live writer holds it."""
    if fcntl is None:
        yield True
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError:  # a file system without locks: nothing to tell
            pass
        yield True
    finally:
        os.close(fd)


def in_use(path: Path) -> bool:
    """True if a live process is still writing the partial file ``path``."""
    try:
        with claimed_by_us(path) as ours:
            return not ours
    except OSError:  # gone meanwhile
        return False


def write_file(path: Path, data: bytes | str, *, overwrite: bool | None = True) -> Path:
    """Write ``data`` to a hidden file beside ``path``, then publish it under ``path``.

    Readers see the old file or the new one, never half of one. With ``overwrite=False`` an
    existing file is never replaced.

    Raises:
        FileExistsError: If ``path`` exists and ``overwrite`` is False (nothing is left behind).
        StorageError: If the file cannot be written (nothing is left behind).

    Example:
        >>> write_file(Path("note.txt"), "hello").read_text()
        'hello'
        >>> write_file(Path("note.txt"), "again", overwrite=False)
        Traceback (most recent call last):
        ...
        FileExistsError: [Errno 17] File exists: ... -> 'note.txt'
        >>> Path("note.txt").read_text()
        'hello'
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
        publish(temporary, path, overwrite=overwrite)
    except FileExistsError:
        temporary.unlink(missing_ok=True)
        raise
    except OSError as exc:  # StorageError too: it names the temporary file, this names the path
        temporary.unlink(missing_ok=True)
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        raise StorageError(f"cannot write {path}: {cause.strerror or cause}", path=path) from exc
    return path
