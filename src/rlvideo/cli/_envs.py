"""The env ``rlvideo record`` runs: its id resolved, its package imported, the env made.

An id names a registered env, ``MODULE:ID`` (MODULE registers it), or one of the well-known
packages' ids (:data:`ENV_PACKAGES`), imported for the user. Every failure is one line naming
the fix: a missing package and its ``pip install``, close matches of an unknown id, an env that
cannot render images.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rlvideo.errors import InvalidArgumentError, MissingDependencyError, RenderModeError

__all__ = [
    "ENV_PACKAGES",
    "EnvPackage",
    "check_renders_images",
    "current_folder_importable",
    "env_package",
    "gymnasium",
    "make_env",
    "register_env",
]

logger = logging.getLogger("rlvideo.cli")  # the command's one logger: -v shows "rlvideo.cli: ..."


def gymnasium() -> Any:
    """Gymnasium, or a :class:`~rlvideo.errors.MissingDependencyError` naming the extra."""
    from rlvideo._core.optional import import_optional

    return import_optional("gymnasium", "gymnasium", feature="rlvideo record")


@contextmanager
def current_folder_importable() -> Iterator[None]:
    """Let the modules of the current folder be imported, as ``python -m rlvideo`` does.

    The console script's ``sys.path`` starts with its own folder, not the current one. The current
    folder goes last: an installed package of the same name wins. ``sys.path`` is restored after.
    """
    try:
        here = os.getcwd()
    except OSError:  # the folder was removed under us: nothing to add
        yield
        return
    if "" in sys.path or here in sys.path:
        yield
        return
    sys.path.append(here)
    try:
        yield
    finally:
        if here in sys.path:
            sys.path.remove(here)


@dataclass(frozen=True)
class EnvPackage:
    """A package that registers Gymnasium envs when imported, and the ids it registers.

    Attributes:
        modules: The module to import, then any other module it needs to register these envs.
        install: What to ``pip install``.
        namespace: The ids' namespace (``ALE`` in ``ALE/Pong-v5``), or None.
        prefixes: Starts of the ids without a namespace (``MiniGrid-``).
        names: Whole names without a namespace or version (``highway`` in ``highway-v0``).
    """

    modules: tuple[str, ...]
    install: str
    namespace: str | None = None
    prefixes: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()

    def registers(self, env_id: str) -> bool:
        """Whether ``env_id`` (without a ``module:`` part) is one of this package's ids."""
        namespace, slash, name = env_id.rpartition("/")
        if slash:
            return namespace == self.namespace
        return name.startswith(self.prefixes) or re.sub(r"-v\d+$", "", name) in self.names


_HIGHWAY_NAMES = frozenset({
    "exit", "highway", "highway-fast", "intersection", "intersection-multi-agent",
    "lane-keeping", "merge", "merge-generic", "parking", "parking-ActionRepeat",
    "parking-parked", "racetrack", "racetrack-large", "racetrack-oval", "roundabout",
    "roundabout-generic", "two-way", "u-turn", "random-road",
})  # fmt: skip
_ROBOTICS_PREFIXES = ("Fetch", "HandReach", "HandManipulate", "AdroitHand", "PointMaze_",
                      "AntMaze_", "FrankaKitchen")  # fmt: skip
ENV_PACKAGES = (
    EnvPackage(("ale_py",), "ale-py", namespace="ALE"),
    EnvPackage(("minigrid",), "minigrid", prefixes=("MiniGrid-", "BabyAI-")),
    EnvPackage(("shimmy", "dm_control"), '"shimmy[dm-control]"', namespace="dm_control"),
    EnvPackage(("shimmy", "bsuite"), '"shimmy[bsuite]"', namespace="bsuite"),
    EnvPackage(("miniworld",), "miniworld", prefixes=("MiniWorld-",)),
    EnvPackage(("highway_env",), "highway-env", names=_HIGHWAY_NAMES),
    EnvPackage(("gymnasium_robotics",), "gymnasium-robotics", prefixes=_ROBOTICS_PREFIXES),
    EnvPackage(("panda_gym",), "panda-gym", prefixes=("Panda",)),
)
"""The packages ``rlvideo record`` imports for an id that is not registered yet."""


def env_package(env_id: str) -> EnvPackage | None:
    """The package that registers ``env_id`` (``module:`` part removed), if it is a known one.

    Examples:
        >>> env_package("ALE/Pong-v5").modules
        ('ale_py',)
        >>> env_package("BabyAI-GoToRedBall-v0").install
        'minigrid'
        >>> env_package("dm_control/cartpole-swingup-v0").install
        '"shimmy[dm-control]"'
        >>> env_package("highway-fast-v0").modules
        ('highway_env',)
        >>> env_package("CartPole-v1") is None
        True
    """
    return next((package for package in ENV_PACKAGES if package.registers(env_id)), None)


def _installed(module: str) -> bool:
    """Whether the top-level ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _import_module(name: str, what: str) -> None:
    """Import ``name`` for ``what`` (an option); any failure is one line for the user."""
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise InvalidArgumentError(f"{what}: cannot import {name} ({exc})") from exc
    except Exception as exc:  # it failed as it ran: say how, in one line, without its traceback
        first = (str(exc).splitlines() or [""])[0]
        raise InvalidArgumentError(
            f"{what}: importing {name} failed ({type(exc).__name__}: {first})"
        ) from exc


def _is_registered(gym: Any, env_id: str) -> bool:
    """Whether Gymnasium knows ``env_id``'s namespace and name (any version)."""
    try:
        namespace, name, _ = gym.envs.registration.parse_env_id(env_id)
    except gym.error.Error:  # malformed: gym.make says so
        return True
    return any(spec.namespace == namespace and spec.name == name for spec in gym.registry.values())


def register_env(env_id: str, import_modules: Sequence[str]) -> str | None:
    """Import what registers ``env_id``, before Gymnasium looks it up.

    In order: the ``--import`` modules, MODULE of MODULE:ID, then (for an id still unknown) the
    known package of its id, or a namespace that names an installed module (``gym_pusht/...``).

    Returns:
        The fix to add to an unknown-id error: a known package that is not installed; else None.
    """
    for module in import_modules:
        _import_module(module, f"--import {module}")
    module, colon, bare_id = env_id.partition(":")
    if not colon:
        bare_id = env_id
    elif module:
        _import_module(module, f"env id {env_id!r}")
    gym = gymnasium()
    if _is_registered(gym, bare_id):
        return None
    package = env_package(bare_id)
    if package is None:
        namespace, slash, _ = bare_id.rpartition("/")
        if slash and namespace.isidentifier() and _installed(namespace):  # gym_pusht/PushT-v0
            _import_module(namespace, f"env id {env_id!r}")
        return None
    missing = [name for name in package.modules if not _installed(name)]
    if missing:
        return (
            f"It needs {' and '.join(missing)}: pip install {package.install} "
            "(or, if another module registers it, add --import MODULE)."
        )
    _import_module(package.modules[0], f"env id {env_id!r}")
    return None


def check_renders_images(gym: Any, env_id: str) -> None:
    """Refuse an env whose declared render modes lack ``rgb_array``, before anything is made.

    The modes are read as ``gym.make`` reads them: ``metadata["render_modes"]`` of the env
    class the id's entry point names (loading it imports its module; nothing is created). An
    env that declares no modes, or whose id or entry point ``gym.make`` will refuse anyway, is
    left to :func:`make_env`.

    Raises:
        RenderModeError: Naming the env, its render modes and the fix.
    """
    bare_id = env_id.partition(":")[2] or env_id
    try:
        entry_point = gym.spec(bare_id).entry_point
        creator = (
            entry_point
            if callable(entry_point)
            else gym.envs.registration.load_env_creator(entry_point)
        )
    except (gym.error.Error, ImportError, AttributeError, TypeError, ValueError):
        return  # an unknown id, a missing package, a bad entry point: make_env says which
    metadata = getattr(creator, "metadata", None)
    modes = metadata.get("render_modes") if isinstance(metadata, dict) else None
    if modes is None or "rgb_array" in modes:
        return
    raise RenderModeError(
        f"{env_id} cannot render images: its render_modes are {list(modes)!r}, and rlvideo "
        'records render_mode="rgb_array". Record an env that lists "rgb_array" in '
        'metadata["render_modes"], or add that mode to this one (render() returning an '
        "(H, W, 3) uint8 array)"
    )


def make_env(gym: Any, env_id: str, factory: Callable[[], Any], fix: str | None = None) -> Any:
    """Create the env, turning Gymnasium's unknown-id errors into one line with close matches.

    ``fix`` (a package to install) follows Gymnasium's own message; an unknown namespace gets
    Gymnasium's message and the ``--import`` hint.
    """
    try:
        return factory()
    except gym.error.UnregisteredEnv as exc:
        if fix is None and not isinstance(exc, gym.error.NamespaceNotFound):
            close = _similar_env_ids(gym, env_id)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise InvalidArgumentError(f"unknown env id {env_id!r}.{hint}") from exc
        if fix is None:
            fix = "If a module registers it, add --import MODULE."
        raise InvalidArgumentError(f"unknown env id {env_id!r}: {exc} {fix}") from exc
    except (gym.error.DependencyNotInstalled, ModuleNotFoundError) as exc:
        raise MissingDependencyError(f"{env_id} needs a package that is missing: {exc}") from exc
    except TypeError as exc:
        raise InvalidArgumentError(f"{env_id} rejected --env-kwargs: {exc}") from exc
    except gym.error.Error as exc:  # a malformed or deprecated id, a spec without entry point
        raise InvalidArgumentError(f"cannot make {env_id!r}: {exc}") from exc


def _similar_env_ids(gym: Any, env_id: str) -> list[str]:
    """Up to 3 registered ids like ``env_id``, once the installed known packages registered theirs.

    First the ids that differ only by a known namespace or prefix (``Pong-v5``: ``ALE/Pong-v5``;
    ``Empty-5x5-v0``: ``MiniGrid-Empty-5x5-v0``), then difflib's closest.
    """
    for package in ENV_PACKAGES:
        if all(_installed(module) for module in package.modules):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for module in package.modules:
                        importlib.import_module(module)
            except Exception:  # a suggestion is a nicety: a broken package only goes unsearched
                logger.debug("could not import %s to search its env ids", package.modules)
    ids = [str(known) for known in gym.registry]
    wanted = _bare_env_name(env_id).lower()
    same = [known for known in ids if known != env_id and _bare_env_name(known).lower() == wanted]
    close = difflib.get_close_matches(env_id, ids, n=3, cutoff=0.6)
    return list(dict.fromkeys([*same, *close]))[:3]


def _bare_env_name(env_id: str) -> str:
    """An id without its namespace or a known package's prefix.

    Example:
        >>> _bare_env_name("ALE/Pong-v5"), _bare_env_name("MiniGrid-Empty-5x5-v0")
        ('Pong-v5', 'Empty-5x5-v0')
    """
    name = env_id.rpartition("/")[2]
    for package in ENV_PACKAGES:
        for prefix in package.prefixes:
            if prefix.endswith("-") and name.startswith(prefix):
                return name.removeprefix(prefix)
    return name
