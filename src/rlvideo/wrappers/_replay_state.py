"""What replaying an episode needs from a live env, taken just before its reset (issue 23).

Gymnasium envs rebuild their whole state in ``reset()`` from ``env.unwrapped.np_random``
(classic control, Box2D, MuJoCo, MiniGrid). So the state taken *before* the reset, and the
reset itself replayed, reproduce the episode exactly: Box2D, which cannot be restored, too.
ALE keeps its own RNG for sticky actions: its emulator state (``cloneState(include_rng=True)``)
is taken as well. Found by duck typing: no env library is imported here.

:func:`capture_reset` runs in the training loop (about 6 us, 90 us with ALE);
:func:`replay_reset` in the renderer, on an env made again from the spec.
"""

from __future__ import annotations

import copy
import gc
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rlvideo.errors import InvalidArgumentError

__all__ = [
    "ResetState",
    "aim_free_camera",
    "capture_reset",
    "check_replayable",
    "free_camera_lookat",
    "replay_reset",
]


@dataclass(frozen=True)
class ResetState:
    """An episode's start: the reset's arguments and, without a seed, the RNG states before it.

    Attributes:
        seed: The seed the reset was given (then nothing else is needed), or None.
        options: The reset's options.
        rng: ``{"bit_generator": name, "state": ...}`` of ``unwrapped.np_random`` (JSON-able).
        ale: ALE's emulator state with its RNG, serialized; None for other envs.
    """

    seed: int | None
    options: dict[str, Any] | None
    rng: dict[str, Any] | None
    ale: npt.NDArray[np.uint8] | None = None

    def header(self) -> dict[str, Any]:
        """The JSON-able part, for the replay file's segment (the ALE bytes go in an array)."""
        return {"seed": self.seed, "options": self.options, "rng": self.rng}


def capture_reset(env: Any, seed: int | None, options: dict[str, Any] | None) -> ResetState:
    """Take what replaying ``env``'s next reset needs; call it just before that reset."""
    if seed is not None:
        return ResetState(seed, options, None)
    unwrapped = env.unwrapped
    generator = getattr(unwrapped, "np_random", None)  # the property creates it if unset
    if not isinstance(generator, np.random.Generator):
        raise InvalidArgumentError(
            f"{type(unwrapped).__name__} has no np_random generator to replay from: "
            "replay=True needs a Gymnasium env drawing its randomness from env.unwrapped.np_random"
        )
    bit_generator = generator.bit_generator
    rng_state = bit_generator.state
    if not type(bit_generator).__module__.startswith("numpy.random."):
        rng_state = _snapshot(rng_state)  # NumPy's own build it anew on each read: no copy
    rng = {"bit_generator": type(bit_generator).__name__, "state": rng_state}
    ale = getattr(unwrapped, "ale", None)
    ale_bytes = None
    if ale is not None and hasattr(ale, "cloneState"):
        state = ale.cloneState(include_rng=True)
        ale_bytes = np.frombuffer(bytes(state.serialize()), np.uint8).copy()
    return ResetState(None, options, rng, ale_bytes)


def _snapshot(value: Any) -> Any:
    """A copy of a bit generator's state that no later draw changes (its dicts and arrays).

    NumPy's bit generators build the state anew on each read (``state is not state``), so only
    another library's is copied: its containers, not ``deepcopy`` (2x slower).
    """
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def replay_reset(env: Any, state: ResetState) -> tuple[Any, dict[str, Any]]:
    """Reset ``env`` (made again from the live env's spec) as the live reset went."""
    if state.seed is not None:
        return env.reset(seed=state.seed, options=state.options)  # type: ignore[no-any-return]
    if state.rng is None:
        raise InvalidArgumentError("this reset has neither a seed nor an RNG state to replay")
    env.reset(seed=0)  # makes np_random (the state is then overwritten)
    unwrapped = env.unwrapped
    bit_generator = unwrapped.np_random.bit_generator
    if type(bit_generator).__name__ != state.rng["bit_generator"]:
        raise InvalidArgumentError(
            f"the env draws from {type(bit_generator).__name__} now, {state.rng['bit_generator']} "
            "when it was recorded: replay it with the same library versions"
        )
    bit_generator.state = copy.deepcopy(state.rng["state"])
    if state.ale is not None:
        ale = unwrapped.ale
        ale.restoreState(type(ale.cloneState())(state.ale.tobytes()))
    return env.reset(options=state.options)  # type: ignore[no-any-return]


def check_replayable(env: Any) -> str:
    """The JSON of ``env``'s spec, once it is sure the renderer can make the env again.

    Checked when a wrapper with ``replay=True`` is built, before any step: an env that cannot
    be made again from its spec alone would only fail in the renderer, after the run.

    Raises:
        InvalidArgumentError: Naming what cannot be made again and how to fix it.
    """
    spec = getattr(env, "spec", None)
    if spec is None:
        raise InvalidArgumentError(
            f"replay=True needs an env made with gymnasium.make(...): {type(env).__name__} has "
            "no spec, so the renderer cannot make it again. Register it and make it by id, or "
            "record live (replay=False)"
        )
    entry = spec.entry_point
    module = entry.split(":")[0] if isinstance(entry, str) else getattr(entry, "__module__", "")
    if not isinstance(entry, str) or module == "__main__":
        where = (
            entry if isinstance(entry, str) else f"{module}.{getattr(entry, '__qualname__', entry)}"
        )
        raise InvalidArgumentError(
            f"replay=True: the renderer process cannot import {where}. Move the env into a module "
            "and register it with a string entry point ('package.module:EnvClass')"
        )
    for wrapper in getattr(spec, "additional_wrappers", ()) or ():
        if wrapper.kwargs is None:
            raise InvalidArgumentError(
                f"replay=True: the wrapper {wrapper.name} cannot be made again (it does not "
                "subclass gymnasium.utils.RecordConstructorArgs). Add it to the env's registration "
                "or make it record its arguments"
            )
    for where, name in _own_generators(env):
        raise InvalidArgumentError(
            f"replay=True: {where}.{name} is a random generator of its own, which replaying "
            "cannot restore (it restores env.unwrapped.np_random). Draw from self.np_random, "
            "or record live (replay=False)"
        )
    try:
        return str(spec.to_json())
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"replay=True: {spec.id}'s spec cannot be saved ({exc}): a keyword argument of "
            "gymnasium.make or of a wrapper is not plain data (a lambda, an array). Pass plain "
            "values, or record live (replay=False)"
        ) from exc


_GENERATORS = (np.random.Generator, np.random.RandomState, np.random.BitGenerator, random.Random)


def _own_generators(env: Any) -> Iterator[tuple[str, str]]:
    """``(class, attribute)`` of each random generator in the wrapper stack but ``np_random``.

    Example:
        >>> class Noisy:
        ...     def __init__(self):
        ...         self.rng = np.random.default_rng()
        ...         self.unwrapped = self
        >>> list(_own_generators(Noisy()))
        [('Noisy', 'rng')]
    """
    base = getattr(env, "unwrapped", env)
    own = getattr(base, "_np_random", None)
    layer = env
    for _ in range(100):  # a wrapper stack, not a cycle
        if any(isinstance(v, _GENERATORS) and v is not own for v in _attribute_values(layer)):
            for name, value in vars(layer).items():  # named only then (see _attribute_values)
                if isinstance(value, _GENERATORS) and value is not own:
                    yield type(layer).__name__, name
        if layer is base or not hasattr(layer, "env"):
            return
        layer = layer.env


def _attribute_values(layer: Any) -> Iterator[Any]:
    """The values of ``layer``'s attributes, read without making its ``__dict__``.

    ``vars(env)`` makes CPython 3.11 keep the env's attributes in a dict from then on, and every
    ``self.x`` of its ``step`` slower: CartPole's step took 0.2-0.8 us more, for the whole run.
    The garbage collector's view of the object reads them in place.

    Example:
        >>> class Env:
        ...     def __init__(self):
        ...         self.gravity = 9.8
        >>> 9.8 in list(_attribute_values(Env()))
        True
    """
    for value in gc.get_referents(layer):
        if type(value) is dict:  # an instance dict made already (or a dict of __slots__)
            yield from value.values()
        else:
            yield value


def free_camera_lookat(env: Any) -> list[float] | None:
    """Where a Gymnasium MuJoCo env's free camera looks, as its live renders would show it.

    Gymnasium's MuJoCo viewer aims its free camera (no ``camera_id``/``camera_name``) at the
    median of the geoms' positions when it is made, at the env's first render, and keeps it
    there for the env's life. A replayed video must be drawn from the same point, whatever the
    renderer's env drew before: this is taken at the first frame a live env would have
    rendered (from its viewer, if one was made already). None for other envs and cameras.

    Example:
        >>> free_camera_lookat(object()) is None  # not a MuJoCo env
        True
    """
    free = _free_camera(env)
    if free is None:
        return None
    _, renderer, data = free
    viewer = getattr(renderer, "viewer", None)
    cam = getattr(viewer, "cam", None)
    if cam is not None:
        return [float(x) for x in cam.lookat]
    try:
        return [float(x) for x in np.median(data.geom_xpos, axis=0)]
    except (TypeError, ValueError, AttributeError):
        return None


def aim_free_camera(env: Any, lookat: list[float] | None) -> None:
    """Aim a MuJoCo env's free camera as the live env's was (:func:`free_camera_lookat`).

    Without ``lookat`` (a file the run wrote before its first frame), as a fresh env's first
    render would: at the geoms' median now, whatever the renderer's env drew before, so a
    file renders the same in any worker.
    """
    free = _free_camera(env)
    if free is None:
        return
    unwrapped, renderer, data = free
    viewer = renderer._get_viewer(getattr(unwrapped, "render_mode", None) or "rgb_array")
    viewer.cam.lookat[:] = np.median(data.geom_xpos, axis=0) if lookat is None else lookat


def _free_camera(env: Any) -> tuple[Any, Any, Any] | None:
    """A MuJoCo env's parts, when a free camera aimed at its first render draws it.

    ``(unwrapped, mujoco_renderer, data)``; None for other envs, for another camera (``rlvideo
    render --camera``: it has its own pose) and for a free camera that
    ``default_camera_config`` aims (the env's or the render's).
    """
    unwrapped = getattr(env, "unwrapped", None)
    renderer = getattr(unwrapped, "mujoco_renderer", None)
    data = getattr(unwrapped, "data", None)
    if renderer is None or data is None or getattr(renderer, "camera_id", -1) not in (None, -1):
        return None
    if _aimed_by_config(renderer):
        return None
    return unwrapped, renderer, data


def _aimed_by_config(renderer: Any) -> bool:
    """Whether ``default_camera_config`` aims the free camera.

    Gymnasium never makes it track a body: a ``trackbodyid`` alone leaves it free, aimed at the
    first render.
    """
    config = getattr(renderer, "default_cam_config", None) or {}
    return bool({"lookat", "type"} & set(config))
