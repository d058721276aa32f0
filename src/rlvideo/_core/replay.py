"""What a replay file holds, and the digest that verifies a replayed step (issue 23).

With ``replay=True`` a wrapper does not render in the loop: it keeps what replaying needs (the
env's spec, the RNG state before each reset, the actions) and a digest of what each step gave
(:func:`step_digest`). The renderer makes the env again, replays the actions, and compares each
step's digest with the recorded one: a mismatch is a divergence, never a silently wrong video.

The digest is ``zlib.crc32`` chained over the observation's leaves (stdlib; 0.3 us a CartPole
observation, 30 us a 210x160x3 Atari frame), each leaf folded in with its dtype and shape, a
dict's keys sorted and folded in by name, then the reward and the two end flags. A 32-bit digest
misses about one divergence in 4e9 steps.

The replay file's header (:class:`ReplayHeader`) is JSON, versioned: a reader refuses a major
version it does not know.

Pure: the standard library and NumPy only.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from rlvideo.errors import InvalidArgumentError

__all__ = [
    "DIGEST",
    "FORMAT",
    "REPLAY_DEFAULTS",
    "REPLAY_SUFFIX",
    "VERSION",
    "LoggedSegment",
    "LoggedVideo",
    "ReplayHeader",
    "ReplayOptions",
    "check_replay_options",
    "chosen_by_return",
    "file_arrays",
    "logged_segment",
    "narrowed",
    "obs_digest",
    "render_overrides",
    "replay_file",
    "replay_path",
    "step_digest",
    "unreplayable_actions",
]

FORMAT = "rlvideo.replay"
"""The header's ``format`` field: says what the file is."""
VERSION = 1
"""The replay file's format version this rlvideo writes and reads."""
REPLAY_SUFFIX = ".replay.npz"
"""A video's replay file: beside it, same stem (``rl-video-episode-0.replay.npz``)."""

DIGEST = {"algo": "crc32", "of": ["obs", "reward", "terminated", "truncated"]}
"""What the header says of the digests: :func:`step_digest`'s algorithm and what it covers."""

_STEP = struct.Struct("<d??")  # reward, terminated, truncated
_HEADS: dict[tuple[Any, tuple[int, ...]], bytes] = {}  # an array leaf's dtype and shape, encoded
_HEAD_CRCS: dict[tuple[Any, tuple[int, ...]], int] = {}  # the crc32 of each, from 0
_SMALL = 4096  # bytes: an observation this small is copied (tobytes) faster than viewed (data)


def replay_path(video: str | PurePath) -> Path:
    """Where a video's replay file goes: beside it, same stem, ``.replay.npz``.

    Example:
        >>> replay_path("videos/rl-video-episode-0.mp4").as_posix()
        'videos/rl-video-episode-0.replay.npz'
    """
    return Path(video).with_suffix(REPLAY_SUFFIX)


def obs_digest(obs: Any, start: int = 0) -> int:
    """A crc32 of ``obs``: arrays, numbers, strings, and dicts/tuples/lists of them.

    Each array leaf is folded in with its dtype and shape (so ``[1, 2]`` as int32 and as int64
    differ), a dict's keys sorted and by name, sequences in order.

    Example:
        >>> a = obs_digest(np.array([0.1, 0.2], np.float32))
        >>> a == obs_digest(np.array([0.1, 0.2], np.float32))
        True
        >>> a == obs_digest(np.array([0.1, 0.2], np.float64))
        False
        >>> obs_digest({"b": 1, "a": np.zeros(3)}) == obs_digest({"a": np.zeros(3), "b": 1})
        True
        >>> obs_digest((1, 2)) == obs_digest((2, 1))
        False
    """
    if isinstance(obs, np.ndarray):
        array = obs if obs.flags.c_contiguous else np.ascontiguousarray(obs)
        key = (array.dtype, array.shape)
        head = _HEADS.get(key)
        if head is None:  # planned once per dtype and shape (a few us saved a step)
            head = _HEADS[key] = f"{array.dtype.str}{array.shape}".encode()
        return zlib.crc32(array.data if array.size else b"", zlib.crc32(head, start))
    if isinstance(obs, Mapping):
        crc = zlib.crc32(b"{", start)
        for key in sorted(obs, key=str):
            crc = obs_digest(obs[key], zlib.crc32(str(key).encode(), crc))
        return zlib.crc32(b"}", crc)
    if isinstance(obs, (tuple, list)):
        crc = zlib.crc32(b"(", start)
        for item in obs:
            crc = obs_digest(item, crc)
        return zlib.crc32(b")", crc)
    if isinstance(obs, str):
        return zlib.crc32(b"s" + obs.encode(), start)
    if isinstance(obs, (bool, int, float, complex, np.generic)):
        return obs_digest(np.asarray(obs), start)
    if obs is None:
        return zlib.crc32(b"None", start)
    raise InvalidArgumentError(
        f"cannot digest an observation of type {type(obs).__name__}: replay=True needs "
        "observations made of arrays, numbers, strings, dicts and tuples"
    )


def step_digest(obs: Any, reward: float, terminated: bool, truncated: bool) -> int:
    """The digest of one step's outcome: the observation, then the reward and end flags.

    A reset has no reward: pass ``0.0, False, False``.

    Example:
        >>> obs = np.zeros(4, np.float32)
        >>> step_digest(obs, 1.0, False, False) == step_digest(obs, 1.0, False, False)
        True
        >>> step_digest(obs, 1.0, False, False) == step_digest(obs, 1.0, True, False)
        False
        >>> step_digest(obs, np.array([1.0, 2.0]), False, False) == step_digest(
        ...     obs, np.array([1.0, 3.0]), False, False)
        False
    """
    start = _HEAD_CRCS.get((obs.dtype, obs.shape)) if type(obs) is np.ndarray else None
    if start is not None:  # most envs: obs_digest's first case, inlined (every logged step)
        small = obs.nbytes <= _SMALL
        crc = zlib.crc32(obs.tobytes() if small else np.ascontiguousarray(obs).data, start)
    else:
        crc = obs_digest(obs)
        if type(obs) is np.ndarray:
            _HEAD_CRCS[obs.dtype, obs.shape] = zlib.crc32(_HEADS[obs.dtype, obs.shape])
    try:
        value = float(reward)
    except (TypeError, ValueError):  # a multi-objective env's vector of rewards
        crc, value = obs_digest(np.asarray(reward), crc), 0.0
    return zlib.crc32(_STEP.pack(value, bool(terminated), bool(truncated)), crc)


@dataclass(frozen=True)
class ReplayHeader:
    """The replay file's header: what to make, how it was recorded, and how to check it.

    Attributes:
        env: How to make the env again (``{"id": ..., "spec": EnvSpec.to_json() ...}``).
        video: The video it renders (stem, kind, episode, first step, fps, frames, steps).
        writer: The writer's settings (format, codec, crf, options, metadata, track, overlay).
        segments: One entry per episode the video spans: its reset (seed, options, RNG state)
            and its frames.
        versions: The versions of the packages that made the rollout (gymnasium, mujoco, ...).
        version: The file's format version (:data:`VERSION`).

    Example:
        >>> header = ReplayHeader(env={"id": "CartPole-v1"}, video={"stem": "v"}, writer={},
        ...                       segments=[{"episode": 0}])
        >>> ReplayHeader.from_json(header.to_json()) == header
        True
        >>> ReplayHeader.from_json('{"format": "rlvideo.replay", "version": 2}')
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: this replay file has format version 2; this rlvideo reads version 1: upgrade rlvideo to render it
    """  # noqa: E501 (doctest output stays on one line)

    env: dict[str, Any]
    video: dict[str, Any]
    writer: dict[str, Any]
    segments: list[dict[str, Any]]
    versions: dict[str, str] = field(default_factory=dict)
    digest: dict[str, Any] = field(default_factory=lambda: dict(DIGEST))
    version: int = VERSION

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the header as its fields, in order.

        A replay job carries one per video, sent from the env loop; a dataclass's default
        pickling costs half as much again.
        """
        fields = (self.env, self.video, self.writer, self.segments, self.versions, self.digest)
        return (ReplayHeader, (*fields, self.version))

    def to_json(self) -> str:
        """The header as one JSON object, ``format`` and ``version`` first."""
        return json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "versions": self.versions,
                "env": self.env,
                "video": self.video,
                "writer": self.writer,
                "digest": self.digest,
                "segments": self.segments,
            },
            sort_keys=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ReplayHeader:
        """Read a header; an error for another format or an unknown version."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"this replay file's header is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidArgumentError(
                f"not an rlvideo replay file (its header's format is {data.get('format')!r} "
                f"where {FORMAT!r} was expected)"
                if isinstance(data, dict)
                else "not an rlvideo replay file (its header is not a JSON object)"
            )
        version = data.get("version")
        if version != VERSION:
            raise InvalidArgumentError(
                f"this replay file has format version {version}; this rlvideo reads version "
                f"{VERSION}: upgrade rlvideo to render it"
            )
        return cls(
            env=data.get("env", {}),
            video=data.get("video", {}),
            writer=data.get("writer", {}),
            segments=data.get("segments", []),
            versions=data.get("versions", {}),
            digest=data.get("digest", {}),
            version=version,
        )


def narrowed(values: npt.ArrayLike) -> npt.NDArray[Any]:
    """``values`` as an array, integers in the smallest type that holds them.

    Replay data is kept per step: a Discrete action takes 1 byte, not 8.

    Example:
        >>> narrowed([0, 3, 1]).dtype, narrowed([-1, 300]).dtype, narrowed([0.5, 1.0]).dtype
        (dtype('uint8'), dtype('int16'), dtype('float64'))
    """
    array = np.asarray(values)
    if array.dtype.kind not in "iu" or array.size == 0:
        return array
    low, high = int(array.min()), int(array.max())
    kinds = (
        (np.uint8, np.uint16, np.uint32, np.uint64)
        if low >= 0
        else (np.int8, np.int16, np.int32, np.int64)
    )
    for kind in kinds:
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return array.astype(kind)
    return array


LoggedSegment = tuple[Any, ...]
"""One episode of a video as the env loop logged it, by reference (see :func:`logged_segment`).

``(episode, seed, options, rng, first_event, frames, counted_to, digests, actions, shown,
ale)``: the episode's index and reset (its seed, options and RNG state), the video's first
event in it, its frames there and the last event counted, then the episode's lists (each
possibly longer than the video's part: cut here; ``shown``, the rewards a wrapper shows, None
where it shows the env's) and its ALE state (or None).
"""

LoggedVideo = tuple[Any, ...]
"""A video as the env loop hands it over: ``(env, video, counts, writer, versions, segments)``.

``env``, ``video``, ``writer`` and ``versions`` are the header's entries (``video`` without
its counts), ``counts`` is ``(frames, steps, return)`` and ``segments`` are
:data:`LoggedSegment` s. Tuples of what the loop holds: a renderer builds the header and
arrays (:func:`replay_file`), which cost the loop ~10 us a video.
"""


def logged_segment(logged: dict[str, Any], index: int, segment: LoggedSegment) -> dict[str, Any]:
    """Put segment ``index``'s lists in ``logged`` (cut to the video's part); its header entry.

    Example:
        >>> logged = {}
        >>> logged_segment(logged, 0, (3, 7, None, None, 0, 2, 1, [5, 6, 8], [1, 0], None, None))
        {'episode': 3, 'reset': {'seed': 7, 'options': None, 'rng': None}, 'first_event': 0, 'frames': 2, 'counted_to': 1}
        >>> logged
        {'digests_0': [5, 6], 'actions_0': [1]}
    """  # noqa: E501 (doctest output stays on one line)
    episode, seed, options, rng, first_event, frames, counted_to, digests, actions, shown, ale = (
        segment
    )
    events = max(first_event + frames, counted_to + 1)
    logged[f"digests_{index}"] = digests[:events]
    actions = actions[: events - 1]
    if actions:  # arrays (a Box space's) stacked here: one array pickles faster
        stacked = isinstance(actions[0], np.ndarray)
        logged[f"actions_{index}"] = np.asarray(actions) if stacked else actions
    if shown is not None:
        logged[f"rewards_{index}"] = shown[: events - 1]
    if ale is not None:
        logged[f"ale_{index}"] = ale
    return {
        "episode": episode, "reset": {"seed": seed, "options": options, "rng": rng},
        "first_event": first_event, "frames": frames, "counted_to": events - 1,
    }  # fmt: skip


def replay_file(video: LoggedVideo) -> tuple[ReplayHeader, dict[str, Any]]:
    """A logged video's replay file: its header, and its arrays as logged (see :func:`file_arrays`).

    Example:
        >>> segment = (0, 7, None, None, 0, 2, 1, [5, 6], [1], None, None)
        >>> header, logged = replay_file(({"id": "E"}, {"stem": "v"}, (2, 1, 1.0), {}, {},
        ...                               [segment]))
        >>> header.video, sorted(logged)
        ({'stem': 'v', 'frames': 2, 'steps': 1, 'return': 1.0}, ['actions_0', 'digests_0'])
    """
    env, start, (frames, steps, episode_return), writer, versions, segments = video
    logged: dict[str, Any] = {}
    entries = [logged_segment(logged, index, segment) for index, segment in enumerate(segments)]
    header = ReplayHeader(
        env=env, video={**start, "frames": frames, "steps": steps, "return": episode_return},
        writer=writer, segments=entries, versions=versions,
    )  # fmt: skip
    return header, logged


def file_arrays(logged: Mapping[str, Any]) -> dict[str, npt.NDArray[Any]]:
    """A replay file's arrays from what the env loop logged (lists, kept as they came).

    The loop hands its lists over as they are; this, in the renderer, makes the file's arrays:
    ``digests_<i>`` as uint32, ``actions_<i>`` :func:`narrowed`, the others as arrays.

    Example:
        >>> arrays = file_arrays({"digests_0": [7, 9], "actions_0": [1]})
        >>> arrays["digests_0"].dtype, arrays["actions_0"].dtype
        (dtype('uint32'), dtype('uint8'))

    Raises:
        InvalidArgumentError: If actions are not numbers or arrays (a Dict or Tuple space's).
    """
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, values in logged.items():
        if name.startswith("digests_"):
            arrays[name] = np.asarray(values, np.uint32)
        elif name.startswith("actions_"):
            arrays[name] = narrowed(values)
            if arrays[name].dtype == object:
                raise unreplayable_actions(values[0])
        else:
            arrays[name] = np.asarray(values)
    return arrays


def unreplayable_actions(action: Any) -> InvalidArgumentError:
    """The error for an env whose actions are not numbers or arrays (a Dict or Tuple space's).

    Example:
        >>> print(unreplayable_actions({"move": 1}))
        replay=True keeps actions that are numbers or arrays; this env's actions are dict: record live (replay=False)
    """  # noqa: E501 (doctest output stays on one line)
    return InvalidArgumentError(
        "replay=True keeps actions that are numbers or arrays; this env's actions are "
        f"{type(action).__name__}: record live (replay=False)"
    )


class ReplayOptions(TypedDict, total=False):
    """The ``replay_options`` recording option: how ``replay=True`` logs and renders.

    Attributes:
        log: ``"recorded"`` (default): a replay file for each video the triggers start;
            ``"all"``: one for every episode too (named as its episode video would be), so
            that ``rlvideo render`` can make any of them later.
        render: ``"kept"`` (default): render each video that ``keep_if`` keeps as it ends, in
            the background; ``"close"``: at ``close()`` (the loop never shares the CPU with
            the renderer); ``"none"``: never (``rlvideo render`` does it later);
            ``{"best": N, "worst": M}``: at ``close()``, the N episodes of highest return
            and the M of lowest among those logged.
        workers: Renderer processes (default 1); ``"ray"``: a Ray task per video, on the
            cluster ``ray.init()`` finds (``RAY_ADDRESS``) or a local one it starts (left
            running); on several machines the video folder must be a file system every node
            shares.
        fallback: What a replay that cannot be made or diverges does to the videos that start
            after it is known: ``"live"`` (default) records them live, with one warning;
            ``"error"`` raises from the next ``step``, ``reset`` or ``close``.
        nice: How much lower the renderer processes' priority is (default 10, 0-19): the
            training loop comes first. A priority once lowered cannot be raised again, so on a
            machine whose every core is busy the renderer catches up slowly and ``close()``
            waits for it; ``0`` renders at the loop's priority (a faster ``close()``, a slower
            loop while it renders).
    """

    log: str
    render: Any
    workers: int | str
    fallback: str
    nice: int


REPLAY_DEFAULTS: ReplayOptions = {
    "log": "recorded",
    "render": "kept",
    "workers": 1,
    "fallback": "live",
    "nice": 10,
}
"""Each ``replay_options`` key's value when it is not given."""

_CHOICES = {"log": ("recorded", "all"), "fallback": ("live", "error")}


def check_replay_options(options: Mapping[str, Any] | None) -> ReplayOptions:
    """``replay_options`` checked, defaults filled in.

    Raises:
        InvalidArgumentError: Naming the key and the values it takes.

    Example:
        >>> check_replay_options({"render": {"best": 2}})["render"]
        {'best': 2, 'worst': 0}
        >>> check_replay_options({"log": "every"})
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: replay_options['log'] must be one of 'recorded', 'all', got 'every'
    """  # noqa: E501 (doctest output stays on one line)
    given = dict(options or {})
    unknown = sorted(set(given) - set(REPLAY_DEFAULTS))
    if unknown:
        raise InvalidArgumentError(
            f"replay_options has no key {unknown[0]!r}; its keys are "
            f"{', '.join(sorted(REPLAY_DEFAULTS))}"
        )
    checked: dict[str, Any] = {**REPLAY_DEFAULTS, **given}
    for key, choices in _CHOICES.items():
        if checked[key] not in choices:
            raise InvalidArgumentError(
                f"replay_options[{key!r}] must be one of "
                f"{', '.join(repr(c) for c in choices)}, got {checked[key]!r}"
            )
    workers = checked["workers"]
    if workers != "ray" and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidArgumentError(
            f"replay_options['workers'] must be an integer >= 1 or \"ray\", got {workers!r}"
        )
    nice = checked["nice"]
    if isinstance(nice, bool) or not isinstance(nice, int) or not 0 <= nice <= 19:
        raise InvalidArgumentError(
            f"replay_options['nice'] must be an integer from 0 to 19, got {nice!r}"
        )
    checked["render"] = _checked_render(checked["render"])
    return checked  # type: ignore[return-value]


def _checked_render(render: Any) -> Any:
    if isinstance(render, str) and render in ("kept", "close", "none"):
        return render
    if isinstance(render, Mapping) and render and set(render) <= {"best", "worst"}:
        counts = {"best": render.get("best", 0), "worst": render.get("worst", 0)}
        if all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
            return counts
    raise InvalidArgumentError(
        "replay_options['render'] must be 'kept', 'close', 'none' or "
        f'{{"best": N, "worst": M}} (counts >= 0), got {render!r}'
    )


def chosen_by_return(returns: Sequence[float], best: int, worst: int) -> list[int]:
    """The indices of the ``best`` highest and ``worst`` lowest returns, in their order.

    Ties go to the earlier episode; an episode both best and worst is chosen once.

    Example:
        >>> chosen_by_return([1.0, 5.0, -2.0, 3.0], best=1, worst=1)
        [1, 2]
        >>> chosen_by_return([1.0, 1.0], best=1, worst=0)
        [0]
    """
    order = sorted(range(len(returns)), key=lambda i: (-returns[i], i))
    picked = set(order[:best])
    picked.update(sorted(range(len(returns)), key=lambda i: (returns[i], i))[:worst])
    return sorted(picked)


def render_overrides(
    stem: str,
    *,
    camera: str | int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """The stem and ``gymnasium.make`` keyword arguments of a render with another view.

    A camera given as a number is MuJoCo's ``camera_id``, else its ``camera_name``. The stem
    says what changed, so the verified original is never replaced by accident.

    Example:
        >>> render_overrides("rl-video-episode-0", camera="track", width=640, height=360)
        ('rl-video-episode-0.cam-track.640x360', {'camera_name': 'track', 'width': 640, 'height': 360})
        >>> render_overrides("v", camera="1")
        ('v.cam-1', {'camera_id': 1})
        >>> render_overrides("v")
        ('v', {})
    """  # noqa: E501 (doctest output stays on one line)
    kwargs: dict[str, Any] = {}
    parts = [stem]
    if camera is not None:
        text = str(camera)
        if text.lstrip("-").isdigit():
            kwargs["camera_id"] = int(text)
        else:
            kwargs["camera_name"] = text
        parts.append(f"cam-{text}")
    for name, value in (("width", width), ("height", height)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
            kwargs[name] = value
    if width is not None or height is not None:
        parts.append(f"{width or ''}x{height or ''}")
    return ".".join(parts), kwargs
