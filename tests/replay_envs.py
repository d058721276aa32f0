"""Envs for tests/test_replay.py, importable by the renderer process (tests/ is on its path)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv


class GlobalRandomCartPole(CartPoleEnv):
    """CartPole whose observations take noise from NumPy's global RNG after its 5th step.

    Nothing in ``env.unwrapped.np_random`` says it: a replay diverges at step 6.
    """

    def reset(self, **kwargs: Any) -> Any:
        self.steps_taken = 0
        return super().reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        self.steps_taken += 1
        if self.steps_taken > 5:
            obs = obs + np.float32(np.random.random())
        return obs, reward, terminated, truncated, info


class OwnRngCartPole(CartPoleEnv):
    """CartPole that keeps a generator of its own: replay cannot restore it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.noise = np.random.default_rng()


class DictActionCartPole(CartPoleEnv):
    """CartPole whose actions are dicts (``{"push": 0 or 1}``): no replay file can keep them."""

    def __init__(self, **kwargs: Any) -> None:
        from gymnasium import spaces

        super().__init__(**kwargs)
        self.push_space = self.action_space
        self.action_space = spaces.Dict({"push": spaces.Discrete(2)})

    def step(self, action: Any) -> Any:
        self.action_space, space = self.push_space, self.action_space
        try:
            return super().step(int(action["push"]))
        finally:
            self.action_space = space


class OneBufferCartPole(CartPoleEnv):
    """CartPole that returns one observation array, filled again by every step and reset.

    Gymnasium's same-step vector env keeps the ended step's array in ``info["final_obs"]``,
    and the reset inside the step refills it: that step's observation is gone by then.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.buffer = np.zeros(4, np.float32)

    def reset(self, **kwargs: Any) -> Any:
        obs, info = super().reset(**kwargs)
        self.buffer[:] = obs
        return self.buffer, info

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        self.buffer[:] = obs
        return self.buffer, reward, terminated, truncated, info


class VectorRewardCartPole(CartPoleEnv):
    """CartPole with a multi-objective env's reward: a vector (MO-Gymnasium's envs give one)."""

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, np.array([reward, -0.5 * reward]), terminated, truncated, info


class ArrayRewardCartPole(CartPoleEnv):
    """CartPole whose reward is a one-element float32 array."""

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, np.array([reward], np.float32), terminated, truncated, info
