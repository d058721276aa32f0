"""A CartPole policy for `rlvideo record --policy examples/cartpole_policy.py:policy`.

Any file or module with a callable ``observation -> action`` works the same way.
"""


def policy(observation):
    """Push the cart toward where the pole is falling (balances CartPole-v1 for 500 steps)."""
    _, _, angle, angular_velocity = observation
    return int(angle + 0.5 * angular_velocity > 0)
