"""The per-frame data track: the values each video frame shows, one JSON line per frame. Pure.

Beside ``run-episode-0.mp4`` the recorder writes ``run-episode-0.track.jsonl``: one JSON object
per video frame, in frame order, with no header, so the file has as many lines as the video
has frames. Each line holds (the contract :mod:`rlvideo.gallery` and ``rlvideo info`` read):

- ``"frame"`` (int): the 0-based frame index in the video;
- ``"episode"`` (int): the episode the frame belongs to (a step clip may span episodes);
- ``"step"`` (int): steps taken in that episode when the frame was rendered (0 after reset);
- ``"reward"`` (float or null): the reward of the step that produced the frame (null on a
  reset frame);
- ``"return"`` (float): the episode's return so far (0.0 at reset);
- ``"terminated"``, ``"truncated"`` (bool): the step's flags (false on reset frames);
- ``"action"`` (optional): the step's action when it is small (a number, or a list of at most
  16 numbers), absent otherwise and on reset frames;
- ``"info"`` (optional object): the info keys asked for (``track=["x_position"]``), absent
  when none were asked for or none was in the step's info.

Numbers that are not finite are written as null. Readers must ignore keys they do not know.

This module builds the values and the lines; :mod:`rlvideo.recording._recorder` streams them to a
hidden file and gives it the video's lifecycle. The same values feed :mod:`rlvideo.overlay`. Its one
touch of a file is :func:`read_track`, the bounded reader ``rlvideo info`` and the gallery share.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, BinaryIO

import numpy as np

from rlvideo._core.metadata import read_json
from rlvideo.errors import InvalidArgumentError

__all__ = [
    "FRAME_FIELDS",
    "MAX_ACTION_NUMBERS",
    "MAX_TRACK_LINE_BYTES",
    "TRACK_SUFFIX",
    "FrameLog",
    "check_track",
    "json_value",
    "read_track",
    "reward_value",
    "small_action",
    "summarize_track",
    "track_line",
    "track_path",
    "track_record",
    "track_records",
]

TRACK_SUFFIX = ".track.jsonl"
"""What a video's data track is named: ``<video stem>.track.jsonl``."""
MAX_ACTION_NUMBERS = 16
"""An action with more numbers than this is left out of the track."""
FRAME_FIELDS = ("frame", "episode", "step", "reward", "return", "terminated", "truncated", "action")
"""The values the recorder keeps for each frame; any other overlay field is read from info."""


def track_path(video: str | PurePath) -> Path:
    """Where a video's data track goes: beside it, same stem, ``.track.jsonl``.

    Example:
        >>> track_path("videos/run-episode-0.mp4").as_posix()
        'videos/run-episode-0.track.jsonl'
        >>> track_path("run.incomplete-2.mp4").name
        'run.incomplete-2.track.jsonl'
    """
    return Path(video).with_suffix(TRACK_SUFFIX)


def check_track(track: Any, *, metadata: bool) -> tuple[bool, tuple[str, ...]]:
    """Whether to write data tracks, and the info keys to put in them.

    ``None`` (the default) writes one wherever sidecars are written (``metadata=True``);
    ``True``/``False`` turn it on or off; a list of info keys turns it on with those keys.

    Raises:
        InvalidArgumentError: For anything else; the message says what is accepted.

    Example:
        >>> check_track(None, metadata=True), check_track(False, metadata=True)
        ((True, ()), (False, ()))
        >>> check_track(["x_position"], metadata=False)
        (True, ('x_position',))
        >>> check_track("x_position", metadata=False)
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: track must be None (on when metadata=True), True, False, or a list of info keys such as ["x_position"]; got 'x_position'
    """  # noqa: E501 (doctest output stays on one line)
    if track is None:
        return bool(metadata), ()
    if isinstance(track, bool):
        return track, ()
    if (
        isinstance(track, Sequence)
        and not isinstance(track, (str, bytes))
        and all(isinstance(key, str) and key for key in track)
    ):
        return True, tuple(dict.fromkeys(track))
    raise InvalidArgumentError(
        "track must be None (on when metadata=True), True, False, or a list of info keys "
        f'such as ["x_position"]; got {track!r}'
    )


def json_value(value: Any) -> Any:
    """``value`` as JSON can hold it: NumPy scalars and small arrays become Python values.

    Non-finite floats become None; arrays and sequences of at most
    :data:`MAX_ACTION_NUMBERS` items become lists; strings stay; anything else becomes its
    ``str`` (cut to 80 characters).

    Example:
        >>> json_value(np.float32(0.5)), json_value(float("nan")), json_value(np.array([1, 2]))
        (0.5, None, [1, 2])
        >>> json_value(np.zeros(100)) is None, json_value("left"), json_value(True)
        (True, 'left', True)
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray) or (
        isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    ):
        items = np.asarray(value).ravel() if isinstance(value, np.ndarray) else list(value)
        if len(items) > MAX_ACTION_NUMBERS:
            return None
        return [json_value(item) for item in items]
    return str(value)[:80]


def small_action(action: Any) -> Any:
    """The action as the track holds it: a number, a list of at most 16 numbers, or None.

    Example:
        >>> small_action(1), small_action(np.array([0.25, -1.0])), small_action(np.zeros(64))
        (1, [0.25, -1.0], None)
        >>> small_action({"move": 1}) is None
        True
    """
    if isinstance(action, (bool, int, float, np.generic)):
        value = json_value(action)
        return value if isinstance(value, (bool, int, float)) or value is None else None
    array = getattr(action, "__array__", None)
    if isinstance(action, (list, tuple)) or array is not None:
        try:
            numbers = np.asarray(action)
        except Exception:  # not array-like after all (ragged, a torch tensor on a GPU, ...)
            return None
        if numbers.size > MAX_ACTION_NUMBERS or numbers.dtype.kind not in "biuf":
            return None
        return [json_value(number) for number in numbers.ravel()]
    return None


def reward_value(reward: Any) -> float:
    """A reward as a float; NaN for one that is none (a multi-objective env's vector).

    A one-element array counts as its element (NumPy 2.4 refuses ``float()`` of one).

    Example:
        >>> import numpy as np
        >>> reward_value(1), reward_value([1.0, 2.0]), reward_value(np.array([0.5]))
        (1.0, nan, 0.5)
    """
    if type(reward) is float:  # most envs: every counted step comes here
        return reward
    if not isinstance(reward, np.ndarray | list | tuple):
        try:
            return float(reward)
        except (TypeError, ValueError):
            return float("nan")
    try:
        values = np.asarray(reward, dtype=np.float64)
    except (TypeError, ValueError):
        return float("nan")
    return float(values.reshape(-1)[0]) if values.size == 1 else float("nan")


class FrameLog:
    """One video's running values: episode, step, return, and the last step's outcome.

    The recorder calls :meth:`step` for every env step and :meth:`reset` when an episode
    begins inside the video; :meth:`values` gives the values of the next frame, for the
    overlay and the track, and :meth:`count_frame` moves on once the frame is taken. Frames
    rendered between two steps (``rgb_array_list``) repeat the last step's values.

    Args:
        episode: The episode of the video's first frame.
        step: Steps taken in that episode before the video started.
        episode_return: That episode's return before the video started.

    Example:
        >>> log = FrameLog(episode=0)
        >>> log.values()["reward"] is None  # the reset frame
        True
        >>> log.count_frame()
        >>> log.step(1.0, False, False, action=1)
        >>> values = log.values()
        >>> values["frame"], values["step"], values["return"], values["action"]
        (1, 1, 1.0, 1)
    """

    def __init__(self, *, episode: int, step: int = 0, episode_return: float = 0.0) -> None:
        self.frames = 0
        self.episode = episode
        self.steps = step
        self.episode_return = episode_return
        self._reward: float | None = None
        self._terminated = self._truncated = False
        self._action: Any = None
        self._info: Mapping[str, Any] | None = None

    def reset(self, episode: int, info: Mapping[str, Any] | None = None) -> None:
        """An episode began: the next frame is its reset frame."""
        self.episode, self.steps, self.episode_return = episode, 0, 0.0
        self._reward, self._terminated, self._truncated = None, False, False
        self._action, self._info = None, info

    def step(
        self,
        reward: Any,
        terminated: Any,
        truncated: Any,
        *,
        action: Any = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """One env step: the next frame is the one it rendered."""
        self._reward = reward_value(reward)
        self.steps += 1
        self.episode_return += self._reward
        self._terminated, self._truncated = bool(terminated), bool(truncated)
        self._action, self._info = action, info

    def count_frame(self) -> None:
        """The frame whose :meth:`values` were asked is in the video: the next one follows."""
        self.frames += 1

    def values(self) -> dict[str, Any]:
        """The values of the next frame.

        The keys are the track's (``frame``, ``episode``, ``step``, ``reward``, ``return``,
        ``terminated``, ``truncated``), plus ``action`` (as given, when the step had one) and
        ``info`` (the step's whole info mapping, when given).
        """
        values: dict[str, Any] = {
            "frame": self.frames, "episode": self.episode, "step": self.steps,
            "reward": self._reward, "return": self.episode_return,
            "terminated": self._terminated, "truncated": self._truncated,
        }  # fmt: skip
        if self._action is not None:
            values["action"] = self._action
        if self._info is not None:
            values["info"] = self._info
        return values


def track_line(values: Mapping[str, Any], info_keys: Sequence[str] = ()) -> str:
    r"""One frame's line of the track (with its newline), from :meth:`FrameLog.values`.

    Example:
        >>> log = FrameLog(episode=2)
        >>> log.step(float("nan"), True, False, action=np.int64(0), info={"x": np.float64(3.5)})
        >>> track_line(log.values(), ["x", "missing"])
        '{"frame":0,"episode":2,"step":1,"reward":null,"return":null,"terminated":true,"truncated":false,"action":0,"info":{"x":3.5}}\n'
    """
    line: dict[str, Any] = {
        "frame": values["frame"], "episode": values["episode"], "step": values["step"],
        "reward": json_value(values["reward"]), "return": json_value(values["return"]),
        "terminated": values["terminated"], "truncated": values["truncated"],
    }  # fmt: skip
    action = small_action(values.get("action"))
    if action is not None:
        line["action"] = action
    info = values.get("info")
    if info_keys and info is not None:
        chosen = {key: json_value(info[key]) for key in info_keys if _has(info, key)}
        if chosen:
            line["info"] = chosen
    return json.dumps(line, separators=(",", ":"), allow_nan=False) + "\n"


def _has(info: Mapping[str, Any], key: str) -> bool:
    try:
        return key in info
    except Exception:  # an info that refuses to be asked
        return False


def track_record(line: str, index: int) -> dict[str, Any]:
    """One line of a data track, checked to be the object of frame ``index``.

    Raises:
        ValueError: Naming what is wrong with the line (not JSON, not an object, another frame).

    Example:
        >>> track_record('{"frame": 0, "step": 0, "reward": null, "return": 0.0}', 0)["return"]
        0.0
        >>> track_record('{"frame": 3}', 1)
        Traceback (most recent call last):
        ...
        ValueError: has frame 3; expected 1 (one line per frame, in order)
        >>> track_record('{"frame": ' + "[" * 100_000, 0)
        Traceback (most recent call last):
        ...
        ValueError: is not JSON (nested too deeply)
    """
    try:
        record = read_json(line)
    except ValueError as exc:
        raise ValueError(f"is not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError("is not a JSON object")
    frame = record.get("frame")
    if not isinstance(frame, int) or isinstance(frame, bool) or frame != index:
        raise ValueError(f"has frame {frame!r}; expected {index} (one line per frame, in order)")
    return record


def track_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The records of a track's lines, each checked by :func:`track_record`, one at a time.

    Raises:
        ValueError: ``line N ...`` for the first line that is not its frame's object.

    Example:
        >>> lines = ['{"frame": 0, "step": 0}', '{"frame": 1, "step": 1}']
        >>> [record["step"] for record in track_records(lines)]
        [0, 1]
        >>> list(track_records(['{"frame": 0}', "[1]"]))
        Traceback (most recent call last):
        ...
        ValueError: line 2 is not a JSON object
    """
    for number, line in enumerate(lines, start=1):
        try:
            record = track_record(line, number - 1)
        except ValueError as exc:
            raise ValueError(f"line {number} {exc}") from None
        yield record


def read_track(path: str | PurePath) -> Iterator[dict[str, Any]]:
    r"""The records of the track file ``path``, read a line at a time: the one track reader.

    ``rlvideo info`` and the gallery read tracks through it. Memory stays flat and bounded
    whatever the file holds: a line longer than :data:`MAX_TRACK_LINE_BYTES` is refused, and
    so is a file that is not a regular file (``/dev/zero`` never ends; a FIFO may never
    answer), before anything is read from it.

    Raises:
        FileNotFoundError: If there is no file (the video has no track).
        ValueError: Saying what is wrong, in one line: not a regular file; ``line N`` too long,
            not UTF-8, or not its frame's object (:func:`track_record`).
        OSError: If the file cannot be opened or read.

    Example:
        >>> _ = Path("run.track.jsonl").write_bytes(b'{"frame": 0, "step": 0}\n{"frame": 1}\xff\n')
        >>> list(read_track("run.track.jsonl"))
        Traceback (most recent call last):
        ...
        ValueError: line 2 is not UTF-8 (byte 12)
        >>> next(read_track("/dev/zero"))
        Traceback (most recent call last):
        ...
        ValueError: is not a regular file
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as handle:  # closes the descriptor, whatever happens next
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError("is not a regular file")
        yield from track_records(_bounded_lines(handle))


MAX_TRACK_LINE_BYTES = 1 << 20
"""The longest track line read (1 MiB); a frame's line holds a few hundred bytes."""


def _bounded_lines(handle: BinaryIO) -> Iterator[str]:
    """The lines of a binary file as text, none longer than :data:`MAX_TRACK_LINE_BYTES`."""
    for number in itertools.count(1):
        raw = handle.readline(MAX_TRACK_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_TRACK_LINE_BYTES:
            raise ValueError(f"line {number} is longer than {MAX_TRACK_LINE_BYTES} bytes")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"line {number} is not UTF-8 (byte {exc.start})") from None


def summarize_track(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What a data track holds, in numbers: what ``rlvideo info`` prints.

    Returns a dict with ``frames`` (lines), ``missing`` (frames ``rlvideo recover`` found no
    line for, marked ``{"frame": N, "missing": true}``; they count in no other field),
    ``episodes`` (how many the frames span), ``steps`` (frames that followed a step), ``reward``
    (``min``, ``max``, ``mean`` over those steps, None when there were none), ``final_return``
    (the return at the last frame of each episode, in order), ``terminated`` and ``truncated``
    (the last frame's flags), ``action`` (whether actions were recorded) and ``info_keys`` (the
    info keys seen, sorted). Memory stays flat: records are taken one at a time (from
    :func:`read_track` or :func:`track_records`, whose ValueError for a bad line passes
    through).

    Example:
        >>> lines = [
        ...     '{"frame": 0, "episode": 2, "step": 0, "reward": null, "return": 0.0}',
        ...     '{"frame": 1, "episode": 2, "step": 1, "reward": 1.0, "return": 1.0, "action": 1}',
        ...     '{"frame": 2, "episode": 2, "step": 2, "reward": -0.5, "return": 0.5, '
        ...     '"terminated": true, "info": {"x_position": 0.25}}',
        ... ]
        >>> summary = summarize_track(track_records(lines))
        >>> summary["frames"], summary["steps"], summary["reward"], summary["final_return"]
        (3, 2, {'min': -0.5, 'max': 1.0, 'mean': 0.25}, [0.5])
        >>> summary["terminated"], summary["action"], summary["info_keys"]
        (True, True, ['x_position'])
    """
    frames = steps = missing = 0
    low, high, total = math.inf, -math.inf, 0.0
    returns: list[Any] = []
    last_episode: Any = object()
    last: Mapping[str, Any] = {}
    action = False
    info_keys: set[str] = set()
    for record in records:
        frames += 1
        if record.get("missing") is True:  # a frame recover found no line for: no values
            missing += 1
            continue
        if record.get("episode") != last_episode or not returns:
            last_episode = record.get("episode")
            returns.append(None)
        returns[-1] = record.get("return")
        reward = record.get("reward")
        if isinstance(reward, int | float) and not isinstance(reward, bool):
            steps += 1
            low, high, total = min(low, reward), max(high, reward), total + reward
        action = action or "action" in record
        if isinstance(record.get("info"), dict):
            info_keys.update(str(key) for key in record["info"])
        last = record
    rewards = None if steps == 0 else {"min": low, "max": high, "mean": total / steps}
    return {
        "frames": frames,
        "missing": missing,
        "episodes": len(returns),
        "steps": steps,
        "reward": rewards,
        "final_return": returns,
        "terminated": bool(last.get("terminated", False)),
        "truncated": bool(last.get("truncated", False)),
        "action": action,
        "info_keys": sorted(info_keys),
    }
