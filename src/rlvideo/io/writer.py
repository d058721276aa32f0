"""The streaming video writer: frames in, one finished file out, memory flat.

:class:`VideoWriter` encodes each frame as it arrives (PyAV, FFmpeg's libraries) into a
hidden partial file beside the final name, which every format flushes to disk at least once a
second of video (:attr:`~rlvideo._core.formats.Format.muxer_options`), so a killed process
loses at most about the last second. ``close()`` flushes the encoder, finalizes the file (MP4:
remuxed from fragmented to a normal MP4 with the index first) and renames it atomically. An
exception inside ``with`` keeps what was recorded as ``<name>.incomplete.<ext>``; so does a
failure of the disk (full, a file size limit: a :class:`~rlvideo.StorageError`) or of the
encoder, from what reached the disk.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import av
import av.container
import av.filter
import av.video.format
import av.video.frame
import av.video.reformatter
import av.video.stream
import numpy as np
import numpy.typing as npt

from rlvideo._core.codecs import THREADED_MIN_PIXELS, EncoderSettings
from rlvideo._core.formats import FORMATS, Format, check_format
from rlvideo._core.frames import DEFAULT_FLOAT_RANGE, PixelLayout, layout_of_converted
from rlvideo._core.naming import (
    ABORTED_STAGE,
    FINAL_STAGE,
    VideoFormat,
    format_from_path,
    partial_name,
    restage,
)
from rlvideo._core.spec import (
    MAX_FPS,
    MAX_FRAME_SECONDS,
    MIN_FPS,
    WriterSpec,
    check_duration,
    check_fps,
)
from rlvideo.errors import (
    EncoderError,
    InvalidArgumentError,
    InvalidFrameError,
    RLVideoError,
    StorageError,
    VideoExistsError,
    WriterClosedError,
)
from rlvideo.io._files import (
    check_target,
    claim,
    keep_as_incomplete,
    publish,
    release,
    remove_companions,
)
from rlvideo.io._gif import Quantizer
from rlvideo.io.recovery import remux, salvage

__all__ = [
    "MAX_FPS",
    "MAX_FRAME_SECONDS",
    "MIN_FPS",
    "VideoWriter",
    "check_duration",
    "check_fps",
    "check_target",
]

logger = logging.getLogger(__name__)

_PIPELINE_DEPTH = 4  # converted frames waiting for the encoder thread
_T = TypeVar("_T")


class VideoWriter:
    """Write frames to a video file as they come, keeping memory flat.

    Args:
        path: The final file; its suffix (.mp4, .webm, .gif) picks the format unless ``format``
            is given. Its folder is created if needed.
        fps: Frames per second (default 30); a frame written with ``duration=`` lasts that long
            instead.
        format: ``"mp4"``, ``"webm"`` or ``"gif"``; from the suffix when None.
        codec: An FFmpeg encoder name; the format's default (libx264, libvpx-vp9, gif) when None.
        crf: Constant-quality level, lower is better; the codec's default when None.
        options: Extra encoder options, e.g. ``{"preset": "medium"}``.
        overwrite: An existing file at ``path``: None (default) is replaced when the new video
            is final (said once per folder, as a re-run expects), True is replaced quietly,
            False is an error raised here, before anything is written.
        threads: None (default) spreads the work over the machine's cores: FFmpeg's threads,
            plus colour conversion beside encoding for frames of 320x240 and more. 1 keeps it
            on one thread, for the least CPU when something else needs the other cores.
        float_range: The values of black and white in float frames: ``(0, 1)`` (default), or
            ``(0, 255)`` for floats holding 0-255 data.

    Raises:
        InvalidArgumentError: For a bad fps, format, codec or crf.
        VideoExistsError: If ``path`` exists and ``overwrite`` is False.

    Example:
        >>> import numpy as np
        >>> with VideoWriter("demo.mp4", fps=30) as writer:
        ...     for i in range(60):
        ...         writer.write(np.full((64, 96, 3), i * 4, np.uint8))
        >>> writer.frames_written, writer.path.name
        (60, 'demo.mp4')
        >>> VideoWriter("demo.mp4", overwrite=False)
        Traceback (most recent call last):
        ...
        rlvideo.errors.VideoExistsError: .../demo.mp4 already exists. Pass overwrite=True to replace it, or choose another name.
    """  # noqa: E501 (doctest output stays on one line)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float | Fraction = 30,
        format: str | None = None,  # the word users know from PyAV and mediapy
        codec: str | None = None,
        crf: int | None = None,
        options: Mapping[str, str] | None = None,
        overwrite: bool | None = None,
        threads: int | None = None,
        float_range: tuple[float, float] = DEFAULT_FLOAT_RANGE,
    ) -> None:
        absolute = _absolute(path)
        spec = WriterSpec.build(
            format=format_from_path(absolute) if format is None else format, fps=fps,
            codec=codec, crf=crf, options=options, overwrite=overwrite, threads=threads,
            float_range=float_range,
        )  # fmt: skip
        self._setup(absolute, spec)

    @classmethod
    def from_spec(cls, path: str | os.PathLike[str], spec: WriterSpec) -> VideoWriter:
        """A writer for ``path`` with checked settings (:class:`~rlvideo._core.spec.WriterSpec`).

        Example:
            >>> import numpy as np
            >>> spec = WriterSpec.build(format="webm", fps=10)
            >>> with VideoWriter.from_spec("spec.webm", spec) as writer:
            ...     writer.write(np.zeros((32, 32, 3), np.uint8))
            >>> writer.settings.codec
            'libvpx-vp9'
        """
        writer = cls.__new__(cls)
        writer._setup(_absolute(path), spec)
        return writer

    def _setup(self, path: Path, spec: WriterSpec) -> None:
        self.path = path
        self.spec = spec
        """Every setting, checked (:class:`~rlvideo._core.spec.WriterSpec`)."""
        self._closed = True  # until checked: __del__ of a writer that failed here does nothing
        taken = check_target(self.path, overwrite=self.overwrite)
        self._replaces = self.overwrite is True or taken  # None: only what is there now
        self.frames_written = 0
        """How many frames went into the encoder."""
        self.duration = 0.0
        """Seconds of video written so far."""
        self.kept_as: Path | None = None
        """Where the frames went when the video could not be finished under :attr:`path`
        (``<name>.incomplete.<ext>``, after :meth:`abort` or a failed :meth:`close`), else None."""
        self.hold_lock = False
        """For rlvideo's own use: keep the finished file locked after :meth:`close` or
        :meth:`abort` (``rlvideo recover`` leaves it alone) and hand its lock to
        :attr:`held_lock`, for the caller to close once it is done with the file."""
        self.held_lock: int | None = None
        self._convert = spec.frame_converter()
        self._out: _Output | None = None
        self._closed = False
        self._started = 0.0
        self._next_pts = 0
        self._elapsed_ticks = 0.0
        self._record: Format = FORMATS[spec.format]  # what differs between formats
        self._ticks_per_second = self._record.ticks_per_second(self.fps)
        self._min_step = self._record.min_frame_ticks

    # -- the settings, from the spec -----------------------------------------------------
    @property
    def format(self) -> VideoFormat:
        """``"mp4"``, ``"webm"`` or ``"gif"``."""
        return self.spec.format

    @property
    def fps(self) -> Fraction:
        """Frames per second, exact."""
        return self.spec.fps

    @property
    def settings(self) -> EncoderSettings:
        """The codec, its pixel format and options."""
        return self.spec.encoder

    @property
    def overwrite(self) -> bool | None:
        """An existing file at :attr:`path`: None replaced (said), True replaced, False kept."""
        return self.spec.overwrite

    @property
    def threads(self) -> int | None:
        """None: the machine's cores; 1: one thread."""
        return self.spec.threads

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self.frames_written} frames"
        return f"<VideoWriter {str(self.path)!r} {self.settings.codec} @ {self.fps} fps, {state}>"

    # -- writing -----------------------------------------------------------------------
    def write(self, frame: Any, *, duration: float | None = None, keyframe: bool = False) -> None:
        """Encode one frame.

        The frame is checked and converted to the codec's pixel format here, in the caller's
        thread; the caller may reuse its array as soon as ``write`` returns.

        Args:
            frame: An image array: ``(H, W, 3)`` uint8 RGB passes zero-copy; grayscale, RGBA,
                float in [0, 1] and bool are converted (see :mod:`rlvideo._core.frames`).
            duration: Seconds this frame is shown; ``1 / fps`` when None.
            keyframe: Make this frame a keyframe (a point where playback and cutting can start).

        Raises:
            InvalidFrameError: If the frame cannot become video.
            WriterClosedError: If the writer was closed.
            EncoderError: If FFmpeg fails.
        """
        self._check_open()
        seconds = None if duration is None else check_duration(duration, self.frames_written)
        array = self._convert(frame)
        self._encode_array(array, self._convert.layout, seconds, keyframe)

    def write_converted(
        self,
        array: npt.NDArray[np.uint8],
        *,
        duration: float | None = None,
        pipelined: bool = False,
    ) -> None:
        """Encode a frame that a :class:`~rlvideo._core.frames.FrameConverter` converted already.

        For the background encoder, whose caller converts each frame where it was given (with
        ``spec.frame_converter()``): the frame is not checked again.
        ``duration`` must have been checked too (:func:`~rlvideo._core.spec.check_duration`).
        ``pipelined``: encode it on a second thread while this one converts the next frame
        (the worker's drain, when the env waits and a second core is worth taking); frames
        stay in order whichever way each one goes.
        """
        self._check_open()
        layout = self._out.layout if self._out is not None else layout_of_converted(array)
        self._encode_array(array, layout, duration, keyframe=False, pipelined=pipelined)

    def _encode_array(
        self,
        array: npt.NDArray[np.uint8],
        layout: PixelLayout,
        seconds: float | None,
        keyframe: bool,
        *,
        pipelined: bool = False,
    ) -> None:
        """Encode a converted frame shown for ``seconds`` (checked; ``1 / fps`` when None)."""
        per_frame = 1 / self.fps if seconds is None else seconds
        ticks = float(per_frame * self._ticks_per_second)
        out = self._out or self._open(layout)
        video_frame = self._check(out.convert, array)
        pts = max(round(self._elapsed_ticks), self._next_pts)
        self._elapsed_ticks += ticks
        self._next_pts = pts + self._min_step
        video_frame.pts = pts
        video_frame.duration = max(round(self._elapsed_ticks), self._next_pts) - pts
        if keyframe:
            video_frame.pict_type = av.video.frame.PictureType.I
        self._check(out.submit, video_frame, pipelined)
        self.frames_written += 1
        self.duration = self._elapsed_ticks / self._ticks_per_second

    def write_batch(self, frames: Iterable[Any]) -> None:
        """Encode many frames: an ``(N, H, W, C)`` array, a list, or any iterable of frames."""
        for frame in frames:
            self.write(frame)

    # -- finishing ---------------------------------------------------------------------
    def close(self) -> Path:
        """Flush the encoder, finalize the file and move it to its final name.

        Returns:
            The final path.

        Raises:
            InvalidFrameError: If no frame was written (no empty file is ever left).
            VideoExistsError: If another process took the name meanwhile; the video is then
                kept as ``<name>.incomplete.<ext>`` and the message says where.
        """
        if self._closed:
            return self.path
        out = self._out
        self._closed, self._out = True, None
        if out is None:
            raise InvalidFrameError(
                f"no frames were written to {self.path}; nothing was saved. "
                "Write at least one frame before close()."
            )
        try:
            finished = self._check(out.finish)
        except BaseException:
            self._keep_after_failure(out)
            raise
        if finished is None:
            raise EncoderError(
                f"{self.settings.codec} produced no frame for {self.path.name} from "
                f"{self.frames_written} written; nothing was saved"
            )
        try:
            publish(finished, self.path, overwrite=self._replaces)
        except FileExistsError:
            self.kept_as = keep_as_incomplete(finished, self.path)
            raise VideoExistsError.for_path(self.path, kept_as=self.kept_as) from None
        finally:
            self._done_with(out)  # published or kept: recover may see it no more
        if self._replaces:  # the replaced video's sidecar, track and poster go with it
            remove_companions(self.path)
        logger.info(
            "wrote %s (%d frames, %.2f s of video, %.2f s to encode)",
            self.path, self.frames_written, self.duration, time.perf_counter() - self._started,
        )  # fmt: skip
        return self.path

    def abort(self) -> Path | None:
        """Stop early: keep what was recorded as ``<name>.incomplete.<ext>``, never the final name.

        Returns:
            Where the frames were kept, or None if there were none.
        """
        if self._closed:
            return None
        out = self._out
        self._closed, self._out = True, None
        if out is None:
            return None
        try:
            finished = self._check(out.finish, ABORTED_STAGE)
        except Exception as exc:  # the encoder or the disk failed: keep what the partial holds
            logger.warning("could not finalize %s (%s); keeping what was written", self.path, exc)
            return self._keep_after_failure(out)
        if finished is None:
            logger.info("%s: the encoder produced no frame; nothing to keep", self.path.name)
            return None
        try:
            self.kept_as = keep_as_incomplete(finished, self.path)
        finally:
            self._done_with(out)
        logger.warning(
            "recording stopped early: kept %d frames of %s as %s",
            self.frames_written, self.path.name, self.kept_as,
        )  # fmt: skip
        return self.kept_as

    def discard(self) -> None:
        """Stop and delete everything written: nothing is left behind, under any name."""
        if self._closed:
            return
        out = self._out
        self._closed, self._out = True, None
        if out is not None:
            out.discard()
            logger.info("discarded %s (%d frames)", self.path.name, self.frames_written)

    def __del__(self) -> None:
        # A writer dropped without close(): keep its frames rather than lose them silently.
        if getattr(self, "_out", None) is not None and not getattr(self, "_closed", True):
            logger.warning("VideoWriter for %s was never closed; keeping its frames", self.path)
            try:
                self.abort()
            except Exception:  # nothing may escape __del__; the log says why
                logger.exception("could not keep the frames of %s", self.path)

    # -- internals ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise WriterClosedError(f"write() on the closed writer of {self.path}; open a new one")

    def _check(self, action: Callable[..., _T], *args: Any) -> _T:
        """Run an encoder step, turning FFmpeg and OS errors into rlvideo's."""
        try:
            return action(*args)
        except RLVideoError:
            raise
        except OSError as exc:  # PyAV's errno errors are FFmpegErrors *and* OSErrors
            if isinstance(exc, (BlockingIOError, InterruptedError)):
                raise EncoderError(
                    f"{self.settings.codec} failed near frame {self.frames_written} of "
                    f"{self.path.name}: {exc}"
                ) from exc
            raise StorageError.from_os_error(exc, self.path) from exc
        except av.error.FFmpegError as exc:
            raise EncoderError(
                f"{self.settings.codec} failed near frame {self.frames_written} of "
                f"{self.path.name}: {exc}"
            ) from exc

    def _done_with(self, out: _Output) -> None:
        """Release the lock of the file ``out`` finished, or hold it on (see ``hold_lock``)."""
        lock = out.take_lock()
        if self.hold_lock:
            self.held_lock = lock
        else:
            release(lock)

    def _keep_after_failure(self, out: _Output) -> Path | None:
        """After a failed finish: keep the frames the partial file holds, or remove it."""
        try:
            self.kept_as = salvage(out.partial, self.path)
        finally:
            self._done_with(out)
        if self.kept_as is None:
            logger.error("%s: no complete frame could be kept", self.path)
        else:
            logger.warning("kept what was recorded of %s as %s", self.path.name, self.kept_as)
        return self.kept_as

    def _open(self, layout: PixelLayout) -> _Output:
        self._started = time.perf_counter()
        max_fps = self._record.max_fps
        if max_fps is not None and self.fps > max_fps:
            logger.warning(
                "%s plays at most %d fps in browsers; %s fps frames will be shown longer",
                self._record.label, max_fps, self.fps,
            )  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the folder {self.path.parent}: {exc.strerror or exc}"
            ) from exc
        partial = partial_name(self.path)
        options = dict(self._record.muxer_options)
        try:
            lock = claim(partial)  # `rlvideo recover` leaves a file alone while this lock lives
        except OSError as exc:
            raise StorageError.from_os_error(exc, self.path) from exc
        try:
            container = av.open(str(partial), "w", format=self.format, options=options)
        except OSError as exc:
            release(lock)
            partial.unlink(missing_ok=True)
            raise StorageError.from_os_error(exc, self.path) from exc
        big = self.threads is None and layout.width * layout.height >= THREADED_MIN_PIXELS
        try:
            stream = self._add_stream(container, layout, threaded=big)
            graph = _palette_graph(layout, stream) if self._record.paletted else None
        except av.error.FFmpegError as exc:
            container.close()
            partial.unlink(missing_ok=True)
            release(lock)
            self._closed = True
            raise EncoderError(
                f"{self.settings.codec} refused {layout.width}x{layout.height} at {self.fps} fps "
                f"with options {dict(self.settings.options)} for {self.path.name}: {exc}"
            ) from exc
        logger.debug(
            "encoding %s with %s %s %s", self.path.name, self.settings.codec,
            self.settings.pixel_format, dict(self.settings.options),
        )  # fmt: skip
        self._out = _Output(
            partial, container, stream, graph, layout, threads=0 if big else 1, lock=lock
        )
        return self._out

    def _add_stream(
        self, container: av.container.OutputContainer, layout: PixelLayout, *, threaded: bool
    ) -> av.video.stream.VideoStream:
        stream = container.add_stream(self.settings.codec, rate=self.fps)
        if not isinstance(stream, av.video.stream.VideoStream):
            raise EncoderError(f"{self.settings.codec} is not a video encoder")
        stream.width, stream.height = layout.width, layout.height
        stream.pix_fmt = self.settings.pixel_format
        time_base = Fraction(1, self._ticks_per_second)
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if threaded:
            stream.codec_context.thread_type = "AUTO"
        else:
            stream.codec_context.thread_count = 1
        if self.settings.pixel_format == "yuv420p":
            _tag_bt601(stream)
        stream.codec_context.options = dict(self.settings.options)
        stream.codec_context.open()
        return stream


_STOP = object()


class _Output:
    """An open video: the partial file, its container and stream, and the encoding pipeline.

    ``convert`` runs in the caller's thread and turns an array into a frame in the stream's
    pixel format (a new buffer, so the caller's array is free again). ``submit`` hands the frame
    to the encoder: for frames of at least :data:`THREADED_MIN_PIXELS` pixels a worker thread
    encodes and muxes while the caller converts the next frame (PyAV releases the GIL in both),
    through a queue of :data:`_PIPELINE_DEPTH` frames, so memory stays bounded; smaller frames
    are encoded inline, where a thread hand-off would cost more than it saves, unless the
    caller asks for the thread frame by frame (``submit(frame, pipelined=True)``: the encoder
    process draining its backlog while the env waits). An inline frame waits for the thread's
    frames first, so the order never changes.
    """

    def __init__(
        self,
        partial: Path,
        container: av.container.OutputContainer,
        stream: av.video.stream.VideoStream,
        graph: Quantizer | None,
        layout: PixelLayout,
        *,
        threads: int,
        lock: int | None = None,
    ) -> None:
        self.partial = partial
        self._lock = lock  # held while the partial file is ours (see recovery.claim)
        self.container = container
        self.stream = stream
        self.graph = graph
        self.layout = layout
        self._reformatter = av.video.reformatter.VideoReformatter()
        self._queue: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._threads = threads  # 0: pipelined, and conversion on FFmpeg's threads; 1: inline
        self.packets = 0  # encoded frames that reached the container
        if threads == 0:
            self._start_thread()

    def _start_thread(self) -> queue.Queue[Any]:
        jobs: queue.Queue[Any] = queue.Queue(maxsize=_PIPELINE_DEPTH)
        self._queue = jobs
        self._thread = threading.Thread(
            target=self._run, args=(jobs,), name="rlvideo-encode", daemon=True
        )
        self._thread.start()
        return jobs

    def convert(self, array: npt.NDArray[np.uint8]) -> av.VideoFrame:
        """A frame in the stream's input format that shares no memory with ``array``."""
        if self.graph is not None:  # the GIF palette graph converts by itself
            return av.VideoFrame.from_ndarray(array, format=self.layout.pixel_format)
        source = av.VideoFrame.from_numpy_buffer(array, format=self.layout.pixel_format)
        return self._reformatter.reformat(source, format=self.stream.pix_fmt, threads=self._threads)

    def submit(self, frame: av.VideoFrame, pipelined: bool = False) -> None:
        """Encode ``frame``: on the worker thread for big frames or when ``pipelined``."""
        jobs = self._queue
        if self._threads == 0 or pipelined:
            if jobs is None:
                jobs = self._start_thread()
            self._raise_worker_error()
            jobs.put(frame)
            return
        if jobs is not None:  # frames the thread took come first
            jobs.join()
            self._raise_worker_error()
        self._encode(frame)

    def finish(self, stage: str = FINAL_STAGE) -> Path | None:
        """Flush and close the encoder; return a finished file (not yet under its final name).

        The file returned stays locked (see :func:`~rlvideo.io._files.claim`) until
        :meth:`release`, so that ``rlvideo recover`` leaves it alone until the caller has
        published or kept it. MP4 is remuxed into a file named for ``stage``:
        :data:`~rlvideo._core.naming.FINAL_STAGE` for a video to publish, or
        :data:`~rlvideo._core.naming.ABORTED_STAGE` for one stopped early, which a kill must never
        leave under a name ``recover`` would publish as complete.

        Returns None, having removed the partial file, when the encoder produced no frame at all
        (it refused the first one): there is nothing to keep, and no empty file is left.
        """
        try:
            if self._queue is not None and self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join()
                self._raise_worker_error()
            self._encode(None)  # flush: the encoder holds the last frames until told to stop
        finally:
            self.container.close()
        if self.packets == 0:
            self.partial.unlink(missing_ok=True)
            self.release()
            return None
        container_format = check_format(self.container.format.name)
        if not FORMATS[container_format].remux_on_close:
            return self.partial
        finished = restage(self.partial, stage)
        lock = claim(finished)  # locked before it holds a byte: recover never takes it
        try:
            remux(self.partial, finished, container_format=container_format)
        except BaseException:
            finished.unlink(missing_ok=True)
            release(lock)
            raise
        self.partial.unlink()
        self.release()
        self._lock = lock
        return finished

    def take_lock(self) -> int | None:
        """Hand the lock of the file :meth:`finish` returned to the caller, who releases it."""
        lock, self._lock = self._lock, None
        return lock

    def discard(self) -> None:
        """Stop the worker, close the container and delete the partial file."""
        try:
            if self._queue is not None and self._thread is not None:
                self._error = self._error or RuntimeError("discarded")  # skip queued frames
                self._queue.put(_STOP)
                self._thread.join()
        finally:
            self.container.close()
            self.partial.unlink(missing_ok=True)
            self.release()

    def release(self) -> None:
        """Give up the lock of the file being written or finished (once it was published or kept).

        Idempotent.
        """
        release(self._lock)
        self._lock = None

    def _run(self, jobs: queue.Queue[Any]) -> None:
        while (frame := jobs.get()) is not _STOP:
            if self._error is None:  # after an error, keep draining so the caller never blocks
                try:
                    self._encode(frame)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc
            jobs.task_done()
        jobs.task_done()

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _encode(self, frame: av.VideoFrame | None) -> None:
        if self.graph is None:
            self._mux(frame)
            return
        for quantized in self.graph.push(frame):
            self._mux(quantized)
        if frame is None:
            self._mux(None)

    def _mux(self, frame: av.VideoFrame | None) -> None:
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
            self.packets += 1


def _tag_bt601(stream: av.video.stream.VideoStream) -> None:
    """Say what the RGB -> YUV conversion did: BT.601 matrix, limited range (swscale's default).

    Untagged, players guess by size: BT.601 below 720 lines, BT.709 above, so a large (tiled)
    video would play with shifted colours.
    """
    context = stream.codec_context
    context.colorspace = int(av.video.reformatter.Colorspace.ITU601)
    context.color_range = int(av.video.reformatter.ColorRange.MPEG)
    context.color_primaries = 6  # SMPTE 170M (AVCOL_PRI_SMPTE170M)
    context.color_trc = 6  # SMPTE 170M (AVCOL_TRC_SMPTE170M)


def _palette_graph(layout: PixelLayout, stream: av.video.stream.VideoStream) -> Quantizer:
    """RGB -> pal8 with a fresh 256-colour palette per frame: exact colours, nothing buffered."""
    return Quantizer(
        width=layout.width,
        height=layout.height,
        pixel_format=layout.pixel_format,
        time_base=stream.codec_context.time_base,
    )


def _absolute(path: str | os.PathLike[str]) -> Path:
    try:
        return Path(path).absolute()
    except TypeError:
        raise InvalidArgumentError(
            f"path must be a str or os.PathLike naming the video file, got {path!r}"
        ) from None
