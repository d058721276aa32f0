"""The renderer of ``replay=True``: make the env again, replay a video's steps, render, encode.

:func:`render_replay` turns one replay file (:mod:`rlvideo.io.replayfile`) into the video that
live recording would have written: it makes the env from the recorded spec, restores each
segment's reset (:func:`~rlvideo.wrappers._replay_state.replay_reset`), replays the actions,
and drives a :class:`~rlvideo.recording._recorder.Recorder` with the calls the live wrapper
made (start, reset, step, frame, stop), so names, frame counts, sidecars, data tracks and
overlays are the same. Each step is checked against its recorded digest
(:func:`~rlvideo._core.replay.step_digest`): on the first mismatch the video keeps the frames
before it and its sidecar says where (``replay.verified`` false), never a silently wrong video.

:class:`RenderPool` runs it in worker processes, started as ``python -c`` (the encoder
process's pattern: no ``if __name__ == "__main__"`` guard needed in training scripts), one
job at a time each, results read without blocking by the wrapper's ``poll()``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import pickle
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from rlvideo._core.frames import FrameConverter
from rlvideo._core.grid import Tiler
from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.replay import ReplayHeader, file_arrays, replay_file, step_digest
from rlvideo.errors import InvalidArgumentError, StorageError, VideoExistsError
from rlvideo.io.replayfile import read_replay, write_replay
from rlvideo.recording._recorder import Recorder
from rlvideo.recording._transport import LOOK_EVERY, package_root
from rlvideo.wrappers._replay_state import ResetState, aim_free_camera, replay_reset

__all__ = [
    "RenderPool", "RenderResult", "close_envs", "lost_job", "package_versions", "render_replay",
    "run_job", "serve_fd",
]  # fmt: skip

logger = logging.getLogger("rlvideo.replay")


_FAMILIES = ("gymnasium", "numpy", "ale-py", "mujoco", "box2d", "minigrid")


def package_versions() -> dict[str, str]:
    """The versions of the packages a rollout depends on, as far as they are installed.

    Example:
        >>> "numpy" in package_versions()
        True
    """
    found = {}
    for name in _FAMILIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


@dataclass
class RenderResult:
    """What rendering one replay file gave.

    Attributes:
        replay: The replay file.
        stem: The video's stem.
        path: The video written (a path, or a URL for a URL folder); None if none was.
        meta: Its metadata (:meth:`VideoMetadata.to_dict`), None if no video was written.
        verified: Whether every replayed step matched its recorded digest.
        diverged_at_step: The step (of its episode; 0 for the reset) that did not, if any.
        diverged_at_frame: The video's frames before the divergence, if any.
        error: Why no video could be rendered (the env could not be made, ...), if so.
        refused: Whether that was the video's name: a folder there, a file there with
            ``overwrite=False``, a folder that cannot be written (a storage error, not a
            failed replay: the loop raises it and records the next videos as before).
    """

    replay: str
    stem: str
    path: str | None = None
    meta: dict[str, Any] | None = None
    verified: bool = True
    diverged_at_step: int | None = None
    diverged_at_frame: int | None = None
    error: str | None = None
    refused: bool = False

    def metadata(self) -> VideoMetadata | None:
        """The video's metadata, None if no video was written."""
        return None if self.meta is None else VideoMetadata.from_dict(dict(self.meta))


# -- making the env again --------------------------------------------------------------------
_ENVS: dict[str, Any] = {}  # a renderer's envs, by spec and overrides: one make per kind


def _make_env(spec_json: str, overrides: dict[str, Any], instance: int = 0) -> Any:
    """The env of ``spec_json`` with ``overrides`` as ``gymnasium.make`` keyword arguments.

    ``instance``: which of several such envs (a tiled video's sub-envs each need their own).
    """
    key = json.dumps([spec_json, overrides, instance], sort_keys=True, default=str)
    env = _ENVS.get(key)
    if env is None:
        import gymnasium as gym
        from gymnasium.envs.registration import EnvSpec

        spec = EnvSpec.from_json(spec_json)
        kwargs = dict(overrides)
        if spec.kwargs.get("render_mode") == "rgb_array_list" and "render_mode" not in kwargs:
            kwargs["render_mode"] = "rgb_array"  # one frame per call, as the video takes them
        try:
            env = gym.make(spec, **kwargs)
        except TypeError as exc:
            given = ", ".join(sorted(overrides)) or "none"
            raise InvalidArgumentError(
                f"{spec.id} cannot be made with {given}: {exc}. This env may take no such "
                "argument (a camera or size, say): leave it out"
            ) from exc
        _ENVS[key] = env
    return env


def close_envs() -> None:
    """Close every env made for rendering."""
    while _ENVS:
        _, env = _ENVS.popitem()
        with contextlib.suppress(Exception):
            env.close()


def _frame(env: Any) -> Any:
    frame = env.render()
    return frame[-1] if isinstance(frame, list) else frame


class _Action:
    """A segment's actions back in the type and dtype the live env was given."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.dtype = np.dtype(spec.get("dtype", "int64"))
        self.python = spec.get("python")  # "int", "float", "bool" or None (NumPy values)

    def __call__(self, value: Any) -> Any:
        action = np.asarray(value).astype(self.dtype)
        if action.ndim == 0:
            scalar = action[()]
            if self.python == "int":
                return int(scalar)
            if self.python == "float":
                return float(scalar)
            if self.python == "bool":
                return bool(scalar)
            return scalar
        return action


# -- one video -------------------------------------------------------------------------------
def render_replay(
    replay: str | Path,
    *,
    video_folder: str | None = None,
    stem: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    writer: dict[str, Any] | None = None,
    overlay: Any = None,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool | None = True,
) -> RenderResult:
    """Render the video of the replay file ``replay``; never raises for a bad replay.

    Args:
        replay: The ``<stem>.replay.npz`` file.
        video_folder: Where the video goes (default: beside the replay file).
        stem: The video's name without its extension (default: the recorded one).
        env_kwargs: Keyword arguments for ``gymnasium.make`` over the recorded spec's
            (``camera_name``, ``width``, ``height``, ...).
        writer: Writer settings over the recorded ones (``format``, ``codec``, ``crf``,
            ``encoder_options``, ``metadata``, ``track``, ``overlay``).
        overlay: An overlay object (a callable) for a run recorded with one (not in the file).
        storage_options: fsspec options for a URL ``video_folder``.
        overwrite: What a taken name gets (as the recording option).
    """
    path = Path(replay)
    name = path.name.removesuffix(".replay.npz")
    try:
        header, arrays = read_replay(path)
    except (InvalidArgumentError, OSError) as exc:
        return RenderResult(str(path), name, error=str(exc))
    video = header.video
    stem = stem or str(video.get("stem", name))
    result = RenderResult(str(path), stem)
    folder = video_folder if video_folder is not None else str(path.parent)
    tiled = video.get("tiled")
    try:
        env = _make_env(header.env["spec"], dict(env_kwargs or {}))
        others = [
            _make_env(header.env["spec"], dict(env_kwargs or {}), instance)
            for instance in range(1, 1 + len(tiled["others"] if tiled else []))
        ]
    except Exception as exc:  # a missing module or plugin, a bad override: no video
        result.error = f"cannot make the env {header.env.get('id')!r} again: {exc}"
        return result
    saved: list[tuple[Any, VideoMetadata]] = []
    settings = {**header.writer, **(writer or {})}
    if overlay is not None:
        settings["overlay"] = overlay
    fps = video.get("fps")
    recorder = Recorder(
        folder, name_prefix=str(header.video.get("name_prefix", "rl-video")),
        fps=None if fps is None else float(Fraction(*fps)), env_id=header.env.get("id"),
        encoder="thread", overwrite=overwrite, storage_options=storage_options,
        on_video_saved=lambda where, meta: saved.append((where, meta)),
        **{k: v for k, v in settings.items() if k in _WRITER_KEYS},
    )  # fmt: skip
    try:
        _drive(env, header, arrays, recorder, stem, result, others)
    except Exception as exc:  # the env failed on replay: what was rendered is kept
        result.verified = False
        result.refused = isinstance(exc, (StorageError, VideoExistsError))
        result.error = str(exc) if result.refused else f"the replay failed: {exc!r}"
        logger.debug("replay of %s failed:\n%s", stem, traceback.format_exc())
        with contextlib.suppress(Exception):
            recorder.abort()
        return result
    recorder.close()
    if saved:
        where, meta = saved[-1]
        result.path, result.meta = str(where), meta.to_dict()
    return result


_WRITER_KEYS = (
    "format", "codec", "crf", "encoder_options", "float_range", "metadata", "track", "overlay",
)  # fmt: skip


def _drive(
    env: Any,
    header: ReplayHeader,
    arrays: dict[str, Any],
    recorder: Recorder,
    stem: str,
    result: RenderResult,
    others: list[Any] | None = None,
) -> None:
    """Replay the segments into ``recorder``, as the live wrapper fed its recorder.

    A tiled video's other sub-envs (``others``, one env each) are replayed beside, a frame
    at a time (:class:`_Tiling`).
    """
    replay = _Replay(env, header, recorder, stem, result)
    tiled = header.video.get("tiled")
    if tiled:
        replay.tiling = _Tiling(tiled, others or [], arrays, replay.action, len(header.segments))
        replay.counted = arrays.get("counted")
    try:
        for index, segment in enumerate(header.segments):
            if not replay.segment(index, segment, arrays):
                break
        else:
            replay.hold()  # the last frames, if its own sub-env sat them out
    except _Diverged as diverged:  # another sub-env of a tiled video
        replay.diverged(diverged.step)
    replay.finish()


class _Diverged(Exception):  # noqa: N818 (a signal between a tile and the replay, not an error)
    """A tiled video's other sub-env left its recorded steps at ``step``."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def _segment_state(segment: dict[str, Any], index: int, arrays: dict[str, Any]) -> ResetState:
    """The reset of segment ``index`` (its arrays are numbered so)."""
    reset = segment["reset"]
    return ResetState(
        reset.get("seed"), reset.get("options"), reset.get("rng"), arrays.get(f"ale_{index}")
    )


class _OtherTile:
    """One more sub-env of a tiled video: its image at each frame, replayed as it is asked."""

    def __init__(
        self, env: Any, tile: dict[str, Any], arrays: dict[str, Any], action: _Action, first: int
    ) -> None:
        self.env, self.lookat = env, tile.get("lookat")
        self.holds = set(tile["holds"])
        self.last: Any = None
        self._images = self._replay(tile["segments"], arrays, action, first)

    def image(self, at: int) -> Any:
        """Its image at frame ``at`` of the video."""
        if at not in self.holds or self.last is None:
            self.last = next(self._images)
        return self.last

    def _replay(
        self, segments: list[dict[str, Any]], arrays: dict[str, Any], action: _Action, first: int
    ) -> Any:
        for index, segment in enumerate(segments, first):
            digests = arrays[f"digests_{index}"]
            actions = arrays.get(f"actions_{index}", np.zeros(0))
            start, count = int(segment["first_event"]), int(segment["frames"])
            obs, _ = replay_reset(self.env, _segment_state(segment, index, arrays))
            if step_digest(obs, 0.0, False, False) != int(digests[0]):
                raise _Diverged(0)
            if start == 0:
                yield self._render()
            for event in range(1, start + count):
                obs, reward, terminated, truncated, _ = self.env.step(action(actions[event - 1]))
                if step_digest(obs, reward, terminated, truncated) != int(digests[event]):
                    raise _Diverged(event)
                if event >= start:
                    yield self._render()

    def _render(self) -> Any:
        if self.last is None:  # MuJoCo's free camera, aimed as live
            aim_free_camera(self.env, self.lookat)
        return _frame(self.env)


class _Tiling:
    """A tiled video's frame: its own sub-env's image, then the others', as the live grid."""

    def __init__(
        self,
        tiled: dict[str, Any],
        others: list[Any],
        arrays: dict[str, Any],
        action: _Action,
        first: int,
    ) -> None:
        grid = tiled.get("grid")  # SB3's fixed grid, else the live wrapper's rule
        self.tiler = Tiler(
            (float(tiled["aspect"][0]), float(tiled["aspect"][1])),  # (1.5, 1) is allowed
            None if grid is None else (int(grid[0]), int(grid[1])),
        )
        self.holds = set(tiled["holds"])  # frames its own sub-env sat out
        self.tiles = []
        for env, tile in zip(others, tiled["others"], strict=True):
            self.tiles.append(_OtherTile(env, tile, arrays, action, first))
            first += len(tile["segments"])
        self.converters = [FrameConverter() for _ in range(1 + len(self.tiles))]

    def __call__(self, own: Any, at: int) -> Any:
        images = [own, *(tile.image(at) for tile in self.tiles)]
        pairs = zip(self.converters, images, strict=True)
        return self.tiler([convert(image) for convert, image in pairs])


class _Replay:
    """One video's replay: the recorder calls of the live wrapper, frame by frame."""

    def __init__(
        self, env: Any, header: ReplayHeader, recorder: Recorder, stem: str, result: RenderResult
    ) -> None:
        self.env, self.video, self.recorder = env, header.video, recorder
        self.stem, self.result = stem, result
        self.action = _Action(header.env.get("action", {}))
        self.video_id: int | None = None
        self.frames = 0
        self.tiling: _Tiling | None = None  # a tiled video's other sub-envs
        self.counted: Any = None  # per step, what the live step counted (SB3, several envs)
        self.steps = 0  # steps counted so far
        self._last: Any = None  # its own sub-env's last image (tiled: a held frame shows it)

    def started(self) -> int:
        """The video's id, started with the live video's start if not yet."""
        if self.video_id is None:
            video = self.video
            extra = {} if video.get("env_index") is None else {"env_index": video["env_index"]}
            fps = video.get("fps")
            self.video_id = self.recorder.start(
                self.stem, kind=str(video["kind"]), episode=int(video["episode"]),
                first_step=int(video["first_step"]), episode_step=int(video["episode_step"]),
                episode_return=float(video["episode_return"]), seed=video.get("seed"),
                fps=None if fps is None else Fraction(*fps), **extra,
            )  # fmt: skip
        return self.video_id

    def diverged(self, step: int) -> bool:
        """Say where the replay left the recorded steps; False (stop)."""
        self.result.verified = False
        self.result.diverged_at_step, self.result.diverged_at_frame = step, self.frames
        return False

    def frame(self) -> None:
        self.hold()
        if self.frames == 0:  # MuJoCo's free camera, aimed as live
            aim_free_camera(self.env, self.video.get("lookat"))
        image = _frame(self.env)
        if self.tiling is not None:
            self._last = image
            image = self.tiling(image, self.frames)
        self.recorder.frame(self.started(), image)
        self.frames += 1

    def _counted(self) -> tuple[float, bool, bool] | None:
        """What the live step counted, where it was not what it showed (SB3's sums)."""
        if self.counted is None:
            return None
        row = self.counted[self.steps]
        self.steps += 1
        return float(row[0]), bool(row[1]), bool(row[2])

    def hold(self) -> None:
        """Tiled: the frames its own sub-env sat out (a masked reset), its last image again."""
        tiling = self.tiling
        while tiling is not None and self.frames in tiling.holds:
            if self._last is None:
                raise InvalidArgumentError(
                    "this tiled video starts on a frame its first sub-env sat out: record it live"
                )
            self.recorder.frame(self.started(), tiling(self._last, self.frames))
            self.frames += 1

    def segment(self, index: int, segment: dict[str, Any], arrays: dict[str, Any]) -> bool:
        """Replay one episode's events; False when it diverged."""
        state = _segment_state(segment, index, arrays)
        digests = arrays[f"digests_{index}"]
        actions = arrays.get(f"actions_{index}", np.zeros(0))
        shown = arrays.get(f"rewards_{index}")  # the rewards the wrapper showed (SB3's float32)
        first, count = int(segment["first_event"]), int(segment["frames"])
        last = max(first + count, int(segment.get("counted_to", -1)) + 1)  # events replayed
        obs, info = replay_reset(self.env, state)
        if step_digest(obs, 0.0, False, False) != int(digests[0]):
            return self.diverged(0)
        if first == 0 or index > 0:  # an episode begun inside the video: shown so
            self.hold()
            self.recorder.reset(self.started(), int(segment["episode"]), info)
        if first == 0:  # (SB3: a reset by hand, ``venv.reset()``, has no frame of its own)
            self.frame()
        for event in range(1, last):
            given = self.action(actions[event - 1])
            obs, reward, terminated, truncated, info = self.env.step(given)
            if step_digest(obs, reward, terminated, truncated) != int(digests[event]):
                return self.diverged(event)
            if event < first:
                continue
            if shown is not None:
                reward = shown[event - 1]
            self.hold()  # (tiled) frames before this step's, from its last image
            outcome = (self.started(), reward, terminated, truncated)
            if self.frames == 0 and self.video.get("shown_first"):  # SB3: shown, not counted
                self.recorder.show(*outcome, action=given, info=info)
            elif self.frames == 0 and self.video.get("first_uncounted"):
                pass  # (tiled) a step before the video, its first frame's by a masked reset
            else:
                self.recorder.step(*outcome, action=given, info=info, counted=self._counted())
            if event < first + count:  # (SB3: an episode's last step shows the next reset)
                self.frame()
        return True

    def finish(self) -> None:
        """Stop the video with the live one's ending, and how its replay went."""
        if self.video_id is None:
            return
        result = self.result
        record: dict[str, Any] = {
            "file": f"{self.video.get('stem', self.stem)}.replay.npz", "verified": True,
        }  # fmt: skip
        if not result.verified:
            record.update(
                verified=False,
                diverged_at_step=result.diverged_at_step,
                diverged_at_frame=result.diverged_at_frame,
            )
        cut_short = bool(self.video.get("cut_short", False)) or not result.verified
        self.recorder.annotate(self.video_id, replay=record, cut_short=cut_short)
        self.recorder.stop(self.video_id)


# -- worker processes ------------------------------------------------------------------------
def serve_fd(fd: int, nice: int = 0) -> None:
    """A renderer process: render each job received on ``fd`` until told to stop.

    It runs ``nice`` lower in priority (``replay_options["nice"]``, 10 by default): training
    comes first, and the renderer takes the CPU the training loop leaves.
    """
    # Ctrl-C is the caller's to handle, SIGTERM too (sent to the whole process group: a
    # terminal's Ctrl-C, `timeout`, a scheduler's preemption): the caller stops its renderers
    # itself (close() after a Ctrl-C), and one left by a killed caller finishes the jobs it took
    # (their replay files and videos), then exits. Set here, not left to pygame (classic
    # control's renderer), which swallowed both, but only once a job had drawn a frame.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    connection = Connection(fd)
    jobs: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()

    def read() -> None:  # take every job at once: the caller never waits to send one
        while True:
            try:
                job = connection.recv()
            except (EOFError, OSError):
                job = None  # the caller is gone
            for each in job if isinstance(job, list) else [job]:  # a batch (submit_batch)
                jobs.put(each)
            if job is None:
                return

    threading.Thread(target=read, name="rlvideo-render-jobs", daemon=True).start()
    caller = True  # whether the caller is still there to take results
    try:
        while (job := jobs.get()) is not None:
            result = run_job(job)  # a caller gone (killed): its jobs are still done
            if caller:
                try:
                    connection.send(result)
                except OSError:
                    caller = False
    finally:
        close_envs()


def run_job(job: dict[str, Any]) -> tuple[int, RenderResult]:
    """A job's result; a probe (``{"probe": spec}``) makes the env and resets it once.

    A job with ``"write": (path, header, logged)`` writes that replay file first (and only
    that, without ``"replay"``); ``logged`` is the loop's lists (:func:`file_arrays`). A job
    with ``"log": (path, video)`` does the same for a :data:`~rlvideo._core.replay.LoggedVideo`.
    """
    if "write" in job or "log" in job:
        path = (job.get("log") or job["write"])[0]
        try:
            if "log" in job:  # a logged video: its file is built here (off the env loop)
                header, logged = replay_file(job["log"][1])
            else:
                _, header, logged = job["write"]
            write_replay(path, header, file_arrays(logged), overwrite=True)
        except Exception as exc:
            return job["id"], RenderResult(path, "", verified=False, error=repr(exc))
        if "replay" not in job:
            return job["id"], RenderResult(path, "")
    if "probe" in job:
        try:
            _make_env(job["probe"], {}).reset(seed=0)
            return job["id"], RenderResult("", "")
        except Exception as exc:
            return job["id"], RenderResult("", "", verified=False, error=repr(exc))
    overlay = job.get("overlay")
    try:
        result = render_replay(
            job["replay"], video_folder=job.get("folder"), overwrite=job.get("overwrite", True),
            storage_options=job.get("storage_options"), stem=job.get("stem"),
            env_kwargs=job.get("env_kwargs"), writer=job.get("writer"),
            overlay=None if overlay is None else pickle.loads(overlay),
        )  # fmt: skip
    except Exception as exc:  # never leave the caller waiting for an answer
        refused = isinstance(exc, (StorageError, VideoExistsError))
        error = str(exc) if refused else repr(exc)
        result = RenderResult(job["replay"], "", verified=False, error=error, refused=refused)
    return job["id"], result


class _Worker:
    """One renderer process and its connection."""

    def __init__(self, nice: int = 0) -> None:
        ours, theirs = socket.socketpair()
        paths = [package_root(), *filter(None, sys.path)]
        serve = f"serve_fd({theirs.fileno()}, {int(nice)})"
        code = f"from rlvideo.wrappers._renderer import serve_fd; {serve}"
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        environment.setdefault("LP_NUM_THREADS", "1")  # Mesa's software GL: one core each
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()], env=environment
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.socket = ours  # jobs go out through it, never waiting (see send)
        self.connection = Connection(os.dup(ours.fileno()))  # results come in through it
        self.outbox = bytearray()  # jobs framed as Connection frames them, not yet sent
        self.busy: deque[int] = deque()  # the ids of the jobs sent, in order

    def send(self, message: Any) -> None:
        """Queue ``message`` and send what the socket takes now: the caller never waits.

        A job is a few kilobytes (a replay file's header and arrays); a renderer busy with a
        video reads them later, and the env loop must not wait for it.
        """
        self.send_data(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def send_data(self, data: bytes) -> None:
        """:meth:`send` a message pickled already."""
        self.outbox += struct.pack("!i", len(data)) + data  # multiprocessing's framing
        self.flush(wait=False)

    def flush(self, *, wait: bool) -> None:
        """Send the queued jobs (``wait``: all of them, waiting for room)."""
        while self.outbox:
            try:
                sent = self.socket.send(self.outbox, 0 if wait else socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            del self.outbox[:sent]

    def died(self) -> str:
        return f"the rlvideo renderer process died (exit code {self.process.poll()})"

    def close(self) -> None:
        self.connection.close()
        self.socket.close()


class RenderPool:
    """Renderer processes that take jobs and give back :class:`RenderResult` s.

    Args:
        workers: How many processes (each renders one video at a time).
        nice: How much lower their priority is (0: the caller's).
    """

    def __init__(self, workers: int = 1, *, nice: int = 0) -> None:
        self._workers = [_Worker(nice) for _ in range(workers)]
        self._next_id = 0
        self._results: deque[tuple[int, RenderResult]] = deque()
        self._next_look = 0.0  # results() asks the workers again only from this time on

    def due(self) -> bool:
        """Whether :meth:`results` would ask the workers now (else it returns nothing)."""
        return bool(self._results) or time.monotonic() >= self._next_look

    @property
    def pending(self) -> int:
        """Jobs sent and not yet answered."""
        return sum(len(worker.busy) for worker in self._workers)

    @property
    def idle(self) -> bool:
        """Whether a worker has no job (none sent to it, or all answered)."""
        return any(not worker.busy for worker in self._workers)

    def submit(self, job: dict[str, Any]) -> int:
        """Send ``job`` to the least busy worker; its id."""
        return self.submit_batch([job])[0]

    def submit_batch(self, jobs: list[dict[str, Any]]) -> list[int]:
        """Send ``jobs``, each to the least busy worker, in one message a worker; their ids.

        Pickled and sent together, many jobs cost the caller little more than one (a video's
        end every ~0.3 ms, in a CartPole loop that records every episode with ``replay=True``).
        """
        ids: list[int] = []
        plans: dict[_Worker, list[dict[str, Any]]] = {}
        for job in jobs:
            job_id = self._next_id + len(ids)
            worker = min(self._workers, key=lambda w: len(w.busy) + len(plans.get(w, ())))
            plans.setdefault(worker, []).append({**job, "id": job_id})
            ids.append(job_id)
        messages = []  # pickled first: a job that does not pickle raises with nothing sent
        for worker, batch in plans.items():
            message = batch[0] if len(batch) == 1 else batch
            messages.append((worker, batch, pickle.dumps(message, pickle.HIGHEST_PROTOCOL)))
        self._next_id += len(ids)
        for worker, batch, data in messages:
            try:
                worker.send_data(data)
            except OSError:
                why = worker.died()
                self._results.extend((job["id"], lost_job(job, why)) for job in batch)
                continue
            worker.busy.extend(job["id"] for job in batch)
        return ids

    def results(self, *, wait: bool = False, now: bool = False) -> list[tuple[int, RenderResult]]:
        """The results that came (``wait``: all of the jobs sent), as ``(job id, result)``.

        Without ``wait`` (or ``now``) the workers are asked at most every :data:`LOOK_EVERY`
        seconds, and not at all while none has a job: the wrappers poll on every env step.
        """
        if not (wait or now) and not self._results:
            clock = time.monotonic()
            if clock < self._next_look:
                return []
            self._next_look = clock + LOOK_EVERY
            if not self.pending:
                return []
        for worker in self._workers:
            try:
                worker.flush(wait=wait)
            except OSError:
                worker.outbox.clear()  # it died: recv says so below
            while worker.busy and (wait or worker.connection.poll(0)):
                try:
                    job_id, result = worker.connection.recv()
                except (EOFError, OSError):
                    why = worker.died()
                    while worker.busy:
                        self._results.append((worker.busy.popleft(), lost_job({}, why)))
                    break
                if job_id in worker.busy:
                    worker.busy.remove(job_id)
                self._results.append((job_id, result))
        done = list(self._results)
        self._results.clear()
        return done

    def wait_any(self) -> None:
        """Wait until a result can be taken (or a worker died), or a queued job can be sent.

        Takes nothing: a Ctrl-C while it waits leaves every result where it was.
        """
        readable = [worker.connection for worker in self._workers if worker.busy]
        writable = [worker.socket for worker in self._workers if worker.outbox]
        if readable or writable:
            select.select(readable, writable, [])

    def flush(self) -> None:
        """Send every job queued (waiting for room in the sockets)."""
        for worker in self._workers:
            with contextlib.suppress(OSError):  # it died: results() says so
                worker.flush(wait=True)

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers (after their jobs, unless ``kill``)."""
        for worker in self._workers:
            if kill:
                worker.process.kill()
            else:
                with contextlib.suppress(OSError):
                    worker.send(None)
                    worker.flush(wait=True)
        for worker in self._workers:
            try:
                worker.process.wait(timeout=None if not kill else 10)
            finally:
                worker.close()


def lost_job(job: dict[str, Any], why: str) -> RenderResult:
    """The result of a job that no renderer finished (``why``): its replay file is kept."""
    replay = str(job.get("replay") or job.get("write", job.get("log", ("",)))[0] or "it")
    return RenderResult(replay, "", verified=False, error=f"{why}; render {replay} again with "
                        "rlvideo render")  # fmt: skip
