"""The one episode loop (rlvideo._core.rollout): what the policy is told, what the callbacks get."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlvideo._core.rollout import Episode, run_episodes, run_vector_episodes


class _Recording:
    """An agent that takes action 0 and remembers which observations it was told start episodes."""

    def __init__(self) -> None:
        self.starts: list[bool] = []

    def act(self, observation, episode_start: bool) -> int:
        self.starts.append(episode_start)
        return 0

    def act_batch(self, observations, episode_starts):
        self.starts.append(bool(np.all(episode_starts)))
        return np.zeros(len(observations), int)


def test_an_episodic_agent_is_told_each_episodes_first_observation():
    agent, steps, ended = _Recording(), [], []
    env = gym.make("CartPole-v1", max_episode_steps=3)
    lengths = run_episodes(env, agent, 2, seed=5, on_step=steps.append, on_episode_end=ended.append)
    assert lengths == [3, 3]
    assert agent.starts == [True, False, False, True, False, False]
    assert steps == [1] * 6
    assert [(e.env, e.index, e.steps, e.episode_return) for e in ended] == [
        (0, 0, 3, 3.0),
        (0, 1, 3, 3.0),
    ]


def test_a_callable_is_called_with_the_observation_only():
    seen = []
    env = gym.make("CartPole-v1", max_episode_steps=2)
    run_episodes(env, lambda observation: seen.append(observation.shape) or 1, 1)
    assert seen == [(4,), (4,)]


def test_the_vector_loop_skips_next_step_resets_and_stops_at_the_count():
    agent, steps, ended = _Recording(), [], []
    envs = gym.make_vec("CartPole-v1", num_envs=2, max_episode_steps=3)
    assert str(envs.metadata["autoreset_mode"]).endswith("NEXT_STEP")
    lengths = run_vector_episodes(envs, agent, 2, on_step=steps.append, on_episode_end=ended.append)
    assert lengths == [[3, 3], [3, 3]]
    # the reset step between the episodes is no episode's step: not counted, not a start
    assert agent.starts == [True, False, False, False, True, False, False]
    assert steps == [2, 2, 2, 0, 2, 2, 2]
    assert sorted((e.env, e.index) for e in ended) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(e == Episode(e.env, e.index, 3, 3.0) for e in ended)
