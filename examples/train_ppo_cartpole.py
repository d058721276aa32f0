"""Train a small PPO on CartPole-v1 and save it as Stable-Baselines3 does: a model to record.

    python examples/train_ppo_cartpole.py            # ~10 s on a laptop's CPU
    rlvideo record CartPole-v1 --policy runs/agents/ppo-cartpole.zip --out runs/ppo

It saves ``runs/agents/ppo-cartpole.zip`` and, beside it, ``vecnormalize.pkl``: the observation
statistics of the ``VecNormalize`` it trained with, which ``rlvideo record`` finds and applies.
Needs ``pip install "rlvideo[sb3]"``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize


def main() -> None:
    """Train, then save the model and its VecNormalize statistics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12_000, help="Training steps.")
    parser.add_argument("--out", type=Path, default=Path("runs/agents"), help="Where to save.")
    args = parser.parse_args()
    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=4, seed=0), norm_reward=False)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=256, learning_rate=1e-3, seed=0,
                device="cpu")  # fmt: skip
    model.learn(args.steps)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "ppo-cartpole.zip")
    env.save(str(args.out / "vecnormalize.pkl"))
    print(f"saved {args.out / 'ppo-cartpole.zip'} and {args.out / 'vecnormalize.pkl'}")  # noqa: T201


if __name__ == "__main__":
    main()
