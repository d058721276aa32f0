"""Replaying an episode from the state taken before its reset (issue 23, started): every family
the issue names gives the same observations, rewards and ends, step for step, on an env made
again from the live env's spec."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from rlvideo._core.replay import step_digest
from rlvideo.errors import InvalidArgumentError
from rlvideo.wrappers._replay_state import capture_reset, check_replayable, replay_reset

FAMILIES = [
    ("CartPole-v1", {}, None),
    ("Pendulum-v1", {}, None),
    ("LunarLander-v3", {}, "Box2D"),
    ("HalfCheetah-v5", {}, "mujoco"),
    ("ALE/Pong-v5", {}, "ale_py"),
    ("MiniGrid-DoorKey-8x8-v0", {}, "minigrid"),
]


def make(env_id: str, kwargs: dict) -> gym.Env:  # type: ignore[type-arg]
    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    if env_id.startswith("MiniGrid"):
        import minigrid  # noqa: F401 (registers the envs)
    return gym.make(env_id, **kwargs)


@pytest.mark.parametrize(("env_id", "kwargs", "module"), FAMILIES, ids=[f[0] for f in FAMILIES])
@pytest.mark.parametrize("seeded", [False, True], ids=["unseeded", "seeded"])
def test_an_episode_replays_step_for_step(env_id: str, kwargs: dict, module: str | None,
                                           seeded: bool) -> None:  # fmt: skip
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    live = make(env_id, kwargs)
    live.action_space.seed(7)
    live.reset(seed=3)  # an earlier episode: the second starts from a mid-run RNG
    for _ in range(5):
        live.step(live.action_space.sample())
    seed = 11 if seeded else None
    state = capture_reset(live, seed, None)
    obs, _ = live.reset(seed=seed)
    digests, actions = [step_digest(obs, 0.0, False, False)], []
    for _ in range(60):
        action = live.action_space.sample()
        obs, reward, terminated, truncated, _ = live.step(action)
        actions.append(action)
        digests.append(step_digest(obs, reward, terminated, truncated))
        if terminated or truncated:
            break
    spec = live.spec
    live.close()

    again = gym.make(spec)  # the spec alone, kwargs included
    obs, _ = replay_reset(again, state)
    replayed = [step_digest(obs, 0.0, False, False)]
    for action in actions:
        obs, reward, terminated, truncated, _ = again.step(action)
        replayed.append(step_digest(obs, reward, terminated, truncated))
    again.close()
    assert replayed == digests
    if not seeded:
        assert state.rng is not None
        assert (state.ale is not None) == env_id.startswith("ALE/")


class _ReusedState(np.random.PCG64):
    """A bit generator of another library whose ``state`` is one dict, refilled on each read."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.shared: dict = {}

    @property  # type: ignore[override]
    def state(self) -> dict:
        self.shared.clear()
        self.shared.update(np.random.PCG64.state.__get__(self))  # type: ignore[attr-defined]
        return self.shared

    @state.setter
    def state(self, value: dict) -> None:
        np.random.PCG64.state.__set__(self, value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, _ReusedState], ids=["numpy", "other"])
def test_the_rng_state_taken_is_not_changed_by_later_draws(bit_generator: type) -> None:
    env = gym.make("CartPole-v1")
    env.unwrapped.np_random = np.random.Generator(bit_generator(5))
    state = capture_reset(env, None, None)
    taken = repr(state.rng)
    env.unwrapped.np_random.random(10)
    env.unwrapped.np_random.bit_generator.state  # noqa: B018 (a read refills a reused dict)
    assert repr(state.rng) == taken
    assert state.rng is not None
    assert state.rng["bit_generator"] == bit_generator.__name__


# -- what cannot be replayed is said when the wrapper is built ------------------------------------
class _MainEnv(gym.Env):  # type: ignore[type-arg]
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)


class _Unrecorded(gym.Wrapper):  # type: ignore[type-arg]
    """A wrapper that does not record its constructor's arguments."""


def test_a_registered_env_is_replayable_and_its_spec_json_makes_it_again() -> None:
    env = gym.make("CartPole-v1", max_episode_steps=50)
    text = check_replayable(env)
    again = gym.make(gym.envs.registration.EnvSpec.from_json(text))
    assert again.spec is not None
    assert again.spec.max_episode_steps == 50


def test_what_the_renderer_cannot_make_again_is_an_error_naming_the_fix() -> None:
    with pytest.raises(InvalidArgumentError, match=r"needs an env made with gymnasium\.make"):
        check_replayable(_MainEnv())
    gym.register("RlvideoTestMain-v0", entry_point=_MainEnv)  # a class, not an import path
    try:
        with pytest.raises(InvalidArgumentError, match=r"cannot import .*_MainEnv"):
            check_replayable(gym.make("RlvideoTestMain-v0"))
    finally:
        gym.registry.pop("RlvideoTestMain-v0")
    with pytest.raises(InvalidArgumentError, match="_Unrecorded cannot be made again"):
        check_replayable(_Unrecorded(gym.make("CartPole-v1")))
    env = gym.wrappers.TransformReward(gym.make("CartPole-v1"), lambda reward: 2 * reward)
    with pytest.raises(InvalidArgumentError, match="spec cannot be saved"):
        check_replayable(env)


class _WatchedCartPole(CartPoleEnv):
    """CartPole that notes every look at its ``__dict__`` (``vars(env)`` makes one)."""

    looks = 0

    def __getattribute__(self, name: str) -> object:
        if name == "__dict__":
            type(self).looks += 1
        return super().__getattribute__(name)


def test_replay_true_leaves_the_env_s_attributes_as_they_were(tmp_path: Path) -> None:
    """``vars(env)`` makes CPython 3.11 keep an env's attributes in a dict for good, and each of
    CartPole's steps 0.2-0.8 us slower (a tenth of a step): building a replay=True wrapper, and
    checking the env for random generators of its own, must read them in place."""
    import rlvideo

    env = gym.make("CartPole-v1", render_mode="rgb_array")
    env.unwrapped.__class__ = _WatchedCartPole
    check_replayable(env)
    with rlvideo.RecordVideo(env, str(tmp_path), replay=True) as recorded:
        recorded.reset(seed=0)
        recorded.step(0)
    assert _WatchedCartPole.looks == 0
    noisy = gym.make("CartPole-v1")
    noisy.unwrapped.rng = np.random.default_rng()  # still found, and named
    with pytest.raises(InvalidArgumentError, match=r"CartPoleEnv\.rng is a random generator"):
        check_replayable(noisy)
