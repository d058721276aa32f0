"""Record now, render later: the replay files of ``replay=True``, and rendering them again.

A wrapper given ``replay=True`` (:class:`rlvideo.RecordVideo`) renders nothing in the training
loop: each video gets a small replay file, ``<stem>.replay.npz``, beside it, and a background
renderer makes the env again from its spec, replays the actions, verifies each step against
its digest and writes the video. :func:`render` renders replay files again, here and now:
another camera, size or format, or the episodes that were only logged
(``replay_options={"log": "all", "render": "none"}``). ``rlvideo render`` is its command line.

The file's format is documented in ``docs/reference/replay-file.md``.

Example:
    >>> import gymnasium as gym
    >>> import rlvideo
    >>> env = rlvideo.RecordVideo(gym.make("CartPole-v1", render_mode="rgb_array"), "replayed",
    ...                           episode_trigger=lambda e: e == 0, replay=True)
    >>> _ = env.reset(seed=0)
    >>> for step in range(8):  # alternate pushes: CartPole stays up for these 8 steps
    ...     _ = env.step(step % 2)
    >>> env.close()
    >>> [path.name for path in env.saved_videos]
    ['rl-video-episode-0.mp4']
    >>> [result] = render(["replayed"], format="webm")  # every replay file in the folder
    >>> result.verified, Path(result.path).name
    (True, 'rl-video-episode-0.webm')
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlvideo._core.replay import REPLAY_SUFFIX, ReplayHeader, ReplayOptions, render_overrides
from rlvideo.io.replayfile import read_replay
from rlvideo.wrappers._renderer import RenderPool, RenderResult, close_envs, render_replay

__all__ = ["RenderResult", "ReplayHeader", "ReplayOptions", "read_replay", "render", "replay_files"]


def replay_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The replay files named by ``paths``: files as given, folders' ``*.replay.npz``, sorted.

    Raises:
        FileNotFoundError: For a path that does not exist.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{REPLAY_SUFFIX}")))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no replay file or folder at {path}")
    return found


def render(
    paths: Iterable[str | os.PathLike[str]],
    *,
    video_folder: str | None = None,
    camera: str | int | None = None,
    width: int | None = None,
    height: int | None = None,
    format: str | None = None,
    overlay: Any = None,
    overwrite: bool | None = True,
    workers: int = 1,
) -> list[RenderResult]:
    """Render the replay files ``paths`` (files or folders), one result each, in their order.

    Args:
        paths: Replay files, or folders of them.
        video_folder: Where the videos go (default: beside each replay file).
        camera: MuJoCo's camera: a name (``camera_name``) or a number (``camera_id``).
        width: The render's width (an env keyword argument, as MuJoCo's).
        height: The render's height.
        format: ``"mp4"``, ``"webm"`` or ``"gif"`` instead of the recorded format.
        overlay: The overlay option instead of the recorded one (True, a list of fields).
        overwrite: What a taken name gets (the recording option's meaning).
        workers: Renderer processes; 1 renders here, in this process.

    A camera or size changes the stem (``<stem>.cam-track.640x360.mp4``), so the recorded
    video is never replaced by a different view.
    """
    jobs: list[dict[str, Any]] = []
    for path in replay_files(paths):
        stem = path.name.removesuffix(REPLAY_SUFFIX)
        stem, env_kwargs = render_overrides(stem, camera=camera, width=width, height=height)
        writer: dict[str, Any] = {}
        if format is not None:
            writer["format"] = format
        if overlay is not None:
            writer["overlay"] = overlay
        jobs.append({
            "replay": str(path), "folder": video_folder, "stem": stem,
            "env_kwargs": env_kwargs, "writer": writer, "overwrite": overwrite,
        })  # fmt: skip
    if workers <= 1:
        try:
            return [_render_here(job) for job in jobs]
        finally:
            close_envs()
    pool = RenderPool(workers)
    done = False
    try:
        order = {pool.submit(job): index for index, job in enumerate(jobs)}
        results: list[RenderResult | None] = [None] * len(jobs)
        for job_id, result in pool.results(wait=True):
            results[order[job_id]] = result
        done = True
    finally:  # Ctrl-C (the renderers ignore it) or an error: they stop now, not after every job
        pool.close(kill=not done)
    return [result for result in results if result is not None]


def _render_here(job: dict[str, Any]) -> RenderResult:
    return render_replay(
        job["replay"], video_folder=job["folder"], stem=job["stem"],
        env_kwargs=job["env_kwargs"], writer=job["writer"], overwrite=job["overwrite"],
    )  # fmt: skip
