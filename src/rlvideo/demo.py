"""Record CartPole-v1 with a balancing policy and a random one, through :func:`rlvideo.save_video`.

Run it with ``python -m rlvideo.demo --out videos`` (``make demo`` does). It needs Gymnasium's
classic-control envs: ``pip install "rlvideo[gymnasium]" "gymnasium[classic-control]"``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rlvideo._optional import import_optional
from rlvideo.dropin import save_video

__all__ = ["balancing_policy", "main", "record_demo"]

Policy = Callable[[Any], int]


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


def _episode_frames(env: Any, policy: Policy, seed: int, returns: list[float]) -> Iterator[Any]:
    """Yield the frames of one episode, reset frame first; append its return when done."""
    observation, _ = env.reset(seed=seed)
    yield env.render()
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(policy(observation))
        total += float(reward)
        done = terminated or truncated
        yield env.render()
    returns.append(total)


def record_demo(out: str | Path, *, episodes: int = 2, overwrite: bool = True) -> list[Path]:
    """Record ``episodes`` episodes per policy into ``out``; return the video paths.

    The frames stream from the env straight into the encoder (a generator), never into a list.
    """
    gym = import_optional("gymnasium", "gymnasium", feature="the CartPole demo")
    env = gym.make("CartPole-v1", render_mode="rgb_array")
    rng = np.random.default_rng(0)
    policies: dict[str, Policy] = {
        "balancing": balancing_policy,
        "random": lambda _obs: int(rng.integers(2)),
    }
    paths: list[Path] = []
    try:
        for name, policy in policies.items():
            for episode in range(episodes):
                returns: list[float] = []
                paths += save_video(
                    _episode_frames(env, policy, seed=episode, returns=returns),
                    out,
                    episode_trigger=lambda _i: True,
                    episode_index=episode,
                    name_prefix=f"cartpole-{name}",
                    fps=env.metadata["render_fps"],
                    overwrite=overwrite,
                )
                print(f"{paths[-1]}  (return {returns[0]:.0f})")  # noqa: T201 (a demo's output)
    finally:
        env.close()
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point of the demo."""
    parser = argparse.ArgumentParser(prog="python -m rlvideo.demo", description=__doc__)
    parser.add_argument("--out", default="videos", help="folder for the videos (default: videos)")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per policy (default: 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    record_demo(args.out, episodes=args.episodes)


if __name__ == "__main__":
    main()
