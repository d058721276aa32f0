"""Record CartPole-v1 with a balancing policy and a random one, on the same seeds, to compare.

Episode ``k`` of each policy starts from ``reset(seed=k)``, so ``cartpole-balancing-episode-k``
and ``cartpole-random-episode-k`` are "same seed" pairs. Every video has a JSON sidecar (return,
length, seed), a data track (``.track.jsonl``: step, reward and return per frame) and, with
Pillow (``rlvideo[overlay]``), episode, step, reward and return burnt into a band above its
frames (600x424: the cart's 600x400 are all kept; the gallery's player starts with its live
text off for them, the values being in the frames).

``rlvideo demo`` (what ``make demo`` runs) records it, then builds the gallery; ``python -m
rlvideo.cli.demo --out videos`` only records, printing each video's path. Both need Gymnasium's
classic-control envs: ``pip install "rlvideo[gymnasium]"``, and ``rlvideo demo`` Jinja2 too:
``pip install "rlvideo[gymnasium,gallery,overlay]"``. Without Pillow the videos are recorded
without the overlay, and a warning says how to get it.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from rlvideo._core.optional import import_optional
from rlvideo._core.rollout import Policy, run_episodes
from rlvideo.errors import MissingDependencyError

__all__ = ["balancing_policy", "demo_overlay", "main", "record_demo"]

logger = logging.getLogger(__name__)


def balancing_policy(observation: Any) -> int:
    """Push the cart toward the side the pole falls to, drifting back to the centre.

    A PD rule on the pole's angle and angular velocity plus a small pull on the cart's position
    and velocity; it keeps CartPole up for 20000 steps from every seed we tried.

    Example:
        >>> balancing_policy([0.0, 0.0, 0.05, 0.0]), balancing_policy([0.0, 0.0, -0.05, 0.0])
        (1, 0)
    """
    x, x_dot, theta, theta_dot = (float(v) for v in observation)
    return int(theta + theta_dot + 0.05 * x + 0.1 * x_dot > 0)


def demo_overlay() -> bool:
    """Whether the demo burns its overlay in: True with Pillow, else False and a warning.

    Example:
        >>> demo_overlay()  # Pillow comes with the dev extra
        True
    """
    try:
        import_optional("PIL.ImageDraw", "overlay", feature="the demo's overlay")
    except MissingDependencyError:
        logger.warning(
            "recording the demo without its overlay (step and return on the frames): pip "
            'install "rlvideo[overlay]" to get it'
        )
        return False
    return True


def record_demo(out: str | Path, *, episodes: int = 2, overwrite: bool = True) -> list[Path]:
    """Record ``episodes`` CartPole-v1 episodes per policy into ``out``; return the video paths.

    Each policy records through :class:`rlvideo.RecordVideo` with ``metadata=True``, so every
    video gets a JSON sidecar (return, length, seed) and a data track for ``rlvideo gallery``
    to show, and ``overlay=True`` (when Pillow is there: :func:`demo_overlay`). Episode ``k``
    of both policies resets with ``seed=k``: same-seed pairs to compare.
    """
    gym = import_optional("gymnasium", "gymnasium", feature="the CartPole demo")
    from rlvideo.wrappers.gymnasium import RecordVideo

    overlay = demo_overlay()

    rng = np.random.default_rng(0)
    policies: dict[str, Policy] = {
        "balancing": balancing_policy,
        "random": lambda _obs: int(rng.integers(2)),
    }
    paths: list[Path] = []
    for name, policy in policies.items():
        env = RecordVideo(
            gym.make("CartPole-v1", render_mode="rgb_array"), str(out),
            episode_trigger=lambda _episode: True, name_prefix=f"cartpole-{name}",
            metadata=True, overlay=overlay, overwrite=overwrite,
        )  # fmt: skip
        with env:  # an error or Ctrl-C out of the run keeps the video it cut off as incomplete
            run_episodes(env, policy, episodes, seed=0)  # the same seeds for every policy
        paths += env.saved_videos
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point of the demo."""
    parser = argparse.ArgumentParser(prog="python -m rlvideo.cli.demo", description=__doc__)
    parser.add_argument("--out", default="videos", help="folder for the videos (default: videos)")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per policy (default: 2)")
    args = parser.parse_args(argv)
    from rlvideo.cli import _headless_sdl

    _headless_sdl()  # pygame renders off screen without SDL's error lines (unless SDL_* are set)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for path in record_demo(args.out, episodes=args.episodes):
        print(path)  # noqa: T201 (a demo's output)


if __name__ == "__main__":
    main()
