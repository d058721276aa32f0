"""rlvideo's recording options, defined once for every wrapper. Pure: no PyAV, no files.

:class:`rlvideo.RecordVideo`, :class:`rlvideo.wrappers.vector.RecordVideo` and
:class:`rlvideo.wrappers.sb3.VecVideoRecorder` take their anchor's positional arguments explicitly
(Gymnasium's or SB3's, same names and defaults), then these keyword-only options, documented
here once: adding an option means adding it to :class:`RecordingOptions` and :data:`DEFAULTS`.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from rlvideo._core.metadata import KeepIf, OnVideoSaved
from rlvideo.errors import InvalidArgumentError

__all__ = ["DEFAULTS", "RecordingOptions", "constructor_args", "did_you_mean", "recorder_options"]


class RecordingOptions(TypedDict, total=False):
    """The keyword-only options every wrapper takes after its anchor's arguments.

    Attributes:
        format: ``"mp4"`` (H.264, default), ``"webm"`` (VP9) or ``"gif"``.
        codec: An FFmpeg encoder instead of the format's default.
        crf: Quality, lower is better (libx264: 0-51, default 23).
        overwrite: What a video whose name is taken does: None (default) replaces it (with its
            sidecar and data track) and says so once per folder, as a re-run expects; True
            replaces quietly; False raises :class:`~rlvideo.errors.VideoExistsError` when the
            video starts.
        metadata: Write a JSON sidecar (:class:`~rlvideo._core.metadata.VideoMetadata`) per video.
        track: Write a data track ``<stem>.track.jsonl`` per video, one JSON line per frame
            (episode, step, reward, return so far, flags, small actions: :mod:`rlvideo._core.track`
            documents the format). None (default): wherever sidecars are written
            (``metadata=True``); True or False; or a list of info keys to include as well,
            e.g. ``track=["x_position"]`` (which turns it on).
        overlay: Burn values into every frame, in a corner box (:mod:`rlvideo.overlay`,
            needs ``rlvideo[overlay]``): True shows episode, step, reward and return; a list
            names the fields (``["step", "reward", "action", "x_position"]``: info keys too);
            a callable ``values -> str`` writes the text; an :class:`rlvideo.overlay.Overlay`
            sets the corner and size too. None or False (default): none.
        on_video_saved: ``(path, metadata) -> None``, called in the env's thread once a video
            is final: the hand-off to a tracker. ``path`` is a Path, or the video's URL (a
            str) when ``video_folder`` is a URL. Kept as given, never copied.
        keep_if: ``metadata -> bool``, asked when a video ends; False deletes it (e.g. keep
            only failures: ``keep_if=lambda m: m.terminated``). Kept as given, never copied.
        encoder: ``"process"`` (default) or ``"thread"``: where encoding runs.
        backlog_mb: The most memory, in MiB, that videos not yet encoded may take (default
            256): the frames in the shared ring (up to 24 MiB) and in the encoder process's
            backlog (its own memory, not /dev/shm), and each open video's encoder buffers
            (counted as 40 of its frames). The env hands frames over at memory-copy cost and
            waits for the encoder only when it is spent. The encoder catches up between
            recorded episodes and in ``close()``, which encodes every frame. A killed encoder
            process loses at most this much; 0 holds one frame (the env keeps pace with the
            encoder). The thread encoder holds 8 frames instead.
        encoder_options: Raw FFmpeg encoder options, e.g. ``{"preset": "ultrafast"}``: about
            25% less encoding CPU for files about 3x larger (see the README's benchmark).
        float_range: The values of black and white in float frames: ``(0, 1)`` (default), or
            ``(0, 255)`` for float renders holding 0-255 data (:mod:`rlvideo._core.frames`).
        storage_options: fsspec options (credentials, endpoint, ...) for a URL
            ``video_folder``, e.g. ``{"client_kwargs": {"endpoint_url": ...}}``. Not recorded
            in the env's spec, since they may hold secrets.
        replay: Record now, render later (default False): the wrapper never calls
            ``render()`` in the loop. It keeps what replaying each video needs (the env's
            spec, the RNG state before each reset, the actions, a digest of each step) in
            ``<stem>.replay.npz``, and a background renderer makes the env again, replays
            and verifies it, and writes the same video, sidecar and track as live recording
            (:mod:`rlvideo.replay`). Single Gymnasium envs made with ``gymnasium.make``.
        replay_options: How replay works (:class:`rlvideo._core.replay.ReplayOptions`):
            ``log`` (``"recorded"`` or ``"all"`` episodes), ``render`` (``"kept"``,
            ``"close"``, ``"none"``, or ``{"best": N, "worst": M}`` by return at ``close()``),
            ``workers`` (renderer processes, default 1) and ``fallback`` (``"live"`` or
            ``"error"``: what a replay that diverges does to later videos).
    """

    format: str
    codec: str | None
    crf: int | None
    overwrite: bool | None
    metadata: bool
    track: bool | list[str] | None
    overlay: Any
    on_video_saved: OnVideoSaved | None
    keep_if: KeepIf | None
    encoder: str
    backlog_mb: float
    encoder_options: dict[str, str] | None
    float_range: tuple[float, float]
    storage_options: dict[str, Any] | None
    replay: bool
    replay_options: dict[str, Any] | None


DEFAULTS: RecordingOptions = {
    "format": "mp4", "codec": None, "crf": None, "overwrite": None, "metadata": False,
    "track": None, "overlay": None, "on_video_saved": None, "keep_if": None,
    "encoder": "process", "backlog_mb": 256, "encoder_options": None,
    "float_range": (0.0, 1.0), "storage_options": None, "replay": False,
    "replay_options": None,
}  # fmt: skip
"""Each option's value when it is not given."""

_SECRET = frozenset({"storage_options"})  # never recorded in an env's spec


def recorder_options(wrapper: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every option, defaults filled in, as :class:`~rlvideo.recording._recorder.Recorder` takes them.

    Raises:
        InvalidArgumentError: For an option no wrapper takes; the message lists them.

    Example:
        >>> recorder_options("RecordVideo", {"format": "gif"})["format"]
        'gif'
        >>> recorder_options("RecordVideo", {"fromat": "gif"})
        Traceback (most recent call last):
        ...
        rlvideo.errors.InvalidArgumentError: RecordVideo got an unexpected keyword argument 'fromat' (did you mean 'format'?); its recording options are backlog_mb, codec, crf, encoder, encoder_options, float_range, format, keep_if, metadata, on_video_saved, overlay, overwrite, replay, replay_options, storage_options, track
    """  # noqa: E501 (doctest output stays on one line)
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise InvalidArgumentError(
            f"{wrapper} got an unexpected keyword argument {unknown[0]!r}"
            f"{did_you_mean(unknown[0], DEFAULTS)}; its recording options are "
            f"{', '.join(sorted(DEFAULTS))}"
        )
    return {**DEFAULTS, **options}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to a misspelt ``name``, else ``""``.

    Example:
        >>> did_you_mean("stepp", ["episode", "step", "reward"]), did_you_mean("zzz", ["step"])
        (" (did you mean 'step'?)", '')
    """
    close = difflib.get_close_matches(name, [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def constructor_args(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments to record in an env's spec (Gymnasium's ``RecordConstructorArgs``).

    Gymnasium deep-copies each one; a callback holding a lock, a ``SummaryWriter``, a wandb
    run or a client cannot be copied (``TypeError: cannot pickle '_thread.lock'``), and a copy
    would not be the user's object anyway. So callables (triggers, ``on_video_saved``,
    ``keep_if``) are kept as given, the other values are copied, and secrets are left out.
    Pass the result with ``_disable_deepcopy=True``.

    Example:
        >>> import threading
        >>> class Logger:
        ...     lock = threading.Lock()
        ...     def __call__(self, path, meta): ...
        >>> log = Logger()
        >>> args = constructor_args(on_video_saved=log, encoder_options={"preset": "fast"})
        >>> args["on_video_saved"] is log, args["encoder_options"]
        (True, {'preset': 'fast'})
    """
    return {
        key: value if callable(value) else copy.deepcopy(value)
        for key, value in kwargs.items()
        if key not in _SECRET
    }
