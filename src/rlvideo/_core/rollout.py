"""Run episodes of a Gymnasium env with a policy: the loop the demo, the CLI and Ray share.

No PyAV and no recording here: wrap the env in :class:`rlvideo.RecordVideo` first and the
episodes this runs are recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Policy", "run_episodes"]

Policy = Callable[[Any], Any]
"""Observation -> action."""


def run_episodes(
    env: Any,
    policy: Policy | None,
    episodes: int,
    *,
    seed: int = 0,
    on_episode_end: Callable[[int], None] | None = None,
) -> list[int]:
    """Run ``episodes`` whole episodes; episode ``i`` resets with seed ``seed + i``.

    Args:
        env: A Gymnasium env (any object with Gymnasium's ``reset``/``step``/``action_space``).
        policy: ``observation -> action``; None samples the action space (seed it first for
            reproducible actions).
        episodes: How many episodes.
        seed: The first episode's seed.
        on_episode_end: Called with the episode's index when it ends (a progress bar's update).

    Returns:
        The number of steps of each episode.

    Example:
        >>> import gymnasium as gym
        >>> from rlvideo.cli.demo import balancing_policy
        >>> env = gym.make("CartPole-v1", max_episode_steps=5)
        >>> run_episodes(env, balancing_policy, 2)
        [5, 5]
    """
    lengths = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        steps, done = 0, False
        while not done:
            action = env.action_space.sample() if policy is None else policy(observation)
            observation, _, terminated, truncated, _ = env.step(action)
            steps += 1
            done = bool(terminated or truncated)
        lengths.append(steps)
        if on_episode_end is not None:
            on_episode_end(episode)
    return lengths
