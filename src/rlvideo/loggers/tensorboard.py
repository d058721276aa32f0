"""The TensorBoard logger: each finished video as a GIF that TensorBoard's Images tab plays."""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import time
import weakref
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from rlvideo._core.metadata import SavedPath, VideoMetadata
from rlvideo._core.optional import import_optional
from rlvideo.errors import InvalidArgumentError
from rlvideo.io._preview import MAX_FPS, MAX_FRAMES, MAX_SIZE, GifPreview, check_limits, gif_preview
from rlvideo.loggers.base import StepOf, VideoLogger, caption, video_key

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(VideoLogger):
    """Log each video to TensorBoard as a GIF that its Images tab plays, at the video's step.

    TensorBoard has no video view; its Images tab plays GIFs. rlvideo encodes each GIF itself
    (no moviepy), scaled down to ``max_size`` on its longer side and to at most ``max_frames``
    frames and ``max_fps`` (frames are skipped evenly, so the GIF lasts as long as the video),
    reading the video one frame at a time (memory stays flat). The image summary's tag is
    ``tag`` (``tag/env_<k>`` for a sub-env's video); its description, and a text summary under
    ``<tag>/path`` at the same step, give the video's path or URL.

    Args:
        writer: Where to write: a ``torch.utils.tensorboard.SummaryWriter``, a tensorboardX
            ``SummaryWriter`` (or a file writer with ``add_summary``), or a log dir, written by
            rlvideo with the ``tensorboard`` package and no torch. None: a new log dir,
            ``runs/<date>_<host>`` (what ``SummaryWriter()`` picks).
        tag: The image summary's tag.
        step: ``step(meta) -> int``; ``meta.first_step`` when None.
        max_size: The GIF's longer side at most, in pixels (default 256).
        max_frames: The GIF's frames at most (default 300).
        max_fps: The GIF's frame rate at most (default 50).
        background: Encode and write in a thread of the logger's own (default).
        storage_options: fsspec options, to download videos given as URLs with no local file.

    Raises:
        MissingDependencyError: If the tensorboard package (for a log dir) is not installed
            (``pip install "rlvideo[tensorboard]"``).
        InvalidArgumentError: For a writer that is none of these, or a bad limit.

    Example:
        >>> from torch.utils.tensorboard import SummaryWriter
        >>> writer = SummaryWriter("runs/torch")
        >>> board = TensorBoardLogger(writer, max_size=128)  # or TensorBoardLogger("runs/ppo")
        >>> board.log_dir
        'runs/torch'
        >>> writer.close()
    """

    def __init__(
        self,
        writer: Any = None,
        /,
        *,
        tag: str = "videos",
        step: StepOf | None = None,
        max_size: int = MAX_SIZE,
        max_frames: int = MAX_FRAMES,
        max_fps: float = MAX_FPS,
        background: bool = True,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(step=step, background=background, storage_options=storage_options)
        check_limits(max_size=max_size, max_frames=max_frames, max_fps=max_fps)
        self.tag, self.max_size, self.max_frames, self.max_fps = tag, max_size, max_frames, max_fps
        self.writer = writer
        self._events: Any = None  # the event file rlvideo writes itself, for a log dir
        self._unflushed = False  # a user's writer got summaries since the last flush
        if writer is None or isinstance(writer, (str, os.PathLike)):
            self._protos = _protos("tensorboard")
            if writer is None:
                stamp = datetime.now().strftime("%b%d_%H-%M-%S")
                writer = os.path.join("runs", f"{stamp}_{socket.gethostname()}")
            self.log_dir = os.fspath(writer)
            module = import_optional(
                "tensorboard.summary.writer.event_file_writer", "tensorboard",
                feature="rlvideo.loggers.TensorBoardLogger",
            )  # fmt: skip
            self._events = module.EventFileWriter(self.log_dir, filename_suffix=".rlvideo")
            _close_at_exit(self)
        elif callable(getattr(writer, "_get_file_writer", None)) or hasattr(writer, "add_summary"):
            tensorboardx = type(writer).__module__.startswith("tensorboardX")
            self._protos = _protos("tensorboardX" if tensorboardx else "tensorboard")
            get_logdir = getattr(writer, "get_logdir", None)
            self.log_dir = str(
                get_logdir() if callable(get_logdir) else getattr(writer, "logdir", "")
            )
        else:
            raise InvalidArgumentError(
                "TensorBoardLogger takes a SummaryWriter (torch.utils.tensorboard or "
                f"tensorboardX), a log dir, or None; got {type(writer).__name__}"
            )

    def preview(
        self, path: str | os.PathLike[str], meta: VideoMetadata | None = None
    ) -> GifPreview:
        """The GIF this logger makes of the video at ``path``, within its limits."""
        return gif_preview(
            path, max_size=self.max_size, max_frames=self.max_frames, max_fps=self.max_fps,
            frames=meta.frames or None if meta is not None else None,
        )  # fmt: skip

    def _log(
        self, path: Path, where: SavedPath, meta: VideoMetadata, step: int, target: Any
    ) -> None:
        gif = self.preview(path, meta)
        tag = video_key(self.tag, meta)
        video = f"{meta.frames} frames at {meta.fps:g} fps; " if meta.frames else ""
        text = (
            f"{caption(meta)}: `{where}` ({video}this GIF: {gif.frames} frames, "
            f"{gif.width}x{gif.height}, {gif.fps:g} fps)"
        )
        pb = self._protos
        image = pb.summary.Summary.Value(
            tag=tag,
            metadata=pb.summary.SummaryMetadata(
                display_name=tag,
                summary_description=text,
                plugin_data=pb.summary.SummaryMetadata.PluginData(plugin_name="images"),
            ),
            image=pb.summary.Summary.Image(
                height=gif.height, width=gif.width, colorspace=3, encoded_image_string=gif.data
            ),
        )
        path_text = pb.summary.Summary.Value(
            tag=f"{tag}/path",
            metadata=pb.summary.SummaryMetadata(
                plugin_data=pb.summary.SummaryMetadata.PluginData(plugin_name="text")
            ),
            tensor=pb.tensor.TensorProto(
                dtype=pb.types.DT_STRING, string_val=[text.encode()],
                tensor_shape=pb.shape.TensorShapeProto(dim=[pb.shape.TensorShapeProto.Dim(size=1)]),
            ),
        )  # fmt: skip
        summary = pb.summary.Summary(value=[image, path_text])
        if self._events is not None:
            self._events.add_event(
                pb.event.Event(wall_time=time.time(), step=step, summary=summary)
            )
        else:
            self._file_writer().add_summary(summary, step, time.time())
            self._unflushed = True

    def _file_writer(self) -> Any:
        get = getattr(self.writer, "_get_file_writer", None)
        return get() if callable(get) else self.writer

    def _flush_tracker(self) -> None:
        if self._events is not None:
            self._events.flush()
        elif self._unflushed:  # never after: a closed torch writer would open a new file
            self._unflushed = False
            self._file_writer().flush()

    def _close_tracker(self) -> None:
        events, self._events = self._events, None
        if events is not None:
            events.close()


def _protos(package: str) -> SimpleNamespace:
    """The TensorBoard protobuf modules, from ``tensorboard`` or from ``tensorboardX``."""
    extra, feature = "tensorboard", "rlvideo.loggers.TensorBoardLogger"
    base = "tensorboardX.proto" if package == "tensorboardX" else "tensorboard.compat.proto"
    modules: dict[str, ModuleType] = {
        name: import_optional(f"{base}.{module}", extra, feature=feature)
        for name, module in (
            ("summary", "summary_pb2"), ("event", "event_pb2"), ("tensor", "tensor_pb2"),
            ("shape", "tensor_shape_pb2"), ("types", "types_pb2"),
        )
    }  # fmt: skip
    return SimpleNamespace(**modules)


def _close_at_exit(board: TensorBoardLogger) -> None:
    """Close a log dir's event file at exit, after the logger's thread finished its videos."""
    ref = weakref.ref(board)

    def close() -> None:
        alive = ref()
        if alive is not None:
            with contextlib.suppress(Exception):
                alive.close()

    atexit.register(close)
