"""What ``rlvideo record --policy`` runs: a trained agent, a TorchScript module or a callable.

:func:`load_agent` turns the option into an :class:`Agent`:

- ``path/to/model.zip``: a Stable-Baselines3 (or sb3-contrib) checkpoint. The algorithm is read from
  the checkpoint when it says (its policy class, and for the shared actor-critic policy, the
  hyperparameters PPO, A2C and TRPO keep); ``--algo`` names it otherwise. A ``VecNormalize``
  pickle saved beside the model (``vecnormalize.pkl``, or rl-baselines3-zoo's
  ``<model folder>/<env id>/vecnormalize.pkl``) normalizes the observations as in training.
  Deterministic by default, as rl-baselines3-zoo's ``record_video`` (``--stochastic`` samples).
- ``path/to/policy.pt``: a TorchScript module (``torch.jit.save``), or ``policy.pt2``, a
  ``torch.export`` program (``torch.export.save``; torch 2.13 deprecates TorchScript), taking a
  float32 batch of observations and returning a batch of actions (or, for a ``Discrete`` space,
  of logits).
- ``MODULE:CALLABLE`` or ``path/to/file.py:NAME``: ``observation -> action``, as before.

The integration layer: Stable-Baselines3, sb3-contrib and torch are imported only when a model
of theirs is named. Loading a ``.zip``, ``.pkl`` or ``.pt`` runs pickled code (as SB3 and torch
do themselves): load only files you trust.
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import logging
import pickletools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlvideo.errors import InvalidArgumentError, MissingDependencyError

__all__ = ["ALGORITHMS", "Agent", "find_vecnormalize", "infer_algorithm", "load_agent"]

logger = logging.getLogger(__name__)

ALGORITHMS: dict[str, tuple[str, str]] = {
    "a2c": ("stable_baselines3", "A2C"),
    "ddpg": ("stable_baselines3", "DDPG"),
    "dqn": ("stable_baselines3", "DQN"),
    "ppo": ("stable_baselines3", "PPO"),
    "sac": ("stable_baselines3", "SAC"),
    "td3": ("stable_baselines3", "TD3"),
    "ars": ("sb3_contrib", "ARS"),
    "crossq": ("sb3_contrib", "CrossQ"),
    "maskableppo": ("sb3_contrib", "MaskablePPO"),
    "qrdqn": ("sb3_contrib", "QRDQN"),
    "recurrentppo": ("sb3_contrib", "RecurrentPPO"),
    "tqc": ("sb3_contrib", "TQC"),
    "trpo": ("sb3_contrib", "TRPO"),
}
"""``--algo`` names (lower case, ``-``/``_`` ignored) -> (package, class)."""

_ALIASES = {"ppolstm": "recurrentppo", "ppomask": "maskableppo"}  # rl-baselines3-zoo's names

_POLICY_MODULES = {
    "stable_baselines3.dqn.policies": "dqn",
    "stable_baselines3.sac.policies": "sac",
    "stable_baselines3.td3.policies": "td3",
    "sb3_contrib.ars.policies": "ars",
    "sb3_contrib.crossq.policies": "crossq",
    "sb3_contrib.qrdqn.policies": "qrdqn",
    "sb3_contrib.tqc.policies": "tqc",
    "sb3_contrib.common.maskable.policies": "maskableppo",
    "sb3_contrib.common.recurrent.policies": "recurrentppo",
}
"""The module of a checkpoint's policy class -> its algorithm (one module, one algorithm)."""

VECNORMALIZE_NAMES = ("vecnormalize.pkl", "vec_normalize.pkl")
"""The file names a saved ``VecNormalize`` is looked for under, beside the model."""


class Agent:
    """Chooses actions: ``act`` for one env, ``act_batch`` for a vector env's sub-envs.

    ``bind`` is called once the env is made, before the first step: it checks the agent fits the
    env's spaces (raising :class:`~rlvideo.errors.InvalidArgumentError` with the fix) and keeps
    what acting needs. ``episode_start`` says the observation is the first of an episode
    (recurrent policies reset their state there).
    """

    description = "a policy"

    def bind(self, env: Any, *, vector: bool = False) -> None:
        """Check the agent fits ``env`` (a Gymnasium env, or a vector env if ``vector``)."""
        self._observation_space = env.single_observation_space if vector else env.observation_space
        self._batch_space = env.observation_space  # a vector env's: what ``iterate`` splits

    def act(self, observation: Any, episode_start: bool) -> Any:
        """The action for one observation."""
        raise NotImplementedError

    def act_batch(self, observations: Any, episode_starts: np.ndarray) -> Any:
        """The actions for a vector env's batch of observations, one per sub-env."""
        from gymnasium.vector.utils import iterate

        singles = iterate(self._batch_space, observations)  # any space: Dict, Tuple, ...
        return np.array(
            [self.act(obs, bool(s)) for obs, s in zip(singles, episode_starts, strict=True)]
        )


class _CallableAgent(Agent):
    def __init__(self, function: Callable[[Any], Any], spec: str) -> None:
        self.function = function
        self.description = spec

    def act(self, observation: Any, episode_start: bool) -> Any:
        return self.function(observation)


class _SB3Agent(Agent):
    """A Stable-Baselines3 model, with its saved observation normalization if any."""

    def __init__(
        self, model: Any, *, path: Path, algorithm: str, deterministic: bool,
        normalizer: Any = None, normalizer_path: Path | None = None,
    ) -> None:  # fmt: skip
        self.model = model
        self.deterministic = deterministic
        self.normalizer = normalizer
        self.algorithm = algorithm
        mode = "deterministic" if deterministic else "stochastic"
        normalized = f", observations normalized by {normalizer_path}" if normalizer else ""
        self.description = f"{ALGORITHMS[algorithm][1]} model {path} ({mode}{normalized})"
        self._state: Any = None
        self._masks: Callable[[], Any] | None = None

    def bind(self, env: Any, *, vector: bool = False) -> None:
        super().bind(env, vector=vector)
        expected = self.model.observation_space
        if not _same_space(expected, self._observation_space):
            raise InvalidArgumentError(
                f"--policy: the model was trained on observations {_describe(expected)}, but "
                f"this env gives {_describe(self._observation_space)}. Record the env it was "
                "trained on; an env that needs wrappers (frame stacking, Atari preprocessing) "
                "is recorded from Python: rlvideo.RecordVideo(wrapped_env, ...) and "
                "model.predict"
            )
        actions = env.single_action_space if vector else env.action_space
        if not _same_space(self.model.action_space, actions):
            raise InvalidArgumentError(
                f"--policy: the model acts in {self.model.action_space}, this env takes {actions}"
            )
        if self.algorithm == "maskableppo":
            if vector:
                self._masks = lambda: np.stack(env.call("action_masks"))
            else:
                self._masks = lambda: env.get_wrapper_attr("action_masks")()

    def _predict(self, observation: Any, starts: np.ndarray) -> Any:
        if self.normalizer is not None:
            observation = self.normalizer.normalize_obs(observation)
        extra = {} if self._masks is None else {"action_masks": self._masks()}
        action, self._state = self.model.predict(
            observation, state=self._state, episode_start=starts,
            deterministic=self.deterministic, **extra,
        )  # fmt: skip
        return action

    def act(self, observation: Any, episode_start: bool) -> Any:
        return self._predict(observation, np.array([episode_start]))

    def act_batch(self, observations: Any, episode_starts: np.ndarray) -> Any:
        return self._predict(observations, np.asarray(episode_starts, bool))


class _TorchScriptAgent(Agent):
    """A TorchScript module: a float32 batch of observations in, actions (or logits) out."""

    def __init__(self, module: Any, path: Path, kind: str | None = None) -> None:
        self.module = module
        self.description = f"{kind or 'TorchScript module'} {path}"

    def bind(self, env: Any, *, vector: bool = False) -> None:
        super().bind(env, vector=vector)
        import gymnasium as gym

        if not isinstance(self._observation_space, gym.spaces.Box):
            raise InvalidArgumentError(
                f"--policy {self.description}: a TorchScript module takes Box observations "
                f"(a float32 tensor); this env gives {self._observation_space}. Wrap it in a "
                "MODULE:CALLABLE policy that builds the module's input"
            )
        self._action_space = env.single_action_space if vector else env.action_space

    def _forward(self, batch: Any) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.module(torch.as_tensor(np.asarray(batch, np.float32)))
        return np.asarray(out.detach().cpu().numpy())

    def _action(self, out: np.ndarray) -> Any:
        import gymnasium as gym

        space = self._action_space
        if isinstance(space, gym.spaces.Discrete):  # an action, or one logit per action
            if out.size == 1:
                return int(out.reshape(()))
            return int(space.start) + int(np.argmax(out))
        if isinstance(space, gym.spaces.Box):
            return np.clip(out.reshape(space.shape), space.low, space.high).astype(space.dtype)
        return out.reshape(space.shape).astype(space.dtype)

    def act(self, observation: Any, episode_start: bool) -> Any:
        return self._action(self._forward(np.asarray(observation)[None])[0])

    def act_batch(self, observations: Any, episode_starts: np.ndarray) -> Any:
        return np.array([self._action(out) for out in self._forward(observations)])


# -- loading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Request:
    spec: str
    algo: str | None
    deterministic: bool | None
    vecnormalize: str | None
    env_id: str
    seed: int


def load_agent(
    spec: str, *, algo: str | None = None, deterministic: bool | None = None,
    vecnormalize: str | None = None, env_id: str = "", seed: int = 0,
) -> Agent | None:  # fmt: skip
    """The agent ``--policy spec`` names; None for ``"random"`` (the caller samples).

    Args:
        spec: ``"random"``, a ``.zip`` SB3 model (or a folder holding one), a ``.pt``/``.pth``
            TorchScript file, or ``MODULE:CALLABLE`` / ``path/to/file.py:NAME``.
        algo: ``--algo`` (SB3 models only); None: read from the checkpoint.
        deterministic: ``--deterministic/--stochastic``; None: deterministic for models.
        vecnormalize: ``--vec-normalize``: a ``VecNormalize`` pickle, ``"none"``, or None to
            look beside the model.
        env_id: The env's id, for rl-baselines3-zoo's layout (``<folder>/<env id>/...``).
        seed: Seeds torch, for ``--stochastic``.

    Raises:
        InvalidArgumentError: Naming the option, what is wrong and the fix.
        MissingDependencyError: A model needs stable-baselines3, sb3-contrib or torch.

    Example:
        >>> agent = load_agent("rlvideo.cli.demo:balancing_policy")
        >>> agent.act([0.0, 0.0, 0.05, 0.0], True)
        1
        >>> load_agent("random") is None
        True
    """
    request = _Request(spec, algo, deterministic, vecnormalize, env_id, seed)
    path = Path(spec) if spec == "random" else _with_zip_suffix(Path(spec))
    model_like = path.suffix.lower() in (".zip", ".pt", ".pth", ".pt2") or (
        ":" not in spec and path.is_dir()
    )
    if not model_like:
        for option, value in (("--algo", algo), ("--vec-normalize", vecnormalize)):
            if value is not None:
                raise InvalidArgumentError(
                    f"{option} applies to a Stable-Baselines3 model (--policy path/to/model.zip), "
                    f"not to --policy {spec}"
                )
        if deterministic is False:
            raise InvalidArgumentError(
                f"--stochastic applies to a Stable-Baselines3 model; --policy {spec} chooses "
                "its own actions"
            )
        if spec == "random":
            return None
        return _CallableAgent(_load_callable(spec), spec)
    if path.is_dir():
        path = _model_in_folder(path, env_id)
    if not path.is_file():
        raise InvalidArgumentError(f"--policy {spec}: no such file")
    if path.suffix.lower() == ".zip":
        return _load_sb3(path, request)
    for option, value in (("--algo", algo), ("--vec-normalize", vecnormalize)):
        if value is not None:
            raise InvalidArgumentError(f"{option} applies to a .zip model, not to {spec}")
    if deterministic is False:
        raise InvalidArgumentError(
            f"--stochastic applies to a .zip model; the TorchScript module {spec} acts as it "
            "was exported"
        )
    return _load_torchscript(path)


def _with_zip_suffix(path: Path) -> Path:
    """``path``, or ``path.zip`` when only that exists.

    SB3's ``model.save("ppo_cartpole")`` writes ``ppo_cartpole.zip``, which its
    ``PPO.load("ppo_cartpole")`` finds; ``--policy ppo_cartpole`` finds it too.

    Example:
        >>> from pathlib import Path
        >>> _ = Path("ppo_cartpole.zip").write_bytes(b"")
        >>> [str(_with_zip_suffix(Path(name))) for name in ("ppo_cartpole", "a2c_cartpole")]
        ['ppo_cartpole.zip', 'a2c_cartpole']
    """
    if ":" in str(path) or path.exists() or path.suffix.lower() == ".zip":
        return path
    zipped = path.with_name(f"{path.name}.zip")
    return zipped if zipped.is_file() else path


def _model_in_folder(folder: Path, env_id: str) -> Path:
    """The model in a folder: ``<env id>.zip`` (rl-baselines3-zoo's name), else its only zip."""
    zoo = folder / f"{env_id.replace('/', '-')}.zip"
    if zoo.is_file():
        return zoo
    zips = sorted(folder.glob("*.zip"))
    if len(zips) == 1:
        return zips[0]
    found = ", ".join(p.name for p in zips) or "none"
    raise InvalidArgumentError(
        f"--policy {folder}: a folder must hold {zoo.name} or a single .zip model (found: "
        f"{found}); name the file: --policy {folder}/NAME.zip"
    )


def _load_callable(spec: str) -> Callable[[Any], Any]:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(
            f'--policy {spec!r}: use "random", path/to/model.zip (Stable-Baselines3), '
            "path/to/policy.pt (TorchScript) or MODULE:CALLABLE, e.g. rlvideo.demo:balancing_policy"
        )
    try:
        if module_name.endswith(".py"):
            location = importlib.util.spec_from_file_location("rlvideo_user_policy", module_name)
            if location is None or location.loader is None or not Path(module_name).exists():
                raise ModuleNotFoundError(f"no file {module_name}")
            module = importlib.util.module_from_spec(location)
            location.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidArgumentError(
            f"--policy {spec!r}: cannot import {module_name} ({exc})"
        ) from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise InvalidArgumentError(
            f"--policy {spec!r}: {module_name} has no callable {attribute!r}"
        )
    return function  # type: ignore[no-any-return]


def _checkpoint_data(path: Path) -> dict[str, Any]:
    """The ``data`` JSON of an SB3 zip: hyperparameters, spaces, the policy class."""
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read("data").decode("utf-8")
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(
            f"--policy {path}: not a Stable-Baselines3 model (a zip saved by model.save holds a "
            f"'data' file; {exc})"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"--policy {path}: its 'data' file is not JSON ({exc})") from exc
    return data if isinstance(data, dict) else {}


def _policy_class(data: dict[str, Any]) -> tuple[str, str]:
    """(module, class name) of the checkpoint's policy, read without unpickling anything."""
    entry = data.get("policy_class")
    if not isinstance(entry, dict):
        return "", ""
    module = str(entry.get("__module__", ""))
    name = ""
    try:  # the pickle names its class as two strings: read them, run nothing
        strings = [
            arg for op, arg, _ in pickletools.genops(base64.b64decode(entry[":serialized:"]))
            if isinstance(arg, str)
        ]  # fmt: skip
        if len(strings) >= 2:
            module, name = strings[-2], strings[-1]
    except (KeyError, ValueError, TypeError):
        pass
    return module, name


def infer_algorithm(path: str | Path) -> str | None:
    """The ``--algo`` name of an SB3 checkpoint, from its policy class; None if it does not say.

    SB3 keeps no algorithm name in a checkpoint. The policy classes of DQN, SAC, TD3 and the
    sb3-contrib algorithms are their own; PPO, A2C and TRPO share ``ActorCriticPolicy`` and are
    told apart by their hyperparameters (``clip_range``, ``cg_max_steps``); DDPG is TD3 with
    ``policy_delay=1`` and no target noise clip. A custom policy class says nothing: pass
    ``--algo``.

    Example:
        >>> from stable_baselines3 import A2C
        >>> A2C("MlpPolicy", "CartPole-v1").save("a2c.zip")
        >>> infer_algorithm("a2c.zip")
        'a2c'
    """
    data = _checkpoint_data(Path(path))
    module, _ = _policy_class(data)
    if module == "stable_baselines3.common.policies":
        return "ppo" if "clip_range" in data else "trpo" if "cg_max_steps" in data else "a2c"
    algorithm = _POLICY_MODULES.get(module)
    if algorithm == "td3" and data.get("policy_delay") == 1 and not data.get("target_noise_clip"):
        return "ddpg"
    return algorithm


def _algorithm_name(algo: str) -> str:
    key = algo.lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in ALGORITHMS:
        known = ", ".join(sorted(ALGORITHMS))
        raise InvalidArgumentError(f"--algo {algo!r}: not an algorithm rlvideo knows ({known})")
    return key


def _algorithm_class(algorithm: str) -> Any:
    package, name = ALGORITHMS[algorithm]
    feature = f"--policy with a {name} model"
    if package == "stable_baselines3":
        from rlvideo._core.optional import import_optional

        return getattr(import_optional(package, "sb3", feature=feature), name)
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(f"{feature} needs {package}: pip install sb3-contrib") from exc
    return getattr(module, name)


def _load_sb3(path: Path, request: _Request) -> _SB3Agent:
    if request.algo is not None:
        algorithm = _algorithm_name(request.algo)
    else:
        found = infer_algorithm(path)
        if found is None:
            module, name = _policy_class(_checkpoint_data(path))
            raise InvalidArgumentError(
                f"--policy {path}: the checkpoint does not say its algorithm (its policy is "
                f"{module}.{name}); pass --algo, e.g. --algo ppo"
            )
        algorithm = found
    cls = _algorithm_class(algorithm)
    data = _checkpoint_data(path)
    # as rl-baselines3-zoo: no schedules unpickled (Python-version bound), a 1-slot replay buffer
    custom = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    kwargs: dict[str, Any] = {"buffer_size": 1} if "buffer_size" in data else {}
    if "optimize_memory_usage" in data:
        kwargs["optimize_memory_usage"] = False
    try:
        model = cls.load(path, custom_objects=custom, device="auto", **kwargs)
    except Exception as exc:  # a checkpoint of another algorithm fails in many ways
        inferred = infer_algorithm(path)
        hint = (
            f" The checkpoint looks like {inferred}: pass --algo {inferred}, or drop --algo."
            if inferred not in (None, algorithm)
            else ""
        )
        first = (str(exc).splitlines() or [""])[0][:300]
        raise InvalidArgumentError(
            f"--policy {path}: {ALGORITHMS[algorithm][1]}.load failed "
            f"({type(exc).__name__}: {first}).{hint}"
        ) from exc
    from stable_baselines3.common.utils import set_random_seed

    set_random_seed(request.seed)  # --stochastic samples the same actions run after run
    normalizer, normalizer_path = _load_vecnormalize(path, request)
    return _SB3Agent(
        model, path=path, algorithm=algorithm,
        deterministic=True if request.deterministic is None else request.deterministic,
        normalizer=normalizer, normalizer_path=normalizer_path,
    )  # fmt: skip


def find_vecnormalize(model: str | Path, env_id: str = "") -> Path | None:
    """The ``VecNormalize`` pickle saved with ``model``, if any.

    Looked for beside the model (``vecnormalize.pkl``, ``vec_normalize.pkl``,
    ``<model stem>_vecnormalize.pkl``) and in rl-baselines3-zoo's layout
    (``<model folder>/<env id>/vecnormalize.pkl``).

    Example:
        >>> import pathlib
        >>> _ = pathlib.Path("runs/CartPole-v1").mkdir(parents=True)
        >>> _ = pathlib.Path("runs/CartPole-v1/vecnormalize.pkl").write_bytes(b"")
        >>> find_vecnormalize("runs/CartPole-v1.zip", "CartPole-v1").as_posix()
        'runs/CartPole-v1/vecnormalize.pkl'
        >>> find_vecnormalize("runs/CartPole-v1.zip") is None
        True
    """
    model = Path(model)
    candidates = [model.parent / name for name in VECNORMALIZE_NAMES]
    candidates.append(model.with_name(f"{model.stem}_vecnormalize.pkl"))
    if env_id:
        candidates += [model.parent / env_id.replace("/", "-") / n for n in VECNORMALIZE_NAMES]
    return next((path for path in candidates if path.is_file()), None)


def _load_vecnormalize(model: Path, request: _Request) -> tuple[Any, Path | None]:
    if request.vecnormalize is not None and request.vecnormalize.lower() == "none":
        return None, None
    if request.vecnormalize is not None:
        path: Path | None = Path(request.vecnormalize)
        if not path.is_file():  # type: ignore[union-attr]
            raise InvalidArgumentError(f"--vec-normalize {request.vecnormalize}: no such file")
    else:
        path = find_vecnormalize(model, request.env_id)
    if path is None:
        return None, None
    import pickle

    from stable_baselines3.common.vec_env import VecNormalize

    try:
        with path.open("rb") as file:
            normalizer = pickle.load(file)  # as VecNormalize.load does
    except Exception as exc:
        raise InvalidArgumentError(
            f"--vec-normalize {path}: cannot be read as a saved VecNormalize ({exc}); "
            "pass --vec-normalize none to record without it"
        ) from exc
    if not isinstance(normalizer, VecNormalize):
        raise InvalidArgumentError(
            f"--vec-normalize {path}: holds a {type(normalizer).__name__}, not the VecNormalize "
            "that VecNormalize.save writes; pass --vec-normalize none to record without it"
        )
    normalizer.training = False
    logger.info("normalizing observations with %s", path)
    return normalizer, path


def _load_torchscript(path: Path) -> _TorchScriptAgent:
    """A TorchScript module (``.pt``, ``.pth``) or a ``torch.export`` program (``.pt2``)."""
    import warnings

    from rlvideo._core.optional import import_optional

    torch = import_optional("torch", "sb3", feature="--policy with a TorchScript module")
    exported = path.suffix.lower() == ".pt2"
    try:
        if exported:
            module = torch.export.load(str(path)).module()
        else:
            with warnings.catch_warnings():  # torch 2.13 deprecates jit; its files still load
                warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", Warning)
                module = torch.jit.load(str(path), map_location="cpu")
                module.eval()
    except Exception as exc:  # torch.save'd state dicts and pickles fail here
        first = (str(exc).splitlines() or [""])[0][:200]
        kind = "a torch.export program (torch.export.save)" if exported else "a TorchScript module"
        raise InvalidArgumentError(
            f"--policy {path}: not {kind} ({first}). Save one with torch.export.save(program, "
            "'policy.pt2') or torch.jit.save(torch.jit.script(net), 'policy.pt'); a state dict "
            "needs its network class: use --policy MODULE:CALLABLE"
        ) from exc
    return _TorchScriptAgent(module, path, "torch.export program" if exported else None)


def _same_space(a: Any, b: Any) -> bool:
    """Whether two spaces take the same values (dtype and shape; bounds may differ slightly)."""
    import gymnasium as gym

    if type(a) is not type(b):
        return False
    if isinstance(a, gym.spaces.Box):
        return bool(a.shape == b.shape)
    if isinstance(a, gym.spaces.Discrete):
        return bool(a.n == b.n)
    if isinstance(a, gym.spaces.Dict):
        return a.keys() == b.keys() and all(_same_space(a[k], b[k]) for k in a)
    return bool(a == b)


def _describe(space: Any) -> str:
    shape = getattr(space, "shape", None)
    return f"{type(space).__name__}{tuple(shape)!r}" if shape else str(space)
