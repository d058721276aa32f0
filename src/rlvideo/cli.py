"""The ``rlvideo`` command: ``record``, ``info``, ``gallery``, ``recover`` and ``demo``.

Built on click. User errors (an unknown env id, a bad policy path, a missing extra, any
:class:`~rlvideo.errors.RLVideoError`) print one line and exit with status 2, no traceback.
This is the only module that prints.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from rlvideo._rollout import run_episodes
from rlvideo.errors import InvalidArgumentError, MissingDependencyError, RLVideoError
from rlvideo.manifest import merge_into, read_sidecar
from rlvideo.metadata import VideoMetadata
from rlvideo.naming import FORMATS, is_incomplete_name
from rlvideo.storage import Destination, LocalDestination, is_url, open_destination

__all__ = ["main"]

logger = logging.getLogger(__name__)

KEEP_CHOICES = ("all", "failures", "best")


class _UserError(click.ClickException):
    """A problem the user can fix: one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"rlvideo: error: {self.format_message()}", err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn rlvideo's (and Gymnasium's) user-facing errors into :class:`_UserError`."""
    try:
        yield
    except RLVideoError as exc:
        raise _UserError(str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise _UserError(
            "interrupted; videos finished before were saved, and any video in progress was "
            "kept as <name>.incomplete.<ext>"
        ) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlvideo", prog_name="rlvideo")
@click.option("-v", "--verbose", count=True, help="Log more (-v: each video, -vv: codec choices).")
def cli(verbose: int) -> None:
    """Record, inspect and browse videos of reinforcement-learning rollouts."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# -- record ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("env_id")
@click.option(
    "--episodes",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Episodes to run (per sub-env with --num-envs).",
)
@click.option(
    "--policy",
    default="random",
    show_default=True,
    help='"random", or MODULE:CALLABLE taking an observation and returning an action.',
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the first episode.")
@click.option(
    "--out",
    default="videos",
    show_default=True,
    type=click.Path(file_okay=False),
    metavar="DIR|URL",
    help="Folder for the videos, sidecars and manifest, or an fsspec URL (s3://bucket/prefix).",
)
@click.option(
    "--storage-options",
    default=None,
    metavar="JSON",
    help='fsspec options for a URL --out, e.g. \'{"client_kwargs": {"endpoint_url": "..."}}\'.',
)
@click.option(
    "--format",
    "video_format",
    default="mp4",
    show_default=True,
    type=click.Choice(list(FORMATS)),
)
@click.option("--fps", type=float, default=None, help="Default: the env's render_fps, else 30.")
@click.option(
    "--video-length",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Frames per video; 0 records whole episodes.",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=None,
    help="Record every N-th episode (1: all). Default: the capped cubic schedule.",
)
@click.option(
    "--env-kwargs",
    default="{}",
    help="JSON keyword arguments for gymnasium.make, e.g. '{\"g\": 9.81}'.",
)
@click.option(
    "--num-envs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Run a vector env of N sub-envs.",
)
@click.option(
    "--per-env/--tiled",
    default=True,
    show_default=True,
    help="With --num-envs: one video per sub-env, or all tiled in one.",
)
@click.option(
    "--keep",
    default="all",
    show_default=True,
    type=click.Choice(KEEP_CHOICES),
    help="Keep every video, only failures (terminated episodes), or only the best return.",
)
@click.option("--overwrite", is_flag=True, help="Replace videos with the same names.")
@click.option(
    "--import",
    "import_modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE before making the env (repeatable): for packages that register envs.",
)
def record(
    env_id: str, episodes: int, policy: str, seed: int, out: str, storage_options: str | None,
    video_format: str, fps: float | None, video_length: int, every: int | None,
    env_kwargs: str, num_envs: int, per_env: bool, keep: str, overwrite: bool,
    import_modules: tuple[str, ...],
) -> None:  # fmt: skip
    """Run ENV_ID (any installed Gymnasium env) and record its episodes.

    The packages of well-known ids are imported for you (ALE/... ale-py, MiniGrid-... and
    BabyAI-... minigrid, dm_control/... shimmy); MODULE:ID imports MODULE first. Modules in
    the current folder can be named (MODULE:ID, --import, --policy).
    """
    with _user_errors(), _current_folder_importable():
        kwargs = _parse_env_kwargs(env_kwargs)
        storage = _parse_storage_options(storage_options)
        destination = open_destination(out, storage)  # a bad URL fails before the env starts
        act = _load_policy(policy)
        fix = _register_env(env_id, import_modules)
        trigger = None if every is None else (lambda episode: episode % every == 0)
        keep_if = (lambda meta: meta.terminated) if keep == "failures" else None
        saved: list[tuple[Any, VideoMetadata]] = []  # (where, metadata), as each video is final
        options: dict[str, Any] = {
            "episode_trigger": trigger, "video_length": video_length, "fps": fps,
            "format": video_format, "overwrite": overwrite, "metadata": True, "keep_if": keep_if,
            "storage_options": storage,
            "on_video_saved": lambda where, meta: saved.append((where, meta)),
        }  # fmt: skip
        before = set(destination.list_names())
        try:
            if num_envs == 1:
                _record_single(env_id, kwargs, act, episodes, seed, out, options, fix)
            else:
                _record_vector(env_id, kwargs, act, episodes, seed, out, num_envs, per_env,
                               options, fix)  # fmt: skip
        except KeyboardInterrupt:
            merge_into(destination, [meta for _, meta in saved])
            kept = sorted(
                name for name in set(destination.list_names()) - before
                if is_incomplete_name(name)
            )  # fmt: skip
            cut = f"; cut off by the interrupt, kept as: {', '.join(kept)}" if kept else ""
            raise _UserError(
                f"interrupted: {len(saved)} finished video(s) saved in {destination.location} "
                f"with their manifest{cut}"
            ) from None
        if keep == "best":
            saved = _keep_best(saved, destination)
        metas = [meta for _, meta in saved]
        manifest = merge_into(destination, metas)
        _print_summary([meta.to_dict() for meta in metas])
        click.echo(f"{len(metas)} video(s) in {destination.location}; manifest: {manifest}")


def _parse_env_kwargs(text: str) -> dict[str, Any]:
    return _json_object("--env-kwargs", text)


def _parse_storage_options(text: str | None) -> dict[str, Any] | None:
    return None if text is None else _json_object("--storage-options", text, secret=True)


def _json_object(option: str, text: str, *, secret: bool = False) -> dict[str, Any]:
    shown = "" if secret else f": {text}"  # storage options may hold credentials
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{option} is not valid JSON ({exc.msg}){shown}") from exc
    if not isinstance(value, dict):
        got = type(value).__name__ if secret else text
        raise InvalidArgumentError(f"{option} must be a JSON object like {{}}, got {got}")
    return value


def _load_policy(spec: str) -> Callable[[Any], Any] | None:
    """None for "random"; else the callable named by MODULE:CALLABLE (or path/to/file.py:NAME)."""
    if spec == "random":
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError(
            f'--policy {spec!r}: use "random" or MODULE:CALLABLE, '
            "e.g. rlvideo.demo:balancing_policy"
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


def _gymnasium() -> Any:
    from rlvideo._optional import import_optional

    return import_optional("gymnasium", "gymnasium", feature="rlvideo record")


# -- third-party envs -----------------------------------------------------------------------------
@contextmanager
def _current_folder_importable() -> Iterator[None]:
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
class _EnvPackage:
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
    _EnvPackage(("ale_py",), "ale-py", namespace="ALE"),
    _EnvPackage(("minigrid",), "minigrid", prefixes=("MiniGrid-", "BabyAI-")),
    _EnvPackage(("shimmy", "dm_control"), '"shimmy[dm-control]"', namespace="dm_control"),
    _EnvPackage(("shimmy", "bsuite"), '"shimmy[bsuite]"', namespace="bsuite"),
    _EnvPackage(("miniworld",), "miniworld", prefixes=("MiniWorld-",)),
    _EnvPackage(("highway_env",), "highway-env", names=_HIGHWAY_NAMES),
    _EnvPackage(("gymnasium_robotics",), "gymnasium-robotics", prefixes=_ROBOTICS_PREFIXES),
    _EnvPackage(("panda_gym",), "panda-gym", prefixes=("Panda",)),
)
"""The packages ``rlvideo record`` imports for an id that is not registered yet."""


def _env_package(env_id: str) -> _EnvPackage | None:
    """The package that registers ``env_id`` (``module:`` part removed), if it is a known one.

    Examples:
        >>> _env_package("ALE/Pong-v5").modules
        ('ale_py',)
        >>> _env_package("BabyAI-GoToRedBall-v0").install
        'minigrid'
        >>> _env_package("dm_control/cartpole-swingup-v0").install
        '"shimmy[dm-control]"'
        >>> _env_package("highway-fast-v0").modules
        ('highway_env',)
        >>> _env_package("CartPole-v1") is None
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


def _register_env(env_id: str, import_modules: Sequence[str]) -> str | None:
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
    gym = _gymnasium()
    if _is_registered(gym, bare_id):
        return None
    package = _env_package(bare_id)
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


def _make(gym: Any, env_id: str, factory: Callable[[], Any], fix: str | None = None) -> Any:
    """Create the env, turning Gymnasium's unknown-id errors into one line with close matches.

    ``fix`` (a package to install) follows Gymnasium's own message; an unknown namespace gets
    Gymnasium's message and the ``--import`` hint.
    """
    try:
        return factory()
    except gym.error.UnregisteredEnv as exc:
        if fix is None and not isinstance(exc, gym.error.NamespaceNotFound):
            close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
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


def _progress(total: int, unit: str) -> Any:
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:  # the bar is a nicety: without the extra, run without it
        return None
    return tqdm(total=total, unit=unit, file=sys.stderr)


def _record_single(
    env_id: str, kwargs: dict[str, Any], act: Callable[[Any], Any] | None, episodes: int,
    seed: int, out: str, options: dict[str, Any], fix: str | None = None,
) -> None:  # fmt: skip
    gym = _gymnasium()
    from rlvideo.wrappers import RecordVideo

    env = _make(gym, env_id, lambda: gym.make(env_id, render_mode="rgb_array", **kwargs), fix)
    env = RecordVideo(env, out, **options)
    env.action_space.seed(seed)
    bar = _progress(episodes, "episode")
    try:
        run_episodes(
            env, act, episodes, seed=seed,
            on_episode_end=None if bar is None else lambda _episode: bar.update(),
        )  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
        env.close()


def _record_vector(
    env_id: str, kwargs: dict[str, Any], act: Callable[[Any], Any] | None, episodes: int,
    seed: int, out: str, num_envs: int, per_env: bool, options: dict[str, Any],
    fix: str | None = None,
) -> None:  # fmt: skip
    gym = _gymnasium()
    import numpy as np
    from gymnasium.vector.utils import iterate

    from rlvideo.vector import RecordVideo

    def factory() -> Any:
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync", render_mode="rgb_array",
            **kwargs,
        )  # fmt: skip

    user_keep = options.pop("keep_if")

    def keep_if(meta: Any) -> bool:  # an episode past the count was cut short by the stop
        return meta.episode < episodes and (user_keep is None or user_keep(meta))

    envs = RecordVideo(_make(gym, env_id, factory, fix), out, per_env=per_env, keep_if=keep_if,
                       **options)  # fmt: skip
    envs.action_space.seed(seed)
    bar = _progress(episodes * num_envs, "episode")
    finished = np.zeros(num_envs, int)
    try:
        observations, _ = envs.reset(seed=seed)
        while finished.min() < episodes:
            if act is None:
                actions = envs.action_space.sample()
            else:  # one observation per sub-env, whatever the space (Box, Dict, Tuple, ...)
                per_env_observations = iterate(envs.observation_space, observations)
                actions = np.array([act(observation) for observation in per_env_observations])
            observations, _, terminated, truncated, _ = envs.step(actions)
            ended = np.logical_or(terminated, truncated)
            if bar is not None:
                bar.update(int(np.sum(ended & (finished < episodes))))
            finished += ended
    finally:
        if bar is not None:
            bar.close()
        envs.close()


def _name(saved: Path | str) -> str:
    """The file name of a saved video: a Path's name, or a URL's last part."""
    if isinstance(saved, str) and is_url(saved):
        return saved.rstrip("/").rsplit("/", 1)[-1]
    return Path(saved).name


def _sidecar_name(saved: Path | str) -> str:
    from rlvideo.metadata import sidecar_path

    return sidecar_path(_name(saved)).name


def _keep_best(
    saved: list[tuple[Any, VideoMetadata]], destination: Destination
) -> list[tuple[Any, VideoMetadata]]:
    """Keep the video(s) with the highest return; delete the others and their sidecars."""
    if not saved:
        return saved
    best = max(meta.episode_return for _, meta in saved)
    kept = []
    for where, meta in saved:
        if meta.episode_return == best:
            kept.append((where, meta))
        else:
            destination.remove(_name(where))
            destination.remove(_sidecar_name(where))
    return kept


def _read_sidecars(paths: Sequence[Path | str], destination: Destination) -> list[dict[str, Any]]:
    found = (read_sidecar(destination, _name(path)) for path in paths)
    return [fields for fields in found if fields is not None]


def _print_summary(metas: list[dict[str, Any]]) -> None:
    rows = [("episode", "return", "length", "file")] + [
        (str(m.get("episode", "")), f"{m.get('episode_return', 0):g}", str(m.get("steps", "")),
         Path(m["path"]).name)
        for m in sorted(metas, key=lambda m: (m.get("env_index") or 0, m.get("episode", 0)))
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# -- info -----------------------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one object per file).")
def info(paths: tuple[str, ...], as_json: bool) -> None:
    """Describe videos (files, or every video in a folder): codec, size, fps, frames, sidecar."""
    from rlvideo.metadata import sidecar_path
    from rlvideo.reader import probe

    with _user_errors():
        results = []
        for path in _videos_named(paths):
            entry: dict[str, Any] = probe(path).to_dict()
            if sidecar_path(path) != path:
                fields = read_sidecar(LocalDestination(path.parent), path.name)
                if fields is not None:
                    entry["metadata"] = fields
            results.append(entry)
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    for entry in results:
        click.echo(entry["path"])
        for key in ("codec", "width", "height", "fps", "frames", "duration", "pixel_format",
                    "size_bytes"):  # fmt: skip
            click.echo(f"  {key:<15} {entry[key]}")
        for key, value in entry.get("metadata", {}).items():
            click.echo(f"  {key:<15} {value}")


def _videos_named(paths: Sequence[str]) -> list[Path]:
    """The files named, and the finished videos in each folder named (by name)."""
    from rlvideo.naming import is_finished_video_name, is_partial_name

    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            videos = sorted(p for p in path.iterdir() if is_finished_video_name(p.name))
            if not videos:
                leftovers = [p for p in path.iterdir() if is_partial_name(p)]
                hint = (
                    f"; it holds {len(leftovers)} partial file(s) a crash left: "
                    f"`rlvideo recover {name}` makes them playable"
                    if leftovers
                    else ""
                )
                raise InvalidArgumentError(f"{name}: no videos in this folder{hint}")
            found += videos
        elif path.is_file():
            found.append(path)
        else:
            raise InvalidArgumentError(f"{name}: no such file or folder")
    return found


# -- gallery, recover, demo ------------------------------------------------------------------
@cli.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--title", default=None, help="Page title (default: the folder's name).")
@click.option(
    "--storage-options",
    default=None,
    metavar="JSON",
    help="fsspec options when FOLDER is a URL (s3://bucket/prefix).",
)
def gallery(folder: str, title: str | None, storage_options: str | None) -> None:
    """Build FOLDER/index.html: every video with a poster, playback and its metadata.

    FOLDER may be an fsspec URL: the videos are downloaded to a temporary folder, and the page
    and its posters are uploaded beside them.
    """
    with _user_errors():
        from rlvideo.gallery import build_gallery, build_remote_gallery

        options = _parse_storage_options(storage_options)
        destination = open_destination(folder, options)
        if destination.remote:
            url = build_remote_gallery(folder, storage_options=options, title=title)
            click.echo(f"gallery: {url}")
            return
        page = build_gallery(destination.location if is_url(folder) else folder, title=title)
    click.echo(f"gallery: {page}\nopen file://{page.absolute()}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
def recover(paths: tuple[str, ...]) -> None:
    """Turn partial files left by a crash (files or folders) into playable .incomplete videos."""
    from rlvideo.naming import is_partial_name
    from rlvideo.recovery import find_partials
    from rlvideo.recovery import recover as recover_one

    with _user_errors():
        partials: list[Path] = []
        for name in paths:
            path = Path(name)
            if path.is_dir():
                partials += find_partials(path)
            elif path.is_file() and is_partial_name(path):
                partials.append(path)
            elif path.exists():
                raise InvalidArgumentError(
                    f"{name} is not a partial file (hidden .<name>.<token>.partial.<ext>)"
                )
            else:
                raise InvalidArgumentError(f"{name}: no such file or folder")
        if not partials:
            click.echo("no partial files found: nothing to recover")
            return
        for partial in partials:
            click.echo(f"recovered {recover_one(partial)}")


@cli.command()
@click.option("--out", default="videos", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--episodes",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Episodes per policy.",
)
def demo(out: str, episodes: int) -> None:
    """Record CartPole-v1 (a balancing and a random policy) and build its gallery."""
    with _user_errors():
        from rlvideo.demo import record_demo
        from rlvideo.gallery import build_gallery

        saved = record_demo(out, episodes=episodes)
        destination = LocalDestination(out)
        metas = _read_sidecars(saved, destination)
        merge_into(destination, metas)
        _print_summary(metas)
        page = build_gallery(out, title="rlvideo demo: CartPole-v1")
    folder = Path(out)
    click.echo(
        f"\nmade {len(saved)} videos of CartPole-v1 (a balancing and a random policy) "
        f"in {folder}/,\n"
        f"  a JSON sidecar each, {folder / 'manifest.json'} and the gallery {page}\n"
        f"next: open file://{page.absolute()} in a browser to watch them\n"
        f"record your own env: {_command()} record YOUR_ENV_ID --out runs"
        "  (a policy: --policy my_policy.py:policy)\n"
        '  or in your script: env = rlvideo.RecordVideo(env, "videos")'
        '  (env made with render_mode="rgb_array")'
    )


def _command() -> str:
    """How to run this ``rlvideo`` from the current folder: its name if on PATH, else its path."""
    script = Path(sys.executable).parent / "rlvideo"
    if not script.is_file():
        return "python -m rlvideo"
    found = shutil.which("rlvideo")
    if found and Path(found).resolve() == script.resolve():
        return "rlvideo"
    absolute = script.absolute()
    return os.path.relpath(absolute) if absolute.is_relative_to(Path.cwd()) else str(absolute)


def _headless_sdl() -> None:
    """Make SDL (pygame) render off screen and stay quiet, unless the user chose its drivers.

    Gymnasium's classic-control envs (and PettingZoo's pygame envs) start pygame's display even
    for ``render_mode="rgb_array"``; without a display SDL then prints ``error: XDG_RUNTIME_DIR is
    invalid or not set in the environment.`` (libwayland's probe) and ALSA's lines about a missing
    sound card. The dummy drivers render the same frames and probe nothing. Only rlvideo's own
    entry points (the command, ``python -m rlvideo.demo``) call this: the library never changes
    a user's environment.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rlvideo`` console script and ``python -m rlvideo``."""
    _headless_sdl()
    cli.main(args=list(argv) if argv is not None else None, prog_name="rlvideo")
