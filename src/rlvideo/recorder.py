"""The engine under every wrapper: background videos, their bookkeeping, and their endings.

When a video ends, ``keep_if`` decides whether it stays, its JSON sidecar is written and
``on_video_saved`` is called.

Wrappers decide *when* a video starts and stops (gym's trigger rules); a :class:`Recorder`
does the rest, so the single-env, vector and SB3 wrappers share one implementation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvideo.background import BackgroundEncoder, EncoderKind, VideoResult
from rlvideo.codecs import encoder_settings
from rlvideo.encoder import check_fps
from rlvideo.errors import EncoderError, InvalidArgumentError, RLVideoError, StorageError
from rlvideo.metadata import VideoMetadata, sidecar_path
from rlvideo.naming import check_format, check_name_prefix

__all__ = ["Recorder"]

logger = logging.getLogger(__name__)

KeepIf = Callable[[VideoMetadata], bool]
OnVideoSaved = Callable[[Path, VideoMetadata], None]


class Recorder:
    """Start, feed and finish videos in a :class:`~rlvideo.background.BackgroundEncoder`.

    Args:
        video_folder: Where videos go; created if needed.
        name_prefix: Checked to hold no path separator.
        fps: Frames per second.
        format: ``"mp4"``, ``"webm"`` or ``"gif"``.
        codec: An FFmpeg encoder, or None for the format's default.
        crf: Quality, or None for the codec's default.
        overwrite: Replace videos whose names are taken (else: an error when one starts).
        metadata: Write a JSON sidecar beside each video.
        on_video_saved: ``(path, metadata) -> None``, called when a video is final.
        keep_if: ``metadata -> bool``, asked when a video ends; False deletes it.
        encoder: ``"process"`` or ``"thread"``.
        env_id: Recorded in every video's metadata.
        encoder_options: Raw encoder options, e.g. ``{"preset": "ultrafast"}``.
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
    ) -> None:
        check_name_prefix(name_prefix)
        self.format = check_format(format)
        self.fps = check_fps(fps)
        self.settings = encoder_settings(self.format, codec=codec, crf=crf, options=encoder_options)
        for name, hook in (("on_video_saved", on_video_saved), ("keep_if", keep_if)):
            if hook is not None and not callable(hook):
                raise InvalidArgumentError(f"{name} must be a callable or None, got {hook!r}")
        self.folder = Path(video_folder).absolute()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create video_folder {self.folder}: {exc.strerror or exc}"
            ) from exc
        self.options: dict[str, Any] = {
            "fps": self.fps, "format": self.format, "codec": codec, "crf": crf,
            "overwrite": overwrite, "options": dict(encoder_options or {}),
        }  # fmt: skip
        self.metadata = metadata
        self.on_video_saved = on_video_saved
        self.keep_if = keep_if
        self.env_id = env_id
        self.saved: list[Path] = []
        """Every video saved so far, in the order they were finished."""
        self._encoder = BackgroundEncoder(kind=encoder, on_done=self._on_done)
        self._videos: dict[int, VideoMetadata] = {}
        self._next_id = 0
        self._errors: list[BaseException] = []

    def start(self, name: str, *, kind: str, episode: int, first_step: int, **extra: Any) -> int:
        """Open ``<folder>/<name>.<format>``; return its id. A taken name raises here."""
        video_id = self._next_id
        self._next_id += 1
        path = self.folder / f"{name}.{self.format}"
        self._encoder.open_video(video_id, path, self.options)
        self._videos[video_id] = VideoMetadata(
            path=str(path), kind=kind, env_id=self.env_id, episode=episode, first_step=first_step,
            fps=float(self.fps), codec=self.settings.codec, **extra,
        )  # fmt: skip
        return video_id

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
        meta = self._videos[video_id]
        if meta.frames == 0:
            logger.warning("Ignored saving a video as there were zero frames to save.")
            self._encoder.discard_video(video_id)
            del self._videos[video_id]
        elif self.keep_if is not None and not self._keep(meta):
            logger.info("keep_if rejected %s; it leaves nothing behind", Path(meta.path).name)
            self._encoder.discard_video(video_id)
            del self._videos[video_id]
        else:
            self._encoder.close_video(video_id)
        self.raise_errors()

    def discard(self, video_id: int) -> None:
        """End a video and delete it, whatever ``keep_if`` says: nothing is left behind."""
        self._encoder.discard_video(video_id)
        del self._videos[video_id]
        self.raise_errors()

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
        self.raise_errors()

    def close(self) -> None:
        """Finish every video and stop the encoder; raise the first encoder error, if any."""
        self._encoder.shutdown()
        self.raise_errors()

    def abort(self) -> None:
        """Stop at once, keeping open videos as ``.incomplete`` files."""
        self._encoder.shutdown(abort=True)

    def raise_errors(self) -> None:
        """Raise the first error a background video hit, once."""
        if self._errors:
            error = self._errors.pop(0)
            if isinstance(error, RLVideoError):  # its message names the file and the fix
                raise error
            raise EncoderError(f"a video could not be saved: {error!r}") from error

    def _on_done(self, result: VideoResult) -> None:
        meta = self._videos.pop(result.video_id, None)
        if result.error is not None:
            self._errors.append(result.error)
            return
        if meta is None or result.path is None or result.path != Path(meta.path):
            return  # discarded, or kept as .incomplete (logged by the worker)
        meta.frames = result.frames
        logger.info("saved %s (%d frames)", result.path, result.frames)
        if self.metadata:
            _write_atomically(sidecar_path(result.path), meta.to_json())
        self.saved.append(result.path)
        if self.on_video_saved is not None:
            self.on_video_saved(result.path, meta)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
