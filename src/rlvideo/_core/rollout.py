"""Run episodes of a Gymnasium env with a policy: the loop the demo, the CLI and Ray share.

No PyAV and no recording here: wrap the env in :class:`rlvideo.RecordVideo` first and the
episodes this runs are recorded. :func:`run_episodes` runs one env, :func:`run_vector_episodes`
a vector env (whose sub-envs reset themselves); both report each step and each finished episode
to callbacks, for a progress bar and a summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from rlvideo._core.track import reward_value

__all__ = [
    "BatchAgent",
    "Episode",
    "EpisodicAgent",
    "Policy",
    "run_episodes",
    "run_vector_episodes",
]

Policy = Callable[[Any], Any]
"""Observation -> action."""


class EpisodicAgent(Protocol):
    """A policy that keeps state through an episode (a recurrent model): told where one starts."""

    def act(self, observation: Any, episode_start: bool) -> Any:
        """The action for ``observation``; ``episode_start``: it is its episode's first."""


class BatchAgent(Protocol):
    """A policy for a vector env: one action per sub-env, told which sub-envs start an episode."""

    def act_batch(self, observations: Any, episode_starts: Any) -> Any:
        """The actions for ``observations``; ``episode_starts``: a bool array, one per sub-env."""


@dataclass(frozen=True)
class Episode:
    """An episode that ended.

    Attributes:
        env: The sub-env that ran it (0 for a single env).
        index: Its index among its env's episodes (0 first).
        steps: Its length, in steps.
        episode_return: The sum of its rewards.
    """

    env: int
    index: int
    steps: int
    episode_return: float


def run_episodes(
    env: Any,
    policy: Policy | EpisodicAgent | None,
    episodes: int,
    *,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
    on_episode_end: Callable[[Episode], None] | None = None,
) -> list[int]:
    """Run ``episodes`` whole episodes; episode ``i`` resets with seed ``seed + i``.

    Args:
        env: A Gymnasium env (any object with Gymnasium's ``reset``/``step``/``action_space``).
        policy: ``observation -> action`` (a callable is called), or an
            :class:`EpisodicAgent` (its ``act`` is told which observation starts an episode);
            None samples the action space (seed it first
            for reproducible actions).
        episodes: How many episodes.
        seed: The first episode's seed.
        on_step: Called after each step with the number of steps taken (1): a progress bar's.
        on_episode_end: Called with each :class:`Episode` as it ends (a summary, a bar).

    Returns:
        The number of steps of each episode.

    Example:
        >>> import gymnasium as gym
        >>> from rlvideo.cli.demo import balancing_policy
        >>> env = gym.make("CartPole-v1", max_episode_steps=5)
        >>> ended = []
        >>> run_episodes(env, balancing_policy, 2, on_episode_end=ended.append)
        [5, 5]
        >>> ended[1]
        Episode(env=0, index=1, steps=5, episode_return=5.0)
    """
    lengths = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, steps, done = 0.0, 0, False
        while not done:
            action = _act(env, policy, observation, steps == 0)
            observation, reward, terminated, truncated, _ = env.step(action)
            total, steps = total + reward_value(reward), steps + 1
            done = bool(terminated or truncated)
            if on_step is not None:
                on_step(1)
        lengths.append(steps)
        if on_episode_end is not None:
            on_episode_end(Episode(0, episode, steps, total))
    return lengths


def _act(env: Any, policy: Policy | EpisodicAgent | None, observation: Any, start: bool) -> Any:
    if policy is None:
        return env.action_space.sample()
    if callable(policy):
        return policy(observation)
    return policy.act(observation, start)


def run_vector_episodes(
    envs: Any,
    agent: BatchAgent | None,
    episodes: int,
    *,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
    on_episode_end: Callable[[Episode], None] | None = None,
) -> list[list[int]]:
    """Run a vector env until each sub-env has ended ``episodes`` episodes.

    The vector env resets with ``seed`` (sub-env ``k`` gets ``seed + k``, as Gymnasium seeds
    them) and then resets each sub-env itself, in either of Gymnasium's autoreset modes
    (``metadata["autoreset_mode"]``): same-step, or next-step, whose reset step is no step of
    an episode and is not counted. The faster sub-envs run on until the slowest is done; their
    episodes past ``episodes`` are not reported.

    Args:
        envs: A Gymnasium vector env.
        agent: Its ``act_batch`` gets the observations and which of them start an episode;
            None samples the action space (seed it first for reproducible actions).
        episodes: How many episodes of each sub-env.
        seed: The vector env's reset seed.
        on_step: Called after each step with the number of sub-env steps counted.
        on_episode_end: Called with each :class:`Episode` (of the first ``episodes`` of its
            sub-env) as it ends.

    Returns:
        The lengths of each sub-env's first ``episodes`` episodes.

    Example:
        >>> import gymnasium as gym
        >>> envs = gym.make_vec("CartPole-v1", num_envs=2, max_episode_steps=3)
        >>> _ = envs.action_space.seed(0)
        >>> run_vector_episodes(envs, None, 2)
        [[3, 3], [3, 3]]
    """
    import numpy as np

    count = envs.num_envs
    same_step = str(envs.metadata.get("autoreset_mode", "")).endswith("SAME_STEP")
    lengths: list[list[int]] = [[] for _ in range(count)]
    returns, steps = np.zeros(count), np.zeros(count, int)
    observations, _ = envs.reset(seed=seed)
    starts = np.ones(count, bool)  # the observation is an episode's first
    resetting = np.zeros(count, bool)  # next-step autoreset: this step only resets
    while min(len(ended) for ended in lengths) < episodes:
        if agent is None:
            actions = envs.action_space.sample()
        else:
            actions = agent.act_batch(observations, starts)
        observations, rewards, terminated, truncated, _ = envs.step(actions)
        counted = ~resetting
        returns += np.where(counted, rewards, 0.0)
        steps += counted
        ended = np.logical_or(terminated, truncated) & counted
        if on_step is not None:
            on_step(int(counted.sum()))
        for k in np.flatnonzero(ended):
            index = len(lengths[k])
            if index < episodes:
                lengths[k].append(int(steps[k]))
                if on_episode_end is not None:
                    on_episode_end(Episode(int(k), index, int(steps[k]), float(returns[k])))
        returns[ended], steps[ended] = 0.0, 0
        starts = ended if same_step else resetting
        resetting = np.zeros(count, bool) if same_step else ended
    return lengths
