"""What a recorded video holds, as a dataclass and as its JSON sidecar. Pure: no files here.

In memory (``keep_if``, ``on_video_saved``) :attr:`VideoMetadata.path` is where the video is:
a full path or URL. A sidecar (and the manifest) stores it relative to its own folder, as the
file's name, so a folder that is moved or uploaded stays valid; readers resolve it against the
sidecar's folder with :func:`resolve_video_path`, which keeps the absolute paths that rlvideo
before 0.2 wrote.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, TypeAlias

__all__ = [
    "KeepIf",
    "OnVideoSaved",
    "SavedPath",
    "VideoMetadata",
    "parse_sidecar",
    "resolve_video_path",
    "sidecar_path",
    "video_name",
]

logger = logging.getLogger(__name__)


@dataclass
class VideoMetadata:
    """One recorded video: where it came from and what it holds.

    Passed to ``keep_if`` and ``on_video_saved``, and written beside the video as
    ``<name>.json`` when a wrapper is given ``metadata=True``.

    Attributes:
        path: The video file (its final name): a full path or URL here; in the sidecar's JSON,
            the name relative to the sidecar's folder.
        kind: ``"episode"`` or ``"step"``: which trigger started it; ``"manual"`` for a video
            started by calling ``start_recording`` by hand.
        env_id: The env's registered id (``env.spec.id``), if it has one.
        episode: The episode index when the video started.
        first_step: The global step index of the first frame after the start (the frame after a
            reset frame, or the step that fired a step trigger).
        steps: Env steps recorded (frames recorded after a step).
        frames: Frames in the video.
        episode_return: Sum of the rewards of the recorded steps.
        seed: The seed given to the ``reset`` that started the episode, if any.
        fps: Frames per second.
        codec: The encoder, e.g. ``"libx264"``.
        env_index: The sub-env, for per-env vector videos; None otherwise.
        terminated: Whether the recorded episode ended by termination.
        truncated: Whether it ended by truncation.
        cut_short: Whether the recording ended before its episode did: ``close()`` was called
            mid-episode (the video is saved, as Gymnasium saves it, and says so here).
        rlvideo_version: The rlvideo version that wrote it.

    Example:
        >>> meta = VideoMetadata(path="v/rl-video-episode-0.mp4", kind="episode", episode=0)
        >>> json.loads(meta.to_json())["path"]
        'rl-video-episode-0.mp4'
        >>> VideoMetadata.from_json(meta.to_json(), folder="v") == meta
        True
        >>> sidecar_path("v/rl-video-episode-0.mp4").as_posix()
        'v/rl-video-episode-0.json'
    """

    path: str
    kind: str
    env_id: str | None = None
    episode: int = 0
    first_step: int = 0
    steps: int = 0
    frames: int = 0
    episode_return: float = 0.0
    seed: int | None = None
    fps: float = 30.0
    codec: str = ""
    env_index: int | None = None
    terminated: bool = False
    truncated: bool = False
    cut_short: bool = False
    rlvideo_version: str = field(default_factory=lambda: _version())

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict, ``path`` as it is here (full path or URL)."""
        return asdict(self)

    def to_sidecar_dict(self) -> dict[str, Any]:
        """The fields as a sidecar stores them: ``path`` relative to the sidecar's folder."""
        return {**asdict(self), "path": video_name(self.path)}

    def to_json(self) -> str:
        """The sidecar's text (``path`` relative to the sidecar's folder)."""
        return json.dumps(self.to_sidecar_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, folder: str | Path | None = None) -> VideoMetadata:
        """Read a sidecar back; unknown keys (from a newer rlvideo) are ignored.

        Args:
            text: The sidecar's JSON.
            folder: The sidecar's folder (a path or URL), to resolve its relative ``path``
                against; None keeps the path as stored.
        """
        data = json.loads(text)
        if folder is not None and isinstance(data.get("path"), str):
            data["path"] = resolve_video_path(data["path"], folder)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoMetadata:
        """The metadata from a sidecar's fields; unknown keys (a newer rlvideo's) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def video_name(path: str | Path) -> str:
    """The file name of a video path or URL: what a sidecar stores as its ``path``.

    Example:
        >>> video_name("/runs/a/rl-video-episode-0.mp4"), video_name("s3://b/runs/x.webm")
        ('rl-video-episode-0.mp4', 'x.webm')
    """
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def resolve_video_path(stored: str, folder: str | Path) -> str:
    """A sidecar's ``path`` as a full path or URL: relative ones against the sidecar's folder.

    Absolute paths and URLs (which rlvideo before 0.2 stored) are returned as they are.

    Example:
        >>> resolve_video_path("a.mp4", "runs/cp")
        'runs/cp/a.mp4'
        >>> resolve_video_path("a.mp4", "s3://bucket/runs/")
        's3://bucket/runs/a.mp4'
        >>> resolve_video_path("/old/place/a.mp4", "runs/cp")
        '/old/place/a.mp4'
    """
    if "://" in stored or PurePosixPath(stored).is_absolute() or PureWindowsPath(stored).drive:
        return stored
    where = str(folder)
    if "://" in where:
        return f"{where.rstrip('/')}/{stored}"
    return str(Path(where, stored))


SavedPath: TypeAlias = Path | str
"""Where a video was saved: a :class:`~pathlib.Path` in a local folder, a URL string otherwise."""

OnVideoSaved: TypeAlias = Callable[[SavedPath, VideoMetadata], object]
"""``on_video_saved(where, metadata)``: called once a video is final, in the env's thread.

``where`` is a :class:`~pathlib.Path` for a local folder and a URL string for an fsspec URL
folder; a callback only ever used with local folders may take ``Path(where)``."""

KeepIf: TypeAlias = Callable[[VideoMetadata], bool]
"""``keep_if(metadata) -> bool``: asked when a video ends; False deletes it."""


def parse_sidecar(text: str, where: object) -> dict[str, Any] | None:
    """A sidecar's fields, all of them; None, and a warning naming ``where``, if it is not one.

    The one reader of sidecars: the manifest, the gallery and ``rlvideo info`` use it.

    Example:
        >>> parse_sidecar('{"path": "a.mp4", "kind": "episode"}', "a.json")["kind"]
        'episode'
        >>> parse_sidecar("{not json", "a.json") is None
        True
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        logger.warning("skipped %s: not a JSON sidecar (%s); ignoring the sidecar", where, exc)
        return None
    if not isinstance(value, dict) or "path" not in value:
        logger.warning("skipped %s: not an rlvideo sidecar (no path); ignoring the sidecar", where)
        return None
    return value


def sidecar_path(video: str | Path) -> Path:
    """Where a video's JSON sidecar goes: beside it, same stem, ``.json``."""
    return Path(video).with_suffix(".json")


def _version() -> str:
    from rlvideo import __version__

    return __version__
