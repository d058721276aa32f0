"""What a recorded video holds, as a dataclass and as its JSON sidecar. Pure: no files here.

In memory (``keep_if``, ``on_video_saved``) :attr:`VideoMetadata.path` is where the video is:
a full path or URL. A sidecar (and the manifest) stores it relative to its own folder, as the
file's name, so a folder that is moved or uploaded stays valid; readers resolve it against the
sidecar's folder with :func:`resolve_video_path`, which keeps the absolute paths that rlvideo
before 0.2 wrote.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import typing
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, TypeAlias

from rlvideo.errors import InvalidArgumentError

__all__ = [
    "KeepIf",
    "OnVideoSaved",
    "SavedPath",
    "VideoMetadata",
    "parse_sidecar",
    "read_json",
    "resolve_video_path",
    "sidecar_path",
    "sidecar_problem",
    "video_name",
]

logger = logging.getLogger(__name__)


@functools.cache
def _version() -> str:  # every video's metadata asks: once is enough
    from rlvideo import __version__

    return __version__


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
        episode_return: Sum of the rewards of the recorded steps; NaN where a reward is a
            vector (a multi-objective env), stored as null in the sidecar.
        seed: The seed given to the ``reset`` that started the episode, if any.
        fps: Frames per second.
        codec: The encoder, e.g. ``"libx264"``.
        env_index: The sub-env, for per-env vector videos; None otherwise.
        terminated: Whether the recorded episode ended by termination.
        truncated: Whether it ended by truncation.
        cut_short: Whether the recording ended before its episode did: ``close()`` was called
            mid-episode (the video is saved, as Gymnasium saves it, and says so here).
        overlay: The text burnt into the frames (``overlay=``), None if none:
            ``{"position": "top", "band_height": 24}``. A ``"top"`` or ``"bottom"`` band of
            ``band_height`` rows was added to the env's frames (rows ``[band_height:]`` or
            ``[:-band_height]`` are the env's); a corner's box is inside them
            (``band_height`` 0). See :meth:`rlvideo.overlay.Overlay.record`.
        replay: For a video rendered from a replay (``replay=True``), None otherwise:
            ``{"file": "<stem>.replay.npz", "verified": true}``, or, when the replay
            diverged from the recorded steps, ``"verified": false`` with
            ``"diverged_at_step"`` (the step of the episode, 0 for its reset) and
            ``"diverged_at_frame"`` (the video holds the frames before it).
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
    overlay: dict[str, Any] | None = None
    replay: dict[str, Any] | None = None
    rlvideo_version: str = field(default_factory=lambda: _version())

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict, ``path`` as it is here (full path or URL)."""
        return asdict(self)

    def to_sidecar_dict(self) -> dict[str, Any]:
        """The fields as a sidecar stores them: ``path`` relative to the sidecar's folder.

        An ``episode_return`` that is not a number (NaN: a multi-objective env's vector
        rewards) is stored as null, so that a sidecar is strict JSON (``jq``, JavaScript);
        :meth:`from_dict` reads it back as NaN.
        """
        data = {**asdict(self), "path": video_name(self.path)}
        if not math.isfinite(self.episode_return):
            data["episode_return"] = None
        return data

    def to_json(self) -> str:
        """The sidecar's text (``path`` relative to the sidecar's folder): strict JSON.

        Example:
            >>> meta = VideoMetadata(path="a.mp4", kind="episode", episode_return=math.nan)
            >>> '"episode_return": null' in meta.to_json()
            True
            >>> math.isnan(VideoMetadata.from_json(meta.to_json()).episode_return)
            True
        """
        return json.dumps(self.to_sidecar_dict(), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, *, folder: str | Path | None = None) -> VideoMetadata:
        """Read a sidecar back; unknown keys (from a newer rlvideo) are ignored.

        Args:
            text: The sidecar's JSON.
            folder: The sidecar's folder (a path or URL), to resolve its relative ``path``
                against; None keeps the path as stored.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise InvalidArgumentError(f"not a video's metadata: a JSON {type(data).__name__}")
        if folder is not None and isinstance(data.get("path"), str):
            data["path"] = resolve_video_path(data["path"], folder)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoMetadata:
        """The metadata from a sidecar's fields; unknown keys (a newer rlvideo's) are ignored.

        Raises:
            InvalidArgumentError: If a field is missing or holds the wrong kind of value
                (:func:`sidecar_problem` says which).
        """
        problem = sidecar_problem(data)
        if problem:
            raise InvalidArgumentError(f"not a video's metadata: {problem}")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "episode_return" in values and values["episode_return"] is None:
            values["episode_return"] = math.nan  # not a number (to_sidecar_dict)
        return cls(**values)


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
    """A sidecar's fields, all of them; None, and a one-line warning naming ``where``, if not one.

    The one reader of sidecars: the manifest, the gallery and ``rlvideo info`` use it. A sidecar
    is skipped when it is not JSON (or JSON that Python refuses: nested too deep, an integer of
    more than 4300 digits), not an object, or when a field of :class:`VideoMetadata` is missing
    or holds the wrong kind of value (:func:`sidecar_problem`): what it returns can be given to
    :meth:`VideoMetadata.from_dict`.

    Example:
        >>> parse_sidecar('{"path": "a.mp4", "kind": "episode"}', "a.json")["kind"]
        'episode'
        >>> parse_sidecar("{not json", "a.json") is None
        True
        >>> parse_sidecar('{"path": "a.mp4", "kind": "episode", "return": 1}', "a.json")["return"]
        1
        >>> parse_sidecar('{"path": "a.mp4", "kind": "episode", "episode_return": "1"}', "a")
    """
    try:
        value = read_json(text)
    except ValueError as exc:
        logger.warning("skipped %s: not a JSON sidecar (%s); ignoring the sidecar", where, exc)
        return None
    problem = sidecar_problem(value)
    if problem:
        logger.warning(
            "skipped %s: not an rlvideo sidecar (%s); ignoring the sidecar", where, problem
        )
        return None
    return dict(value)


def read_json(text: str) -> Any:
    """``json.loads(text)``; every failure a :class:`ValueError` saying in one line what is wrong.

    Besides text that is not JSON, Python refuses JSON nested deeper than its recursion limit
    (:class:`RecursionError`) and integers of more than 4300 digits; both become ValueError.

    Example:
        >>> read_json('{"a": [1]}')
        {'a': [1]}
        >>> read_json("[" * 100_000)
        Traceback (most recent call last):
        ...
        ValueError: nested too deeply
        >>> read_json("9" * 5000)
        Traceback (most recent call last):
        ...
        ValueError: a number of more than 4300 digits
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:  # int("9" * 5000) past sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        raise ValueError(f"a number of more than {limit} digits") from None


def sidecar_problem(data: object) -> str:
    """What keeps ``data`` from being a sidecar's fields ("" when nothing).

    It must be a JSON object holding ``path`` and ``kind``, and each field of
    :class:`VideoMetadata` it holds must have that field's type: a string, an integer, a
    number (an integer or a float), true/false, an object, or null where the field may be
    None; an ``overlay`` object holds a string ``position`` and an integer ``band_height`` of
    0 or more. Keys the dataclass does not know (a newer rlvideo's, ``run``, ``worker``) are
    not checked.

    Example:
        >>> sidecar_problem({"path": "a.mp4", "kind": "step", "seed": None, "fps": 30})
        ''
        >>> sidecar_problem({"path": "a.mp4", "kind": "step", "env_id": 7})
        'env_id is an int; expected a string or null'
        >>> sidecar_problem({"path": "a.mp4", "kind": "step", "episode": True})
        'episode is a bool; expected an integer'
        >>> sidecar_problem({"path": "a.mp4"}), sidecar_problem([1])
        ('no kind', 'a JSON list, not an object')
        >>> sidecar_problem({"path": "a.mp4", "kind": "step", "overlay": {"position": "top"}})
        'overlay has no band_height (an integer >= 0)'
    """
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        return f"no {', '.join(missing)}"
    for name, kinds in _FIELD_KINDS.items():
        if name in data and not _is_kind(data[name], kinds):
            value = data[name]
            given = "null" if value is None else f"{_article(type(value).__name__)}"
            expected = " or ".join(_KIND_WORDS[kind] for kind in kinds)
            return f"{name} is {given}; expected {expected}"
    if isinstance(data.get("overlay"), dict):
        return _overlay_problem(data["overlay"])
    return ""


def _overlay_problem(record: dict[str, Any]) -> str:
    """What keeps ``record`` from being a sidecar's ``overlay`` ("" when nothing)."""
    if not isinstance(record.get("position"), str):
        return 'overlay has no position (a string such as "top")'
    height = record.get("band_height")
    if isinstance(height, bool) or not isinstance(height, int) or height < 0:
        return "overlay has no band_height (an integer >= 0)"
    return ""


def _field_kinds() -> dict[str, tuple[type, ...]]:
    """Each field's accepted types, from :class:`VideoMetadata`'s annotations."""
    hints = typing.get_type_hints(VideoMetadata)
    kinds = {
        f.name: typing.get_args(hints[f.name]) or (hints[f.name],) for f in fields(VideoMetadata)
    }
    kinds["episode_return"] += (type(None),)  # null: not a number (to_sidecar_dict)
    # dict[str, Any] is checked as a dict
    return {name: tuple(typing.get_origin(k) or k for k in ks) for name, ks in kinds.items()}


def _is_kind(value: object, kinds: tuple[type, ...]) -> bool:
    if value is None or isinstance(value, bool):  # bool is an int to Python, not to a sidecar
        return type(value) in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


_FIELD_KINDS = _field_kinds()
_REQUIRED = tuple(
    f.name for f in fields(VideoMetadata) if f.default is MISSING and f.default_factory is MISSING
)
_KIND_WORDS: dict[type, str] = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    dict: "an object", type(None): "null",
}  # fmt: skip


def sidecar_path(video: str | Path) -> Path:
    """Where a video's JSON sidecar goes: beside it, same stem, ``.json``."""
    return Path(video).with_suffix(".json")
