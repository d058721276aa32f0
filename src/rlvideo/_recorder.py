"""The engine under every wrapper: background videos, their bookkeeping, and their endings.

When a video ends, ``keep_if`` decides whether it stays, its JSON sidecar is written and
``on_video_saved`` is called. For a ``video_folder`` that is an fsspec URL (see
:mod:`rlvideo.storage`) a finished video is uploaded first, by one upload thread, so the env loop
waits neither for the encoder nor for the network; the sidecar and the callback follow the
upload, in the caller's thread, from :meth:`Recorder.poll` or :meth:`Recorder.close`.

The hand-off (``on_video_saved``) gets a final, readable video: a local path, or for a URL
folder the URL, with the uploaded local file kept until the callback returns
(:func:`rlvideo.storage.local_file` finds it). A callback that raises loses no video: the video
is saved, later videos are still handed off, and the exception is raised, as it was, from the
next call (``step``, ``reset`` or ``close``). If the callback has a ``flush()`` method (the
:mod:`rlvideo.loggers` do), :meth:`Recorder.close` calls it last, so ``close()`` returns once
every hand-off is done.

Wrappers decide *when* a video starts and stops (gym's trigger rules); a :class:`Recorder`
does the rest, so the single-env, vector and SB3 wrappers share one implementation.
"""

from __future__ import annotations

import logging
import os
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from rlvideo._background import BackgroundEncoder, EncoderKind, VideoResult
from rlvideo.errors import EncoderError, InvalidArgumentError, RLVideoError
from rlvideo.metadata import KeepIf, OnVideoSaved, VideoMetadata, sidecar_path
from rlvideo.naming import check_name_prefix
from rlvideo.spec import WriterSpec
from rlvideo.storage import SavedPath, Uploader, lend_local_file, open_destination

__all__ = ["KeepIf", "OnVideoSaved", "Recorder"]

logger = logging.getLogger("rlvideo.recorder")  # the documented name (README, Logging)


def _exception_propagating() -> bool:
    """Whether the caller runs while an exception unwinds (``finally``, ``except``, ``__exit__``).

    A generator being closed (``GeneratorExit``) is a normal end, not a failure.
    """
    error = sys.exc_info()[1]
    return error is not None and not isinstance(error, (GeneratorExit, StopIteration))


class Recorder:
    """Start, feed and finish videos in a :class:`~rlvideo._background.BackgroundEncoder`.

    Args:
        video_folder: Where videos go: a folder, created if needed, or an fsspec URL.
        name_prefix: Checked to hold no path separator.
        fps: Frames per second.
        format: ``"mp4"``, ``"webm"`` or ``"gif"``.
        codec: An FFmpeg encoder, or None for the format's default.
        crf: Quality, or None for the codec's default.
        overwrite: Replace videos whose names are taken (else: an error when one starts).
        metadata: Write a JSON sidecar beside each video.
        on_video_saved: ``(path, metadata) -> None``, called when a video is final (see the
            module's docstring for URLs, errors and ``flush()``).
        keep_if: ``metadata -> bool``, asked when a video ends; False deletes it.
        encoder: ``"process"`` or ``"thread"``.
        env_id: Recorded in every video's metadata.
        encoder_options: Raw encoder options, e.g. ``{"preset": "ultrafast"}``.
        storage_options: fsspec options (credentials, endpoint) for a URL ``video_folder``.
    """

    def __init__(
        self,
        video_folder: str | os.PathLike[str],
        *,
        name_prefix: str,
        fps: float,
        format: str,
        codec: str | None,
        crf: int | None,
        overwrite: bool,
        metadata: bool,
        on_video_saved: OnVideoSaved | None,
        keep_if: KeepIf | None,
        encoder: EncoderKind,
        env_id: str | None,
        encoder_options: dict[str, str] | None = None,
        storage_options: dict[str, Any] | None = None,
        float_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        check_name_prefix(name_prefix)
        self.spec = WriterSpec.build(
            format=format, fps=fps, codec=codec, crf=crf, options=encoder_options,
            overwrite=overwrite, float_range=float_range,
        )  # fmt: skip
        """Every video's settings, checked here once and passed down to the worker."""
        for name, hook in (("on_video_saved", on_video_saved), ("keep_if", keep_if)):
            if hook is not None and not callable(hook):
                raise InvalidArgumentError(f"{name} must be a callable or None, got {hook!r}")
        self.destination = open_destination(video_folder, storage_options)
        self.destination.prepare()
        self.metadata = metadata
        self.on_video_saved = on_video_saved
        self.keep_if = keep_if
        self.env_id = env_id
        self.saved: list[SavedPath] = []
        """Every video saved so far, in the order they were finished (URLs when remote)."""
        self._encoder = BackgroundEncoder(kind=encoder, on_done=self._on_done)
        self._videos: dict[int, VideoMetadata] = {}  # open, or ended and not yet reported
        self._open: set[int] = set()  # started and not yet stopped
        self._staged: dict[int, Path] = {}  # where each open video is written locally
        self._uploads: list[tuple[Future[SavedPath], VideoMetadata | None, Path]] = []
        self._uploader = Uploader(self.destination)
        self._next_id = 0
        self._errors: list[BaseException] = []
        self._hand_off_errors: list[BaseException] = []  # raised as they are, not wrapped

    def start(self, name: str, *, kind: str, episode: int, first_step: int, **extra: Any) -> int:
        """Open ``<folder>/<name>.<format>``; return its id. A taken name raises here."""
        file_name = f"{name}.{self.spec.format}"
        self.destination.check_free(file_name, overwrite=self.spec.overwrite)
        video_id = self._next_id
        self._next_id += 1
        path = self.destination.staging_path(file_name, unique=str(video_id))
        self._encoder.open_video(video_id, path, self.spec)
        self._staged[video_id] = path
        self._open.add(video_id)
        self._videos[video_id] = VideoMetadata(
            path=str(self.destination.final(file_name)), kind=kind, env_id=self.env_id,
            episode=episode, first_step=first_step, fps=float(self.spec.fps),
            codec=self.spec.codec, **extra,
        )  # fmt: skip
        return video_id

    def final(self, file_name: str) -> SavedPath:
        """Where a video named ``file_name`` ends up: a Path, or a URL when remote."""
        return self.destination.final(file_name)

    def frame(self, video_id: int, frame: Any) -> int:
        """Add a frame; return the video's frame count so far."""
        self._encoder.write(video_id, frame)
        meta = self._videos[video_id]
        meta.frames += 1
        return meta.frames

    def step(self, video_id: int, reward: Any, terminated: Any, truncated: Any) -> None:
        """Account one env step to the video (its reward and how the episode ended)."""
        meta = self._videos[video_id]
        meta.steps += 1
        meta.episode_return += float(reward)
        meta.terminated, meta.truncated = bool(terminated), bool(truncated)

    def frames(self, video_id: int) -> int:
        """Frames in the video so far."""
        return self._videos[video_id].frames

    def stop(self, video_id: int) -> None:
        """End a video: kept (finished in the background) or discarded, by ``keep_if``."""
        self._open.discard(video_id)
        meta = self._videos[video_id]
        if meta.frames == 0:
            logger.warning("Ignored saving a video as there were zero frames to save.")
            self._drop(video_id)
        elif self.keep_if is not None and not self._keep(meta):
            logger.info("keep_if rejected %s; it leaves nothing behind", Path(meta.path).name)
            self._drop(video_id)
        else:
            self._encoder.close_video(video_id)
        self.raise_errors()

    def discard(self, video_id: int) -> None:
        """End a video and delete it, whatever ``keep_if`` says: nothing is left behind."""
        self._open.discard(video_id)
        self._drop(video_id)
        self.raise_errors()

    def _drop(self, video_id: int) -> None:
        """Forget the video, then tell the worker to delete it.

        Its entry goes first: the worker's answer may arrive while the message is sent, and
        is then a discarded video's (issue 9: a ``KeyError`` out of ``env.reset()``).
        """
        self._videos.pop(video_id, None)
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

        How an open video ends depends on why ``close()`` runs:

        - while an exception or interrupt propagates (``close()`` from a ``finally``, an
          ``except`` or a ``with`` block that is unwinding, Ctrl-C included), it is kept as
          ``<name>.incomplete.<ext>``: it was cut off by the failure, not finished;
        - otherwise (a plain ``close()`` mid-episode) it is saved under its final name, as
          Gymnasium does, and its metadata says ``cut_short=True`` unless its last recorded
          step ended the episode.

        Raises:
            RLVideoError: The first error a video hit.
        """
        unwinding = _exception_propagating()
        try:
            for video_id in sorted(self._open):
                if unwinding:
                    self._open.discard(video_id)
                    self._encoder.abort_video(video_id)
                else:
                    meta = self._videos[video_id]
                    meta.cut_short = not (meta.terminated or meta.truncated)
                    self.stop(video_id)
            self._encoder.shutdown()
        finally:
            try:
                self._finish_uploads()
            finally:
                self._flush_hand_off()
        if not unwinding:  # else the exception on its way out is the one that matters
            self.raise_errors()

    def abort(self) -> None:
        """Stop at once, keeping open videos as ``.incomplete`` files."""
        self._open.clear()
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
        meta = self._videos.pop(result.video_id, None)
        staged = self._staged.pop(result.video_id, None)
        if result.error is not None:
            self._errors.append(result.error)
            return
        if meta is None or result.path is None:
            return  # discarded
        if result.path != staged:  # kept as .incomplete (logged by the worker)
            if self.destination.remote:  # upload it too: the machine may not outlive the run
                self._upload(result.path, None)
            return
        meta.frames = result.frames
        self._upload(result.path, meta)
        self._collect_uploads(wait=False)  # a local destination has published it already

    def _saved(self, where: SavedPath, meta: VideoMetadata, local: Path | None) -> None:
        """Report a published video; ``local`` is its uploaded staging file, None when local."""
        self.saved.append(where)
        if self.on_video_saved is None:
            return
        try:
            with lend_local_file(where, local):
                self.on_video_saved(where, meta)
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
    def _upload(self, local: Path, meta: VideoMetadata | None) -> None:
        """Publish a finished video (``meta`` None: an incomplete one, no sidecar)."""
        sidecar = None
        if meta is not None and self.metadata:
            sidecar = (sidecar_path(local).name, meta.to_json())
        overwrite = meta is not None and self.spec.overwrite
        keep = meta is not None and self.on_video_saved is not None  # for the hand-off to read
        future = self._uploader.submit(local, overwrite=overwrite, sidecar=sidecar, keep_local=keep)
        self._uploads.append((future, meta, local))

    def _collect_uploads(self, *, wait: bool) -> None:
        """Report finished uploads, in the order they were queued."""
        while self._uploads and (wait or self._uploads[0][0].done()):
            future, meta, local = self._uploads.pop(0)
            try:
                where = future.result()
            except Exception as exc:
                if meta is None:
                    logger.error("could not upload a video kept as incomplete: %s", exc)
                else:
                    self._errors.append(exc)
                continue
            if meta is None:
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
