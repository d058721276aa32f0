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
