"""What a recorded video holds, as a dataclass and as its JSON sidecar. Pure: no files here."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeAlias

__all__ = [
    "KeepIf",
    "OnVideoSaved",
    "SavedPath",
    "VideoMetadata",
    "parse_sidecar",
    "sidecar_path",
]

logger = logging.getLogger(__name__)


@dataclass
class VideoMetadata:
    """One recorded video: where it came from and what it holds.

    Passed to ``keep_if`` and ``on_video_saved``, and written beside the video as
    ``<name>.json`` when a wrapper is given ``metadata=True``.

    Attributes:
        path: The video file (its final name).
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
        >>> VideoMetadata.from_json(meta.to_json()) == meta
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
        """The fields as a JSON-ready dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The sidecar's text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> VideoMetadata:
        """Read a sidecar back; unknown keys (from a newer rlvideo) are ignored."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoMetadata:
        """The metadata from a sidecar's fields; unknown keys (a newer rlvideo's) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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
