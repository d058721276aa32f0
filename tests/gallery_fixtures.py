"""Small real videos with synthetic sidecars and data tracks, for the gallery's tests.

Videos are written by :class:`rlvideo.VideoWriter` from tiny gradient frames (fast); sidecars
are :class:`rlvideo.VideoMetadata` JSON, with ``path`` relative to the sidecar's folder (the
new form) unless asked otherwise; tracks follow /work/notes/track_format.md: one JSON object
per frame, ``step == frame``, ``reward == reward_per_step`` after the reset frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlvideo import VideoMetadata, VideoWriter
from rlvideo._core.metadata import sidecar_path
from rlvideo._core.track import track_path
from tests.helpers import gradient_frames


def write_clip(
    folder: Path,
    name: str,
    *,
    frames: int = 12,
    fps: int = 20,
    size: tuple[int, int] = (32, 48),
    track: bool = True,
    reward_per_step: float = 1.0,
    absolute_path: bool = False,
    extra: dict[str, Any] | None = None,
    **meta: Any,
) -> Path:
    """Write ``folder/name`` (``frames`` frames) with its sidecar and, if ``track``, its track.

    ``meta`` goes to :class:`VideoMetadata` (episode, seed, env_index, first_step, ...);
    ``extra`` adds keys the dataclass does not know (run, worker, checkpoint).
    """
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / name
    height, width = size
    with VideoWriter(video, fps=fps) as writer:
        writer.write_batch(gradient_frames(frames, height, width))
    steps = frames - 1
    fields: dict[str, Any] = {
        "kind": "episode", "env_id": "Grid-v0", "steps": steps, "frames": frames,
        "episode_return": reward_per_step * steps, "fps": float(fps), "codec": "libx264",
    }  # fmt: skip
    fields.update(meta)
    where = str(video.absolute()) if absolute_path else video.name
    data = VideoMetadata(path=where, **fields).to_dict()
    data.update(extra or {})
    sidecar_path(video).write_text(json.dumps(data, indent=2), encoding="utf-8")
    if track:
        write_track(video, frames, episode=int(fields.get("episode", 0)), reward=reward_per_step)
    return video


def track_lines(frames: int, *, episode: int = 0, reward: float = 1.0) -> list[dict[str, Any]]:
    """The lines of a track: reset frame, then one step per frame; action alternates 0, 1."""
    lines: list[dict[str, Any]] = []
    total = 0.0
    for frame in range(frames):
        line: dict[str, Any] = {
            "frame": frame, "episode": episode, "step": frame, "terminated": False,
            "truncated": False,
        }  # fmt: skip
        if frame == 0:
            line.update(reward=None, **{"return": 0.0})
        else:
            total += reward
            line.update(reward=reward, action=frame % 2, info={"x": round(frame * 0.1, 3)})
            line["return"] = total
        lines.append(line)
    if lines:
        lines[-1]["terminated"] = True
    return lines


def write_track(video: Path, frames: int, *, episode: int = 0, reward: float = 1.0) -> Path:
    path = track_path(video)
    lines = track_lines(frames, episode=episode, reward=reward)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def write_runs(root: Path, *, frames: int = 12, size: tuple[int, int] = (32, 48)) -> Path:
    """A folder of run folders, as ``rlvideo record`` and TensorBoard users keep them.

    ``ppo/`` and ``hand/`` hold CartPole-v1 episodes 0 and 1 on seeds 0 and 1 (returns
    ``frames - 1`` and half of it), ``pendulum/sac/`` one Pendulum-v1 episode (return near
    -500, two folders deep). Returns ``root``.
    """
    for run, reward in (("ppo", 1.0), ("hand", 0.5)):
        for episode in (0, 1):
            write_clip(
                root / run, f"rl-video-episode-{episode}.mp4", frames=frames, size=size,
                env_id="CartPole-v1", episode=episode, seed=episode, reward_per_step=reward,
            )  # fmt: skip
    write_clip(
        root / "pendulum" / "sac", "rl-video-episode-0.mp4", frames=frames, size=size,
        env_id="Pendulum-v1", seed=0, reward_per_step=-500 / (frames - 1), truncated=True,
    )  # fmt: skip
    return root


def page_data(page: Path) -> dict[str, Any]:
    """The data a gallery page embeds: ``{"videos": [...], "labels": {...}, ...}``."""
    html = page.read_text(encoding="utf-8")
    start = html.index('id="gallery-data">') + len('id="gallery-data">')
    data: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return data
