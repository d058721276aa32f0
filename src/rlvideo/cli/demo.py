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
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from rlvideo._core.optional import import_optional
from rlvideo._core.rollout import Policy, run_episodes
from rlvideo.cli import _headless_sdl
from rlvideo.cli._errors import user_errors
from rlvideo.cli._summary import print_summary, read_sidecars
from rlvideo.errors import MissingDependencyError
from rlvideo.io.manifest import merge_into
from rlvideo.storage import LocalDestination

__all__ = ["balancing_policy", "demo_overlay", "main", "record_demo"]  # 0.2's (rlvideo.demo)
# ``demo``, the command, is reached through the ``rlvideo`` group (rlvideo.cli), which imports
# this module only when the command runs: ``python -m rlvideo.cli.demo`` runs it un-imported.

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


@click.command()
@click.option("--out", default="videos", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--episodes",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Episodes per policy.",
)
def demo(out: str, episodes: int) -> None:
    """Record CartPole-v1 (a balancing and a random policy) and build its gallery."""
    with user_errors():
        from rlvideo.gallery import build_gallery

        saved = record_demo(out, episodes=episodes)
        destination = LocalDestination(out)
        metas = read_sidecars(saved, destination)
        merge_into(destination, metas)
        print_summary(metas)
        page = build_gallery(out, title="rlvideo demo: CartPole-v1")
    folder = Path(out)
    click.echo(
        f"\nmade {len(saved)} videos of CartPole-v1 (a balancing and a random policy) "
        f"in {folder}/,\n"
        f"  a JSON sidecar and a data track each, {folder / 'manifest.json'} and the gallery "
        f"{page}\n"
        f"next: open file://{page.absolute()} in a browser to watch them\n"
        f"record your own env: {_command()} record YOUR_ENV_ID"
        "  (a fresh runs/YOUR_ENV_ID-<date>-<time>/ each run; a trained agent: --policy model.zip;"
        " a function: --policy my_policy.py:policy)\n"
        '  or in your script: env = rlvideo.RecordVideo(env, "videos")'
        '  (env made with render_mode="rgb_array")'
    )


def _command() -> str:
    """How to run this ``rlvideo`` from the current folder: its name if on PATH, else its path."""
    script = Path(sys.executable).parent / "rlvideo"
    if not script.is_file():
        return "python -m rlvideo"
    found = shutil.which("rlvideo")
    if found and Path(found).resolve() == script.resolve():
        return "rlvideo"
    absolute = script.absolute()
    return os.path.relpath(absolute) if absolute.is_relative_to(Path.cwd()) else str(absolute)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point of the demo."""
    parser = argparse.ArgumentParser(prog="python -m rlvideo.cli.demo", description=__doc__)
    parser.add_argument("--out", default="videos", help="folder for the videos (default: videos)")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per policy (default: 2)")
    args = parser.parse_args(argv)
    _headless_sdl()  # pygame renders off screen without SDL's error lines (unless SDL_* are set)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for path in record_demo(args.out, episodes=args.episodes):
        print(path)  # noqa: T201 (a demo's output)


if __name__ == "__main__":
    main()
