"""The engine under every wrapper: background videos, their bookkeeping, and their endings.

When a video ends, ``keep_if`` decides whether it stays, its JSON sidecar is written and
``on_video_saved`` is called. For a ``video_folder`` that is an fsspec URL (see
:mod:`rlvideo.storage`) a finished video is uploaded first, by one upload thread, so the env loop
waits neither for the encoder nor for the network; the sidecar and the callback follow the
upload, in the caller's thread, from :meth:`Recorder.poll` or :meth:`Recorder.close`.

The hand-off (``on_video_saved``) gets a final, readable video: a local path, or for a URL
folder the URL, with the uploaded local file kept until the callback returns
(handed over as a :class:`rlvideo.storage.local.LentURL` carrying it:
:func:`rlvideo.storage.local_file` finds it). A callback that raises loses no video: the video
is saved, later videos are still handed off, and the exception is raised, as it was, from the
next call (``step``, ``reset`` or ``close``). If the callback has a ``flush()`` method (the
:mod:`rlvideo.loggers` do), :meth:`Recorder.close` calls it last, so ``close()`` returns once
every hand-off is done.

Wrappers decide *when* a video starts and stops (gym's trigger rules); a :class:`Recorder`
does the rest, so the single-env, vector and SB3 wrappers share one implementation.

Each video's values (episode, step, reward, return, action, info:
:class:`rlvideo._core.track.FrameLog`)
feed the overlay, drawn on each frame here, in the env's process, before the frame is handed
to the encoder (a band above or below the frame makes every frame of the video taller by its
height, recorded as the metadata's ``overlay``), and the data track ``<stem>.track.jsonl``
(:mod:`rlvideo._core.track`). The track is streamed, a line per frame, to a hidden file beside the
video's staging file, and shares the video's lifecycle: renamed to its final name (uploaded
after the video, for a URL folder) when the video is final, kept as
``<stem>.incomplete.track.jsonl`` beside a video kept as incomplete, deleted with a discarded
video. It holds one line per frame of the video, always.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import (
    IO,
    TYPE_CHECKING,
    Any,
    Concatenate,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
)

from rlvideo._core.frames import FrameConverter
from rlvideo._core.metadata import KeepIf, OnVideoSaved, VideoMetadata, sidecar_path
from rlvideo._core.naming import check_name_prefix
from rlvideo._core.options import DEFAULTS, RecordingOptions, did_you_mean
from rlvideo._core.spec import WriterSpec, check_fps
from rlvideo._core.track import (
    FRAME_FIELDS,
    FrameLog,
    check_track,
    reward_value,
    track_line,
    track_path,
)
from rlvideo.errors import EncoderError, InvalidArgumentError, RLVideoError
from rlvideo.io._files import claim, publish
from rlvideo.recording._encoder import BackgroundEncoder
from rlvideo.recording._interrupts import deferred_interrupts
from rlvideo.recording._messages import EncoderKind, VideoResult
from rlvideo.recording._pool import EncoderPool, worker_count
from rlvideo.storage import SavedPath, Uploader, lend_local_file, open_destination

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = [
    "ClosesOnExit", "EpisodeCount", "KeepIf", "OnVideoSaved", "Recorder", "VideoSink", "records",
]  # fmt: skip

logger = logging.getLogger("rlvideo.recorder")  # the documented name (README, Logging)

DEFAULT_FPS = 30
"""A video's fps when the wrapper's is None (an env whose ``render_fps`` is None): Gymnasium's."""


class _TrackFile:
    """A video's data track while it is written: a hidden file beside the video's staging file.

    Each line is written as it comes (line-buffered: one small write per frame, ~2 us), so memory
    stays flat and a killed process leaves every line it had: at least every frame the encoder
    kept, which is what ``rlvideo recover`` cuts it to. The file is locked as a partial video
    is (:func:`rlvideo.io._files.claim`), so ``rlvideo recover`` tells a track being written from
    one a killed process left behind.
    """

    def __init__(self, staged: Path) -> None:
        name = track_path(staged).name
        self.path = staged.with_name(f".{name}.{secrets.token_hex(4)}.writing")
        self._lock = claim(self.path)
        try:
            self._file: IO[str] = open(  # noqa: SIM115
                self.path, "w", buffering=1, encoding="utf-8", newline="\n"
            )  # line by line: a killed process leaves every line it wrote
        except BaseException:
            if self._lock is not None:
                os.close(self._lock)
            self.path.unlink(missing_ok=True)
            raise
        self.lines = 0

    def write(self, line: str) -> None:
        self._file.write(line)
        self.lines += 1

    def delete(self) -> None:
        """Close and remove the hidden file: nothing is left behind."""
        try:
            self._close()
        finally:
            self.path.unlink(missing_ok=True)

    def _close(self) -> None:
        try:
            self._file.close()
        finally:
            if self._lock is not None:
                os.close(self._lock)
                self._lock = None

    def finish(self, video: Path, frames: int) -> Path:
        """Close it, cut it to the video's ``frames`` and move it beside ``video``; the path.

        Replaced like the sidecar if the name is taken (the video's name was free). The lock
        is held until it is published: ``rlvideo recover`` never takes it for a leftover.
        """
        try:
            self._file.close()
            if self.lines > frames:  # the encoder kept fewer frames (a failure it survived)
                _cut_in_place(self.path, frames)
            target = track_path(video)
            publish(self.path, target, overwrite=True)
        finally:
            self._close()
        return target


def _cut_in_place(path: Path, lines: int) -> None:
    """Cut the text file ``path`` to its first ``lines`` lines, keeping the file (and its lock)."""
    with open(path, "rb+") as file:
        for _ in range(lines):
            file.readline()
        file.truncate()


class _InfoKeys:
    """The info keys a video was asked to show (overlay fields, track keys) and those it saw.

    Checked on each step's info until every one was found (then it costs nothing); a key never
    found is named when the video ends, with a did-you-mean: a typo would otherwise draw ``-``
    or add nothing, silently.
    """

    def __init__(self, asked: tuple[str, ...]) -> None:
        self.missing = set(asked)
        self.asked = asked
        self.seen: dict[str, None] = {}  # every info key met while some were missing, in order

    def note(self, info: Mapping[str, Any]) -> None:
        if not self.missing:
            return
        try:
            self.seen.update(dict.fromkeys(str(key) for key in info))
        except Exception:  # an info that refuses to be listed
            return
        self.missing.difference_update(self.seen)

    def report(self, video: str) -> None:
        """Log a warning naming each key never found, if any."""
        if not self.missing:
            return
        known = [*FRAME_FIELDS, *self.seen]
        named = ", ".join(
            f"{key!r}{did_you_mean(key, known)}" for key in self.asked if key in self.missing
        )
        logger.warning(
            "%s: %s never in any step's info (overlay fields and track keys other than %s "
            "are read from it); the info keys were: %s",
            video, named, ", ".join(FRAME_FIELDS), ", ".join(self.seen) or "none",
        )  # fmt: skip


@dataclass
class _Video:
    """One video's state in the recorder, from :meth:`Recorder.start` until it is reported.

    Its values for the frames (``log``, ``converter``, ``canvas``, ``info_keys``) go once it
    takes no more frames; the record goes once the worker reported the video (or it was
    dropped). The data track goes when it is finished, deleted, or failed to write.
    """

    meta: VideoMetadata
    staged: Path  # where the video is written locally
    open: bool = True  # started and not yet stopped
    log: FrameLog | None = None  # the values of each frame (overlay or track on)
    track: _TrackFile | None = None  # its data track being written
    converter: FrameConverter | None = None  # to draw the overlay on
    canvas: Any = None  # the frame with the overlay, reused
    info_keys: _InfoKeys | None = None  # the info keys asked for, and those seen

    def forget_values(self) -> None:
        """It takes no more frames: drop what only frames need."""
        self.log = self.converter = self.canvas = self.info_keys = None


@dataclass
class _Upload:
    """A file on its way to a remote destination (or published already, when local)."""

    future: Future[SavedPath]
    what: Literal["video", "incomplete", "track"]
    meta: VideoMetadata | None  # a video's, for its sidecar and hand-off
    local: Path
    track: Path | None = None  # the video's finished track, uploaded once the video is


@dataclass
class EpisodeCount:
    """Steps and return of the episode under way: what every wrapper counts, recording or not.

    A video that starts mid-episode (a step trigger, a ``video_length`` that spans episodes)
    starts its overlay and data track at these values (:meth:`Recorder.start`'s
    ``episode_step`` and ``episode_return``), so its track says what the env really did.

    Example:
        >>> count = EpisodeCount()
        >>> count.add(1.0); count.add(0.5)
        >>> count.step, count.episode_return
        (2, 1.5)
        >>> count.begin(); count.step, count.episode_return
        (0, 0.0)
    """

    step: int = 0
    episode_return: float = 0.0

    def begin(self) -> None:
        """An episode began: no steps, no return."""
        self.step, self.episode_return = 0, 0.0

    def add(self, reward: Any, *, step: bool = True) -> None:
        """Count a step's reward (``step=False``: a move within a step, as an AEC agent's)."""
        self.step += int(step)
        self.episode_return += reward_value(reward)


class VideoSink(Protocol):
    """What a wrapper's :class:`~rlvideo.wrappers._machine.VideoMachine` feeds videos to.

    A :class:`Recorder` (live: frames rendered in the loop), or ``replay=True``'s
    :class:`~rlvideo.wrappers._replaying.ReplayRecorder` (frames only counted, rendered later).
    """

    saved: list[SavedPath]
    spec: WriterSpec
    interrupted: bool
    """Whether a failure cut the recording off (:meth:`interrupt`, until :meth:`resume`)."""

    def start(
        self, name: str, *, kind: str, episode: int, first_step: int, episode_step: int = 0,
        episode_return: float = 0.0, fps: Any = None, **extra: Any,
    ) -> int: ...  # fmt: skip

    def frame(self, video_id: int, frame: Any) -> int: ...

    def step(
        self, video_id: int, reward: Any, terminated: Any, truncated: Any, *, action: Any = None,
        info: Mapping[str, Any] | None = None, counted: tuple[Any, Any, Any] | None = None,
    ) -> None: ...  # fmt: skip

    def show(
        self, video_id: int, reward: Any, terminated: Any, truncated: Any, *, action: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None: ...  # fmt: skip

    def reset(self, video_id: int, episode: int, info: Mapping[str, Any] | None = None) -> None: ...

    def frames(self, video_id: int) -> int: ...

    def stop(self, video_id: int) -> None: ...

    def discard(self, video_id: int) -> None: ...

    def final(self, file_name: str) -> SavedPath: ...

    def poll(self) -> None: ...

    def close(self) -> None: ...

    def interrupt(self) -> None: ...

    def resume(self) -> None: ...


_P = ParamSpec("_P")
_R = TypeVar("_R")


def records(method: Callable[Concatenate[Any, _P], _R]) -> Callable[Concatenate[Any, _P], _R]:
    """Mark a wrapper method that records (``reset``, ``step``, ``render``).

    An exception escaping it (Ctrl-C included) means a frame was lost to a failure: the
    wrapper's recorder (``self._recorder``) is :meth:`~Recorder.interrupt`-ed, so a ``close()``
    that follows keeps the video in progress as ``.incomplete``. A call that returns
    :meth:`~Recorder.resume`-s it: the recording went on.
    """

    @functools.wraps(method)
    def recording_call(self: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        recorder: VideoSink = self._recorder
        try:
            result = method(self, *args, **kwargs)
        except BaseException:
            recorder.interrupt()
            raise
        if recorder.interrupted:  # not a call a step: every env step comes here
            recorder.resume()
        return result

    return recording_call


class ClosesOnExit:
    """``with wrapper:`` for every wrapper: ``close()`` on the way out.

    An exception leaving the block (Ctrl-C included) interrupts the recording first
    (:meth:`Recorder.interrupt`), so the videos in progress are kept as
    ``<name>.incomplete.<ext>``; a block that ends normally saves them.
    """

    _recorder: VideoSink

    if TYPE_CHECKING:

        def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> Literal[False]:
        if exc_type is not None:
            self._recorder.interrupt()
        self.close()
        return False


class Recorder:
    """Start, feed and finish videos in a :class:`~rlvideo.recording._encoder.BackgroundEncoder`.

    Args:
        video_folder: Where videos go: a folder, created if needed, or an fsspec URL.
        name_prefix: Checked to hold no path separator.
        fps: Frames per second of every video, unless :meth:`start` is given another; None:
            30 (an env whose ``render_fps`` is None, as in Gymnasium).
        env_id: Recorded in every video's metadata.
        **options: The wrappers' recording options
            (:class:`~rlvideo._core.options.RecordingOptions`: format, codec, crf, overwrite,
            metadata, track, overlay, on_video_saved, keep_if, encoder, backlog_mb,
            encoder_options, float_range, storage_options); each one not given takes its default
            (:data:`~rlvideo._core.options.DEFAULTS`). For URLs, errors and ``flush()`` of
            ``on_video_saved``, see the module's docstring.

    Example:
        >>> import numpy as np
        >>> recorder = Recorder("videos", name_prefix="demo", fps=10, env_id=None, encoder="thread")
        >>> video = recorder.start("demo-0", kind="episode", episode=0, first_step=0)
        >>> for shade in range(3):
        ...     _ = recorder.frame(video, np.full((16, 16, 3), 80 * shade, np.uint8))
        >>> recorder.stop(video)
        >>> recorder.close()
        >>> [path.name for path in recorder.saved]
        ['demo-0.mp4']
    """

    def __init__(
        self,
        video_folder: str | os.PathLike[str],
        *,
        name_prefix: str,
        fps: float | None,
        env_id: str | None,
        **options: Unpack[RecordingOptions],
    ) -> None:
        check_name_prefix(name_prefix)
        given: RecordingOptions = {**DEFAULTS, **options}
        if given["replay"]:  # the wrappers that replay make a ReplayRecorder instead
            raise InvalidArgumentError(
                "replay=True is taken by rlvideo.RecordVideo, rlvideo.wrappers.vector.RecordVideo "
                "(per_env=True) and EvalVideoCallback; this one records live: drop replay=True"
            )
        self.spec = WriterSpec.build(
            format=given["format"], fps=DEFAULT_FPS if fps is None else fps,
            codec=given["codec"], crf=given["crf"], options=given["encoder_options"],
            overwrite=given["overwrite"], float_range=given["float_range"],
        )  # fmt: skip
        """Every video's settings, checked here once and passed down to the worker."""
        on_video_saved, keep_if = given["on_video_saved"], given["keep_if"]
        for name, hook in (("on_video_saved", on_video_saved), ("keep_if", keep_if)):
            if hook is not None and not callable(hook):
                raise InvalidArgumentError(f"{name} must be a callable or None, got {hook!r}")
        self.metadata = given["metadata"]
        self.track, self.track_info = check_track(given["track"], metadata=self.metadata)
        """Whether each video gets a data track, and the info keys it holds."""
        self.overlay = None
        if given["overlay"] is not None and given["overlay"] is not False:
            from rlvideo.overlay import overlay_from_option  # Pillow is loaded only if asked

            self.overlay = overlay_from_option(given["overlay"])
        self.destination = open_destination(video_folder, given["storage_options"])
        self.destination.prepare()
        self.on_video_saved = on_video_saved
        self.keep_if = keep_if
        self.env_id = env_id
        self.saved: list[SavedPath] = []
        """Every video saved so far, in the order they were finished (URLs when remote)."""
        kind = cast(EncoderKind, given["encoder"])  # checked by BackgroundEncoder
        workers = worker_count(kind)  # videos spread over up to this many encoders
        backlog = _backlog_bytes(given["backlog_mb"]) // workers  # the budget, shared

        def encoder() -> BackgroundEncoder:
            return BackgroundEncoder(kind=kind, on_done=self._on_done, backlog=backlog)

        self._encoder = encoder() if workers == 1 else EncoderPool(encoder, workers)
        self._videos: dict[int, _Video] = {}  # open, or ended and not yet reported
        self._uploads: list[_Upload] = []
        self._uploader = Uploader(self.destination)
        self._next_id = 0
        self._errors: list[BaseException] = []
        self._hand_off_errors: list[BaseException] = []  # raised as they are, not wrapped
        self.interrupted = False  # the last recording call failed (see interrupt())
        fields = () if self.overlay is None else self.overlay.fields
        self._asked = tuple(
            dict.fromkeys([*(f for f in fields if f not in FRAME_FIELDS), *self.track_info])
        )  # the info keys to look for: one never found is named when its video ends
        if kind == "process":  # its ~0.3 s start-up overlaps the env's, not its first frames
            self._encoder.start()

    def interrupt(self) -> None:
        """Say that a failure cut the recording off: open videos will be kept as incomplete.

        :meth:`close` then keeps each as ``<name>.incomplete.<ext>``. The wrappers call it
        when an exception (Ctrl-C included) escapes one of their recording calls
        (:func:`records`) or leaves a ``with wrapper:`` block (:class:`ClosesOnExit`); the
        interpreter's exception state is never read, so ``close()`` in the ``except`` block
        of an unrelated, handled error saves the video as usual.
        """
        self.interrupted = True

    def resume(self) -> None:
        """Say that a recording call completed: the recording went on after any failure."""
        self.interrupted = False

    def start(
        self,
        name: str,
        *,
        kind: str,
        episode: int,
        first_step: int,
        episode_step: int = 0,
        episode_return: float = 0.0,
        fps: Any = None,
        **extra: Any,
    ) -> int:
        """Open ``<folder>/<name>.<format>``; return its id. A taken name raises here.

        ``episode_step`` and ``episode_return`` are the steps and return of ``episode``
        before the video's first frame (a step video starting mid-episode), for the overlay
        and the track. ``fps`` is this video's frame rate: the wrapper's ``frames_per_sec``,
        read as each video starts, so one set after the wrapper was made applies (None: the
        recorder's).

        Raises:
            InvalidArgumentError: For an fps that no video can have; nothing is written.
        """
        spec = self._spec_at(name, fps)
        file_name = f"{name}.{spec.format}"
        taken = self.destination.check_free(file_name, overwrite=spec.overwrite)  # said here
        video_id = self._next_id
        self._next_id += 1
        path = self.destination.staging_path(file_name, unique=str(video_id))
        self._encoder.open_video(video_id, path, _replacing_decided(spec, taken))
        meta = VideoMetadata(
            path=str(self.destination.final(file_name)), kind=kind, env_id=self.env_id,
            episode=episode, first_step=first_step, fps=float(spec.fps), codec=spec.codec,
            **extra,
        )  # fmt: skip
        video = self._videos[video_id] = _Video(meta, path)
        if self.track or self.overlay is not None:
            video.log = FrameLog(episode=episode, step=episode_step, episode_return=episode_return)
        if self.overlay is not None:
            video.converter = self.spec.frame_converter()
        if self._asked:
            video.info_keys = _InfoKeys(self._asked)
        if self.track:
            try:
                video.track = _TrackFile(path)
            except OSError as exc:
                logger.error("cannot write the data track of %s: %s; no track", file_name, exc)
        return video_id

    def _spec_at(self, name: str, fps: Any) -> WriterSpec:
        """The spec of a video at ``fps`` (None: the recorder's own)."""
        if fps is None:
            return self.spec
        try:
            exact = check_fps(fps)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"{name}: frames_per_sec is {fps!r}, which no video can have: {exc}"
            ) from None
        return self.spec if exact == self.spec.fps else self.spec.replace(fps=exact)

    def final(self, file_name: str) -> SavedPath:
        """Where a video named ``file_name`` ends up: a Path, or a URL when remote."""
        return self.destination.final(file_name)

    def frame(self, video_id: int, frame: Any) -> int:
        """Add a frame (with the overlay drawn on it); return the video's frame count so far.

        A Ctrl-C that lands while the frame is handed over comes out once it is counted (its
        track line and the sidecar's count written), never between: the video, the track and
        the sidecar agree frame by frame.
        """
        video = self._videos.get(video_id)
        with deferred_interrupts():
            if video is None or video.log is None:  # (a video not open: the encoder says so)
                self._encoder.write(video_id, frame)
            else:
                values = video.log.values()
                if self.overlay is not None:
                    frame = self._draw(video, frame, values)
                self._encoder.write(video_id, frame)
                video.log.count_frame()
                if video.track is not None:
                    self._write_track(video_id, video, values)
            meta = self._videos[video_id].meta
            meta.frames += 1
            return meta.frames

    def _draw(self, video: _Video, frame: Any, values: dict[str, Any]) -> Any:
        """The frame with the overlay drawn on a copy: one buffer per video, reused.

        The copy is taller than the frame by the overlay's band (none for a box inside the
        frame), which the video's metadata records at its first frame. The encoder copies a
        frame out before the next one comes, so no memory is taken per frame.
        """
        assert self.overlay is not None
        assert video.converter is not None
        array = video.converter(frame)
        canvas = video.canvas
        if canvas is not None and canvas.shape != self.overlay.output_shape(array.shape, values):
            canvas = None  # the env's frames changed size
        drawn = self.overlay(array, values, out=canvas)  # a callable overlay is called once
        if drawn is not array:  # (a box with no text leaves the frame as it was)
            video.canvas = drawn
        meta = video.meta
        if meta.overlay is None:  # the band's height is fixed once a frame of this size is drawn
            meta.overlay = self.overlay.record(array.shape[0], array.shape[1], values)
        return drawn

    def _write_track(self, video_id: int, video: _Video, values: dict[str, Any]) -> None:
        assert video.track is not None
        try:
            video.track.write(track_line(values, self.track_info))
        except OSError as exc:  # a full disk: the video goes on, without its track
            logger.error("cannot write the data track of video %s: %s; dropped it", video_id, exc)
            _drop_track(video)

    def step(
        self,
        video_id: int,
        reward: Any,
        terminated: Any,
        truncated: Any,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
        counted: tuple[Any, Any, Any] | None = None,
    ) -> None:
        """Account one env step to the video (its reward and how the episode ended).

        ``action`` and ``info`` go to the overlay and the data track (the track keeps the
        info keys it was asked for, and small actions). ``counted`` is ``(reward, terminated,
        truncated)`` as the metadata counts them, when they are not what the frames show
        (SB3's wrapper sums every env's rewards; its frames show env 0's).
        """
        meta = self._videos[video_id].meta
        total, ended, cut = (reward, terminated, truncated) if counted is None else counted
        meta.steps += 1
        meta.episode_return += reward_value(total)
        meta.terminated, meta.truncated = bool(ended), bool(cut)
        self.show(video_id, reward, terminated, truncated, action=action, info=info)

    def show(
        self,
        video_id: int,
        reward: Any,
        terminated: Any,
        truncated: Any,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """The video's next frame follows this step, which its metadata does not count.

        For a video that starts after the step it shows (SB3's wrapper): its overlay and
        track show the step's reward and flags, as they do after every counted step.
        """
        video = self._videos.get(video_id)
        if video is not None and video.log is not None:
            video.log.step(reward, terminated, truncated, action=action, info=info)
        _note_info(video, info)

    def reset(self, video_id: int, episode: int, info: Mapping[str, Any] | None = None) -> None:
        """An episode began inside the video: its next frame is the episode's reset frame."""
        video = self._videos.get(video_id)
        if video is not None and video.log is not None:
            video.log.reset(episode, info)
        _note_info(video, info)

    def annotate(self, video_id: int, **fields: Any) -> None:
        """Set fields of an open video's metadata (a rendered replay's ``replay`` record)."""
        meta = self._videos[video_id].meta
        for name, value in fields.items():
            if not hasattr(meta, name):
                raise InvalidArgumentError(f"VideoMetadata has no field {name!r}")
            setattr(meta, name, value)

    def frames(self, video_id: int) -> int:
        """Frames in the video so far."""
        return self._videos[video_id].meta.frames

    def stop(self, video_id: int) -> None:
        """End a video: kept (finished in the background) or discarded, by ``keep_if``."""
        video = self._videos[video_id]
        video.open = False
        meta = video.meta
        _report_info_keys(video)
        if meta.frames == 0:
            logger.warning("Ignored saving a video as there were zero frames to save.")
            self._drop(video_id)
        elif self.keep_if is not None and not self._keep(meta):
            logger.info("keep_if rejected %s; it leaves nothing behind", Path(meta.path).name)
            self._drop(video_id)
        else:
            video.forget_values()
            self._encoder.close_video(video_id)
        self.raise_errors()

    def discard(self, video_id: int) -> None:
        """End a video and delete it, whatever ``keep_if`` says: nothing is left behind."""
        video = self._videos.get(video_id)
        if video is not None:
            video.open = False
        self._drop(video_id)
        self.raise_errors()

    def _drop(self, video_id: int) -> None:
        """Forget the video, then tell the worker to delete it.

        Its entry goes first: the worker's answer may arrive while the message is sent, and
        is then a discarded video's (issue 9: a ``KeyError`` out of ``env.reset()``).
        """
        video = self._videos.pop(video_id, None)
        if video is not None:
            video.forget_values()
            _drop_track(video)
        self._encoder.discard_video(video_id)

    def _keep(self, meta: VideoMetadata) -> bool:
        """Ask ``keep_if``; if it raises, keep the video (never lose one to a callback's bug)."""
        assert self.keep_if is not None
        try:
            return bool(self.keep_if(meta))
        except Exception as exc:
            self._errors.append(
                InvalidArgumentError(f"keep_if raised {exc!r} for {Path(meta.path).name}; kept it")
            )
            return True

    def poll(self) -> None:
        """Handle finished videos (sidecars, callbacks) without waiting; raise encoder errors."""
        self._encoder.poll()
        self._collect_uploads(wait=False)
        self.raise_errors()

    def close(self) -> None:
        """End every open video, finish every video (and upload) and stop the encoder.

        How an open video ends depends on what happened to the recording:

        - if it was cut off by a failure (:meth:`interrupt`: an exception or Ctrl-C escaped
          the wrapper's ``reset``/``step``/``render``, or left a ``with wrapper:`` block, and
          no recording call completed since), it is kept as ``<name>.incomplete.<ext>``;
        - otherwise (a plain ``close()`` mid-episode, also one in the ``except`` block of an
          unrelated error) it is saved under its final name, as Gymnasium does, and its
          metadata says ``cut_short=True`` unless its last recorded step ended the episode.

        Raises:
            RLVideoError: The first error a video hit (not after a failure: the failure's
                exception is the one that matters).
        """
        unwinding = self.interrupted
        try:
            for video_id in sorted(i for i, video in self._videos.items() if video.open):
                video = self._videos[video_id]
                if unwinding:
                    _report_info_keys(video)
                    video.open = False
                    video.forget_values()
                    self._encoder.abort_video(video_id)
                else:
                    meta = video.meta
                    meta.cut_short = not (meta.terminated or meta.truncated)
                    self.stop(video_id)
            self._encoder.shutdown(abort=unwinding)  # a video a Ctrl-C left open, too
        finally:
            try:
                self._finish_uploads()
            finally:
                self._flush_hand_off()
        if not unwinding:
            self.raise_errors()

    def abort(self) -> None:
        """Stop at once, keeping open videos as ``.incomplete`` files."""
        for video in self._videos.values():
            video.open = False
        try:
            self._encoder.shutdown(abort=True)
        finally:
            self._finish_uploads()

    def raise_errors(self) -> None:
        """Raise the first error a background video hit, once."""
        if self._errors:
            error = self._errors.pop(0)
            if isinstance(error, RLVideoError) or error in self._hand_off_errors:
                raise error  # its message names the file and the fix; or the callback's own
            raise EncoderError(f"a video could not be saved: {error!r}") from error

    def _on_done(self, result: VideoResult) -> None:
        record = self._videos.pop(result.video_id, None)
        if record is not None:
            record.forget_values()
        if result.error is not None:
            self._errors.append(result.error)
        video = result.path if result.error is None else result.kept_as  # failed: kept as
        if record is None or video is None:
            if record is not None:
                _drop_track(record)  # nothing kept: its track goes too
            return
        meta = record.meta
        track = _finish_track(record, video, result.frames)
        if video != record.staged:  # kept as .incomplete (logged by the worker)
            if self.destination.remote:  # upload it too: the machine may not outlive the run
                self._upload(video, None, track)
            return
        meta.frames = result.frames
        self._upload(video, meta, track)
        self._collect_uploads(wait=False)  # a local destination has published it already

    def _saved(self, where: SavedPath, meta: VideoMetadata, local: Path | None) -> None:
        """Report a published video; ``local`` is its uploaded staging file, None when local."""
        self.saved.append(where)
        if self.on_video_saved is None:
            return
        try:
            with lend_local_file(where, local) as handed:  # the URL, carrying its local file
                callback = functools.partial(self.on_video_saved, handed, meta)
                # Ctrl-C goes through the user's code at once
                deferred_interrupts().let_through(callback, held_first=False)
        except Exception as exc:
            self._hand_off_failed(f"on_video_saved raised {exc!r} for {where}", exc)

    def _hand_off_failed(self, what: str, exc: Exception) -> None:
        logger.error("%s; the video is saved, the error is raised by the next call", what)
        self._errors.append(exc)
        self._hand_off_errors.append(exc)

    def _flush_hand_off(self) -> None:
        """Wait for a hand-off that works in the background (its ``flush()``), if it has one."""
        flush = getattr(self.on_video_saved, "flush", None)
        if callable(flush):
            try:
                flush()
            except Exception as exc:
                self._hand_off_failed(f"on_video_saved.flush() raised {exc!r}", exc)

    # -- publishing (an upload, for remote destinations) ----------------------------------------
    def _upload(self, local: Path, meta: VideoMetadata | None, track: Path | None = None) -> None:
        """Publish a finished video (``meta`` None: an incomplete one, no sidecar).

        Its ``track``, finished beside it already (locally), is uploaded after it, when the
        destination is remote.
        """
        sidecar = None
        if meta is not None and self.metadata:
            sidecar = (sidecar_path(local).name, meta.to_json())
        overwrite = meta is not None and self.spec.overwrite
        keep = meta is not None and self.on_video_saved is not None  # for the hand-off to read
        future = self._uploader.submit(local, overwrite=overwrite, sidecar=sidecar, keep_local=keep)
        remote_track = track if self.destination.remote else None
        what: Literal["video", "incomplete"] = "incomplete" if meta is None else "video"
        self._uploads.append(_Upload(future, what, meta, local, remote_track))

    def _collect_uploads(self, *, wait: bool) -> None:
        """Report finished uploads, in the order they were queued."""
        while self._uploads and (wait or self._uploads[0].future.done()):
            upload = self._uploads.pop(0)
            meta, local = upload.meta, upload.local
            try:
                where = upload.future.result()
            except Exception as exc:
                if upload.what == "track":
                    logger.error("could not upload the data track %s: %s", local.name, exc)
                elif meta is None:
                    logger.error("could not upload a video kept as incomplete: %s", exc)
                else:
                    self._errors.append(exc)
                continue  # a failed video's track stays in staging beside it
            if upload.track is not None:  # the video is there: its track follows
                future = self._uploader.submit(upload.track, overwrite=True)
                self._uploads.append(_Upload(future, "track", None, upload.track))
            if upload.what == "track":
                logger.debug("uploaded the data track %s", where)
            elif meta is None:
                logger.warning("uploaded the incomplete video %s", where)
            else:
                logger.info("saved %s (%d frames)", where, meta.frames)
                kept = self.destination.remote and self.on_video_saved is not None
                try:
                    self._saved(where, meta, local if kept else None)
                finally:
                    if kept:  # the upload kept it for the hand-off: done with it now
                        self.destination.remove_staged(local)

    def _finish_uploads(self) -> None:
        """Wait for every upload, report them, and clean the staging folder."""
        try:
            self._collect_uploads(wait=True)
        finally:
            self._uploader.close()
            self.destination.close()


def _backlog_bytes(megabytes: Any) -> int:
    """The ``backlog_mb`` option in bytes.

    Raises:
        InvalidArgumentError: For anything but a number >= 0.
    """
    if (
        isinstance(megabytes, bool)
        or not isinstance(megabytes, (int, float))
        or not megabytes >= 0
        or megabytes == float("inf")
    ):
        raise InvalidArgumentError(f"backlog_mb must be a number >= 0, got {megabytes!r}")
    return int(megabytes * 2**20)


def _replacing_decided(spec: WriterSpec, taken: bool) -> WriterSpec:
    """The spec for the encoder once :meth:`Recorder.start` checked the video's name.

    ``overwrite=None`` replaces a file that was there (said by the recorder, in the caller's
    process: the encoder, perhaps in a process of its own, does not say it again) and keeps one
    that appears while the video is written, as the writer does (see
    :func:`~rlvideo.io._files.check_target`).
    """
    return spec.replace(overwrite=taken) if spec.overwrite is None else spec


def _note_info(video: _Video | None, info: Mapping[str, Any] | None) -> None:
    """Note the info keys of a step (while some asked for were never seen)."""
    if video is not None and video.info_keys is not None and info is not None:
        video.info_keys.note(info)


def _report_info_keys(video: _Video) -> None:
    """Name the info keys the ending video never found (a typo draws ``-``, silently)."""
    keys, video.info_keys = video.info_keys, None
    if keys is not None and video.meta.frames > 0:
        keys.report(Path(video.meta.path).name)


def _drop_track(video: _Video) -> None:
    """Delete the video's data track, if it has one: nothing is left behind."""
    track, video.track = video.track, None
    if track is not None:
        try:
            track.delete()
        except OSError as exc:
            logger.error("cannot delete the data track %s: %s", track.path, exc)


def _finish_track(video: _Video, path: Path, frames: int) -> Path | None:
    """Give a finished (or incomplete) video's track its name beside ``path``; None if none."""
    track, video.track = video.track, None
    if track is None:
        return None
    try:
        return track.finish(path, frames)
    except OSError as exc:
        logger.error("cannot finish the data track of %s: %s", path.name, exc)
        track.delete()
        return None
