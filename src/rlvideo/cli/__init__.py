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
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.naming import (
    FORMATS,
    check_format,
    check_name_prefix,
    clip_file_name,
    is_incomplete_name,
)
from rlvideo.cli._errors import UserError as _UserError
from rlvideo.cli._errors import usage_errors as _usage_errors
from rlvideo.cli._errors import user_errors as _user_errors
from rlvideo.errors import (
    InvalidArgumentError,
    MissingDependencyError,
    RenderModeError,
    VideoExistsError,
)
from rlvideo.io.manifest import merge_into, read_sidecar
from rlvideo.storage import Destination, LocalDestination, is_url, open_destination

__all__ = ["main"]

logger = logging.getLogger(__name__)

_DEFAULT_FIELDS = "\0default"
"""``--overlay`` / ``--track`` given without a value (click's ``flag_value``): the default set."""


class _Group(click.Group):
    """The ``rlvideo`` group: click's usage errors read like the rest (one line, status 2)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:  # fmt: skip
        with _usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, name="rlvideo", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlvideo", prog_name="rlvideo")
@click.option("-v", "--verbose", count=True, help="Log more (-v: each video, -vv: codec choices).")
def cli(verbose: int) -> None:
    """Record, inspect and browse videos of reinforcement-learning rollouts."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# -- record ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Keep:
    """``--keep-if``: which recorded videos a run keeps.

    Attributes:
        rule: ``all``, ``failures`` (the episodes that terminated) or ``best``.
        count: With ``best``, how many videos (the highest returns).
    """

    rule: str
    count: int = 0


class _KeepRule(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """``--keep-if all|failures|best|best:N``, parsed into a :class:`_Keep`.

    Example:
        >>> _KeepRule().convert("best:3", None, None), _KeepRule().convert("failures", None, None)
        (_Keep(rule='best', count=3), _Keep(rule='failures', count=0))
    """

    name = "keep_if"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "all|failures|best:N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, _Keep):
            return value
        rule, colon, count = str(value).partition(":")
        if rule in ("all", "failures") and not colon:
            return _Keep(rule)
        if rule == "best" and (not colon or (count.isdigit() and int(count) >= 1)):
            return _Keep("best", int(count) if colon else 1)
        self.fail(
            f"{value!r}: use all, failures, best:N (the N highest returns, N >= 1) or best",
            param,
            ctx,
        )


def _field_list(value: str | None, option: str) -> bool | list[str] | None:
    """``--overlay`` / ``--track``: None (not given), True (no value) or the fields named.

    Example:
        >>> _field_list(None, "--track"), _field_list(_DEFAULT_FIELDS, "--track")
        (None, True)
        >>> _field_list(" step, return,", "--overlay")
        ['step', 'return']
    """
    if value is None or value == _DEFAULT_FIELDS:
        return None if value is None else True
    fields = [field.strip() for field in value.split(",") if field.strip()]
    if not fields:
        raise InvalidArgumentError(
            f"{option} takes comma-separated names (e.g. {option} step,return), or no value; "
            f"got {value!r}"
        )
    return fields


@cli.command()
@click.argument("env_id")
@click.option(
    "--episodes",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Episodes to run (per sub-env with --num-envs); every episode is recorded unless "
    "--every N picks every N-th.",
)
@click.option(
    "--policy",
    default="random",
    show_default=True,
    metavar="POLICY",
    help='"random"; a trained agent: path/to/model.zip (Stable-Baselines3, sb3-contrib) or '
    "path/to/policy.pt (TorchScript); or MODULE:CALLABLE (or path/to/file.py:NAME) taking an "
    "observation and returning an action.",
)
@click.option(
    "--algo",
    default=None,
    metavar="NAME",
    help="The algorithm of a .zip model (ppo, a2c, dqn, sac, td3, ddpg, qrdqn, tqc, trpo, ars, "
    "crossq, recurrentppo, maskableppo). Default: read from the checkpoint.",
)
@click.option(
    "--deterministic/--stochastic",
    default=None,
    help="A .zip model's actions: its most likely (default) or sampled.",
)
@click.option(
    "--vec-normalize",
    default=None,
    metavar="PATH|none",
    help="The VecNormalize pickle the model was trained with. Default: vecnormalize.pkl beside "
    "the model (or rl-baselines3-zoo's <folder>/<env id>/vecnormalize.pkl), if there.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the first episode.")
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    metavar="DIR|URL",
    help="Folder for the videos, sidecars and manifest, or an fsspec URL (s3://bucket/prefix). "
    "Default: a fresh run folder each run, runs/<env>-<date>-<time>/ (as TensorBoard's and "
    "wandb's runs).",
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
@click.option(
    "--fps",
    type=float,
    default=None,
    help="Frames per second. Default: the env's render_fps, else 30.",
)
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
    help="Record episodes 0, N, 2N, ... of the --episodes run. Default: 1 (every episode).",
)
@click.option(
    "--name-prefix",
    default="rl-video",
    show_default=True,
    metavar="PREFIX",
    help="Start of every file name: PREFIX-episode-0.mp4 (PREFIX-env-0-episode-0.mp4 per env).",
)
@click.option(
    "--overlay",
    default=None,
    is_flag=False,
    flag_value=_DEFAULT_FIELDS,
    metavar="[FIELDS]",
    help="Burn values into the frames (needs rlvideo[overlay]): alone, episode, step, reward and "
    "return; or comma-separated fields: episode, step, reward, return, action, frame, "
    "terminated, truncated or info keys, e.g. --overlay step,return,x_position.",
)
@click.option(
    "--track",
    default=None,
    is_flag=False,
    flag_value=_DEFAULT_FIELDS,
    metavar="[KEYS]",
    help="The data track <stem>.track.jsonl (on by default): comma-separated info keys add those "
    "keys to each line, e.g. --track x_position.",
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
    "--keep-if",
    "--keep",
    "keep",
    default="all",
    show_default=True,
    type=_KeepRule(),
    help="Which recorded videos to keep: all; failures (episodes that terminated, as "
    "keep_if=lambda m: m.terminated); best:N (the N highest returns, ties to the earlier "
    "episode; best is best:1). --keep is the older name.",
)
@click.option(
    "--overwrite/--no-overwrite",
    default=None,
    help="Videos in --out with this run's names: replaced by default (said once); --overwrite "
    "replaces them quietly, --no-overwrite refuses to start.",
)
@click.option(
    "--import",
    "import_modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE before making the env (repeatable): for packages that register envs.",
)
def record(
    env_id: str, episodes: int, policy: str, algo: str | None, deterministic: bool | None,
    vec_normalize: str | None, seed: int, out: str | None, storage_options: str | None,
    video_format: str, fps: float | None, video_length: int, every: int | None,
    name_prefix: str, overlay: str | None, track: str | None, env_kwargs: str, num_envs: int,
    per_env: bool, keep: _Keep, overwrite: bool | None, import_modules: tuple[str, ...],
) -> None:  # fmt: skip
    """Run ENV_ID (any installed Gymnasium env) with a policy and record its episodes.

    The policy is random by default; --policy takes a trained agent (a Stable-Baselines3 or
    sb3-contrib .zip, with the VecNormalize saved beside it; a TorchScript .pt) or
    MODULE:CALLABLE. The packages of well-known ids are imported for you (ALE/... ale-py,
    MiniGrid-... and BabyAI-... minigrid, dm_control/... shimmy); MODULE:ID imports MODULE
    first. Modules in the current folder can be named (MODULE:ID, --import, --policy).
    """
    with _user_errors(cli_terms=True), _current_folder_importable():
        kwargs = _parse_env_kwargs(env_kwargs)
        storage = _parse_storage_options(storage_options)
        out = str(_run_folder(env_id, _now())) if out is None else out
        destination = open_destination(out, storage)  # a bad URL fails before the env starts
        agent = _load_agent(policy, algo, deterministic, vec_normalize, env_id, seed)
        fix = _register_env(env_id, import_modules)
        _check_renders_images(_gymnasium(), env_id)  # before the bar, the env and --out
        check_name_prefix(name_prefix)
        step = every or 1
        ended: list[VideoMetadata] = []  # every video that ended, before --keep-if chose

        def keep_if(meta: VideoMetadata) -> bool:
            ended.append(meta)
            return keep.rule != "failures" or meta.terminated

        saved: list[tuple[Any, VideoMetadata]] = []  # (where, metadata), as each video is final
        options: dict[str, Any] = {
            "episode_trigger": lambda episode: episode % step == 0, "video_length": video_length,
            "fps": fps, "format": video_format, "name_prefix": name_prefix,
            "overwrite": overwrite, "metadata": True, "keep_if": keep_if,
            "overlay": _field_list(overlay, "--overlay"),
            "track": _field_list(track, "--track"),
            "storage_options": storage,
            "on_video_saved": lambda where, meta: saved.append((where, meta)),
        }  # fmt: skip
        before = set(destination.list_names())
        planned = _planned_names(episodes, step, video_format, num_envs, per_env, name_prefix)
        options["overwrite"] = _check_names_free(destination, before, planned, overwrite)
        run = _Episodes(num_envs, episodes)
        try:
            if num_envs == 1:
                _record_single(env_id, kwargs, agent, episodes, seed, out, options, run, fix)
            else:
                _record_vector(env_id, kwargs, agent, episodes, seed, out, num_envs, per_env,
                               options, run, fix)  # fmt: skip
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
        if keep.rule == "best":
            saved = _keep_best(saved, destination, keep.count)
        metas = [meta for _, meta in saved]
        manifest = merge_into(destination, metas)
    if agent is not None:
        click.echo(f"policy: {agent.description}")
    _print_summary([meta.to_dict() for meta in metas], run, video_length=video_length)
    click.echo(run.summary())
    click.echo(f"{len(metas)} video(s) in {destination.location}; manifest: {manifest}")
    if not metas:
        click.echo(_why_no_videos(keep, ended))


def _load_agent(
    policy: str, algo: str | None, deterministic: bool | None, vec_normalize: str | None,
    env_id: str, seed: int,
) -> Any:  # fmt: skip
    """The agent of ``--policy`` (None: random); models load in :mod:`rlvideo.cli._policies`."""
    from rlvideo.cli._policies import load_agent

    bare_id = env_id.partition(":")[2] or env_id
    return load_agent(
        policy, algo=algo, deterministic=deterministic, vecnormalize=vec_normalize,
        env_id=bare_id, seed=seed,
    )  # fmt: skip


def _planned_names(
    episodes: int, every: int, video_format: str, num_envs: int, per_env: bool,
    name_prefix: str = "rl-video",
) -> list[str]:  # fmt: skip
    """The video names a run will write: episodes 0, ``every``, 2 ``every``, ... of ``episodes``.

    Example:
        >>> _planned_names(3, 1, "mp4", 1, True)
        ['rl-video-episode-0.mp4', 'rl-video-episode-1.mp4', 'rl-video-episode-2.mp4']
        >>> _planned_names(1, 1, "gif", 2, True, "run")
        ['run-env-0-episode-0.gif', 'run-env-1-episode-0.gif']
    """
    prefixes = (
        [f"{name_prefix}-env-{k}" for k in range(num_envs)]
        if num_envs > 1 and per_env
        else [name_prefix]
    )
    return [
        clip_file_name(prefix, "episode", i, check_format(video_format))
        for prefix in prefixes for i in range(0, episodes, every)
    ]  # fmt: skip


def _now() -> datetime:
    """The local time a run folder is named after (a function, for tests to fix it)."""
    return datetime.now()


def _run_folder(env_id: str, when: datetime) -> Path:
    """``runs/<env>-<YYYYmmdd>-<HHMMSS>``, with ``-2``, ``-3``, ... if a run took it already.

    The env id loses its ``module:`` part, and ``/`` (``ALE/Pong-v5``) becomes ``-``.
    """
    env = re.sub(r"[^A-Za-z0-9._-]+", "-", env_id.rpartition(":")[2]).strip("-.") or "env"
    base = Path("runs") / f"{env}-{when:%Y%m%d-%H%M%S}"
    folder, attempt = base, 1
    while folder.exists():
        attempt += 1
        folder = base.with_name(f"{base.name}-{attempt}")
    return folder


def _check_names_free(
    destination: Destination, names: set[str], planned: list[str], overwrite: bool | None
) -> bool | None:
    """Refuse (``--no-overwrite``) or say that ``--out`` holds this run's names; the overwrite.

    Called before the env runs; returns the ``overwrite`` the wrappers get. By default the
    videos are replaced, as the library does, said here once in the command's words; the
    wrappers then replace them without saying it again.
    """
    taken = [name for name in planned if name in names]
    if not taken:
        return overwrite
    shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
    them = "it" if len(taken) == 1 else "them"
    if overwrite is False:
        raise VideoExistsError(
            f"{destination.location} already holds {shown}, which this run would write, and "
            f"--no-overwrite keeps {them}: drop --no-overwrite to replace {them}, or choose "
            "another --out"
        )
    if overwrite is None:
        logger.warning(
            "%s already holds %s, which this run will replace (with %s sidecars and tracks) as "
            "its videos are final. Pass --no-overwrite to keep %s, or choose another --out "
            "(without --out each run gets a fresh folder)",
            destination.location, shown, "its" if len(taken) == 1 else "their", them,
        )  # fmt: skip
    return True


def _why_no_videos(keep: _Keep, ended: list[VideoMetadata]) -> str:
    """Why a run kept no video, in the options' terms."""
    if not ended:
        return "no episode was recorded: the schedule (--every) picked none of them"
    if keep.rule == "failures":
        return (
            f"0 videos kept: --keep-if failures keeps episodes that terminated, and none of the "
            f"{len(ended)} recorded did (they were truncated, e.g. by the time limit)"
        )
    return f"0 videos kept of the {len(ended)} recorded (each was empty or cut short)"


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


def _gymnasium() -> Any:
    from rlvideo._core.optional import import_optional

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


def _check_renders_images(gym: Any, env_id: str) -> None:
    """Refuse an env whose declared render modes lack ``rgb_array``, before anything is made.

    The modes are read as ``gym.make`` reads them: ``metadata["render_modes"]`` of the env
    class the id's entry point names (loading it imports its module; nothing is created). An
    env that declares no modes, or whose id or entry point ``gym.make`` will refuse anyway, is
    left to :func:`_make`.

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
        return  # an unknown id, a missing package, a bad entry point: _make says which
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


def _make(gym: Any, env_id: str, factory: Callable[[], Any], fix: str | None = None) -> Any:
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


class _Episodes:
    """Every episode's return and length, per sub-env: what the summary reports.

    Only the first ``episodes`` of each sub-env count (a vector env's faster sub-envs run on
    until the slowest is done; those extra episodes are cut short and not kept).
    """

    def __init__(self, num_envs: int, episodes: int) -> None:
        self.episodes = episodes
        self.returns: list[list[float]] = [[] for _ in range(num_envs)]
        self.lengths: list[list[int]] = [[] for _ in range(num_envs)]

    def add(self, env: int, episode_return: float, length: int) -> bool:
        """Count an episode of sub-env ``env``; False if it is past the count (ignored)."""
        if len(self.returns[env]) >= self.episodes:
            return False
        self.returns[env].append(episode_return)
        self.lengths[env].append(length)
        return True

    @property
    def done(self) -> int:
        """Episodes counted so far, over all sub-envs."""
        return sum(len(r) for r in self.returns)

    def length(self, env: int | None, episode: int) -> int | None:
        """The length of a counted episode (sub-env 0 for a tiled video), if it finished."""
        lengths = self.lengths[env or 0]
        return lengths[episode] if 0 <= episode < len(lengths) else None

    def summary(self) -> str:
        """Mean +- std of return and length over every episode run, and per sub-env.

        Example:
            >>> run = _Episodes(2, 2)
            >>> for env, ret, n in [(0, 10, 10), (1, 20, 20), (0, 30, 30), (1, 40, 40)]:
            ...     _ = run.add(env, ret, n)
            >>> print(run.summary())
            all 4 episodes (2 on each of 2 sub-envs): return 25 ± 11.18 (min 10, max 40), length 25 ± 11.18
              sub-env 0: return 20 ± 10, length 20 ± 10
              sub-env 1: return 30 ± 10, length 30 ± 10
        """  # noqa: E501 (the doctest shows whole lines)
        returns = [r for env in self.returns for r in env]
        lengths = [n for env in self.lengths for n in env]
        if not returns:
            return "no episode finished"
        count = len(self.returns)
        scope = f" ({self.episodes} on each of {count} sub-envs)" if count > 1 else ""
        lines = [
            f"all {len(returns)} episode(s){scope}: return {_mean_std(returns)} "
            f"(min {_num(min(returns))}, max {_num(max(returns))}), length {_mean_std(lengths)}"
        ]
        if count > 1:
            lines += [
                f"  sub-env {k}: return {_mean_std(r)}, length {_mean_std(n)}"
                for k, (r, n) in enumerate(zip(self.returns, self.lengths, strict=True)) if r
            ]  # fmt: skip
        return "\n".join(lines).replace("episode(s)", "episodes" if len(returns) > 1 else "episode")


def _num(value: float) -> str:
    """A number for people: at most two decimals, no trailing zeros (``40``, ``23.46``)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _mean_std(values: Sequence[float]) -> str:
    import numpy as np

    return f"{_num(float(np.mean(values)))} ± {_num(float(np.std(values)))}"


class _Progress:
    """A bar that counts steps (it moves during long episodes) and says which episode it is in.

    Without tqdm (the ``progress`` extra) it does nothing. While it shows, log records are
    written above it (tqdm.write), never onto its line.
    """

    def __init__(self, total_episodes: int) -> None:
        self.total = total_episodes
        self.bar: Any = None
        self._redirect: Any = None
        try:
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm
        except ModuleNotFoundError:  # the bar is a nicety: without the extra, run without it
            return
        self._redirect = logging_redirect_tqdm()
        self._redirect.__enter__()
        self.bar = tqdm(
            unit="step", file=sys.stderr, desc=self._desc(0), mininterval=0.2,
            bar_format="{desc}: {n_fmt} steps [{elapsed}, {rate_fmt}]",
        )  # fmt: skip

    def _desc(self, done: int) -> str:
        return f"episode {min(done + 1, self.total)}/{self.total}" if self.total else ""

    def steps(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def episodes(self, done: int) -> None:
        if self.bar is not None:
            self.bar.set_description_str(self._desc(done), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self._redirect.__exit__(None, None, None)


def _record_single(
    env_id: str, kwargs: dict[str, Any], agent: Any, episodes: int, seed: int, out: str,
    options: dict[str, Any], run: _Episodes, fix: str | None = None,
) -> None:  # fmt: skip
    """Episode i resets with seed seed + i, as :func:`rlvideo._core.rollout.run_episodes`."""
    gym = _gymnasium()
    from rlvideo.wrappers.gymnasium import RecordVideo

    env = _make(gym, env_id, lambda: gym.make(env_id, render_mode="rgb_array", **kwargs), fix)
    try:
        if agent is not None:  # before the wrapper makes --out: a mismatch writes nothing
            agent.bind(env)
        env = RecordVideo(env, out, **options)
        env.action_space.seed(seed)
    except BaseException:
        env.close()
        raise
    bar = _Progress(episodes)
    with env, closing(bar):  # an error or Ctrl-C out of the loop: the video cut is incomplete
        for episode in range(episodes):
            observation, _ = env.reset(seed=seed + episode)
            total, steps, done, start = 0.0, 0, False, True
            while not done:
                if agent is None:
                    action = env.action_space.sample()
                else:
                    action = agent.act(observation, start)
                observation, reward, terminated, truncated, _ = env.step(action)
                total, steps, start = total + float(reward), steps + 1, False
                done = bool(terminated or truncated)
                bar.steps()
            run.add(0, total, steps)
            bar.episodes(run.done)


def _record_vector(
    env_id: str, kwargs: dict[str, Any], agent: Any, episodes: int, seed: int, out: str,
    num_envs: int, per_env: bool, options: dict[str, Any], run: _Episodes,
    fix: str | None = None,
) -> None:  # fmt: skip
    gym = _gymnasium()
    import numpy as np

    from rlvideo.wrappers.vector import RecordVideo

    def factory() -> Any:
        return gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="sync", render_mode="rgb_array",
            **kwargs,
        )  # fmt: skip

    user_keep = options.pop("keep_if")

    def keep_if(meta: Any) -> bool:  # an episode past the count was cut short by the stop
        return meta.episode < episodes and (user_keep is None or user_keep(meta))

    raw = _make(gym, env_id, factory, fix)
    try:
        if agent is not None:
            agent.bind(raw, vector=True)
        envs = RecordVideo(raw, out, per_env=per_env, keep_if=keep_if, **options)
        envs.action_space.seed(seed)
    except BaseException:
        raw.close()
        raise
    same_step = str(envs.metadata.get("autoreset_mode", "")).endswith("SAME_STEP")
    bar = _Progress(episodes * num_envs)
    returns, lengths = np.zeros(num_envs), np.zeros(num_envs, int)
    with envs, closing(bar):  # an error or Ctrl-C out of the loop: the videos cut are incomplete
        observations, _ = envs.reset(seed=seed)
        starts = np.ones(num_envs, bool)  # the observation is an episode's first
        resetting = np.zeros(num_envs, bool)  # next-step autoreset: this step only resets
        while min(len(r) for r in run.returns) < episodes:
            if agent is None:
                actions = envs.action_space.sample()
            else:
                actions = agent.act_batch(observations, starts)
            observations, rewards, terminated, truncated, _ = envs.step(actions)
            counted = ~resetting
            returns += np.where(counted, rewards, 0.0)
            lengths += counted
            ended = np.logical_or(terminated, truncated) & counted
            for k in np.flatnonzero(ended):
                run.add(int(k), float(returns[k]), int(lengths[k]))
            returns[ended], lengths[ended] = 0.0, 0
            bar.steps(int(counted.sum()))
            if ended.any():
                bar.episodes(run.done)
            starts = ended if same_step else resetting
            resetting = np.zeros(num_envs, bool) if same_step else ended


def _name(saved: Path | str) -> str:
    """The file name of a saved video: a Path's name, or a URL's last part."""
    if isinstance(saved, str) and is_url(saved):
        return saved.rstrip("/").rsplit("/", 1)[-1]
    return Path(saved).name


def _sidecar_name(saved: Path | str) -> str:
    from rlvideo._core.metadata import sidecar_path

    return sidecar_path(_name(saved)).name


def _keep_best(
    saved: list[tuple[Any, VideoMetadata]], destination: Destination, count: int = 1
) -> list[tuple[Any, VideoMetadata]]:
    """Keep the ``count`` videos with the highest returns; delete the others, sidecars and tracks.

    Ties go to the earlier episode, then to the lower sub-env.
    """
    ranked = sorted(
        range(len(saved)),
        key=lambda i: (
            -saved[i][1].episode_return,
            saved[i][1].episode,
            saved[i][1].env_index or 0,
        ),
    )
    best = set(ranked[:count])
    kept = []
    for i, (where, meta) in enumerate(saved):
        if i in best:
            kept.append((where, meta))
        else:
            destination.remove(_name(where))
            destination.remove(_sidecar_name(where))
            destination.remove(f"{Path(_name(where)).stem}.track.jsonl")  # the per-frame data
    return kept


def _read_sidecars(paths: Sequence[Path | str], destination: Destination) -> list[dict[str, Any]]:
    found = (read_sidecar(destination, _name(path)) for path in paths)
    return [fields for fields in found if fields is not None]


def _print_summary(
    metas: list[dict[str, Any]], run: _Episodes | None = None, *, video_length: int = 0
) -> None:
    """The videos' table: episode, return, length, file (and sub-env, for per-env videos).

    A video that holds only part of its episode (``--video-length``, a step trigger) shows the
    return of its own steps, labelled ``(clip)``, with a note under the table.
    """
    if not metas:
        return
    with_env = any(m.get("env_index") is not None for m in metas)
    clips = False
    rows = [(["env"] if with_env else []) + ["episode", "return", "length", "file"]]
    for m in sorted(metas, key=lambda m: (m.get("env_index") or 0, m.get("episode", 0))):
        episode_return = _num(float(m.get("episode_return", 0)))
        whole = run.length(m.get("env_index"), m.get("episode", 0)) if run is not None else None
        if m.get("kind") == "step" or (whole is not None and m.get("steps", 0) < whole):
            episode_return, clips = f"{episode_return} (clip)", True
        row = [str(m.get("episode", "")), episode_return, str(m.get("steps", "")), _name(m["path"])]
        rows.append(([str(m.get("env_index"))] if with_env else []) + row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    if clips:
        limit = f" (--video-length {video_length})" if video_length else ""
        click.echo(
            f"(clip): the return and length of the video's own steps{limit}, not of its whole "
            "episode"
        )


# -- info -----------------------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, one object per file).")
def info(paths: tuple[str, ...], as_json: bool) -> None:
    """Describe videos (files, or every video in a folder and its sub-folders).

    A folder whose sub-folders hold videos is a folder of runs (as rlvideo gallery shows it):
    its videos are listed run by run, each run named by its folder's path from the folder
    named ("run" in --json; "." for the videos directly in it). A folder's videos include
    those kept as <name>.incomplete.<ext> (by rlvideo recover, an error or Ctrl-C), marked
    incomplete. First what the file holds, read by decoding it (codec, size, fps, frames
    counted, duration, file size), then what its JSON sidecar says (episode, return, steps,
    seed, ...), if it has one, then what its data track holds (reward min/max/mean, return at
    the end), if it has one.
    """
    from rlvideo._core.metadata import sidecar_path
    from rlvideo._core.track import track_path
    from rlvideo.io.reader import probe

    with _user_errors():
        results = []
        for path, run in _videos_named(paths):
            entry: dict[str, Any] = probe(path).to_dict()
            if run is not None:
                entry["run"] = run
            entry["incomplete"] = is_incomplete_name(path)
            if sidecar_path(path) != path:
                fields = read_sidecar(LocalDestination(path.parent), path.name)
                if fields is not None:
                    entry["metadata"] = fields
            if track_path(path).exists():  # a device or FIFO too: read_track refuses it
                entry["track"] = _track_facts(track_path(path))
            results.append(entry)
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    runs = Counter(entry["run"] for entry in results if "run" in entry)
    run = None
    for entry in results:
        if entry.get("run", run) != run:
            run = entry["run"]
            click.echo(f"run {run}: {runs[run]} video{'' if runs[run] == 1 else 's'}")
        click.echo(entry["path"])
        if entry["incomplete"]:
            click.echo(
                "  incomplete: kept after an error or a crash; it may stop before its episode did"
            )
        _print_file_facts(entry)
        _print_sidecar_facts(Path(entry["path"]), entry.get("metadata"))
        _print_track_facts(entry.get("track"), entry["frames"])


def _print_file_facts(entry: dict[str, Any]) -> None:
    """What decoding the file found (:func:`rlvideo.io.reader.probe`)."""
    click.echo("  file (read by decoding it)")
    facts = {
        "codec": entry["codec"],
        "size": f"{entry['width']} x {entry['height']} pixels",
        "fps": _num(entry["fps"]),
        "frames": entry["frames"],
        "duration": f"{_num(entry['duration'])} s",
        "pixel format": entry["pixel_format"],
        "file size": _human_size(entry["size_bytes"]),
    }
    for key, value in facts.items():
        click.echo(f"    {key:<15} {value}")


def _print_sidecar_facts(video: Path, fields: dict[str, Any] | None) -> None:
    """What the video's JSON sidecar says (what the recorder knew), or that it has none.

    The place for more files beside the video (``<stem>.track.jsonl``): one section each.
    """
    from rlvideo._core.metadata import sidecar_path

    sidecar = sidecar_path(video)
    if fields is None and sidecar.exists():  # read_sidecar skipped it, with a warning
        click.echo(f"  sidecar: skipped ({sidecar.name} is damaged: see the warning)")
        return
    if fields is None:
        click.echo(f"  sidecar: none ({sidecar.name} not found)")
        return
    click.echo(f"  sidecar ({sidecar.name})")
    from dataclasses import fields as dataclass_fields

    labels = {"episode_return": "return", "codec": "encoder", "fps": "fps (recorded)"}
    known = [f.name for f in dataclass_fields(VideoMetadata)]  # its order: kind, env, episode...
    for key in [*known, *sorted(set(fields) - set(known))]:
        value = fields.get(key)
        if key == "path" or value is None:
            continue  # the video named above; the sidecar stores it relative to its folder
        shown = _num(value) if isinstance(value, float) else value
        click.echo(f"    {labels.get(key, key.replace('_', ' ')):<15} {shown}")


def _track_facts(track: Path) -> dict[str, Any]:
    """A data track's summary (:func:`rlvideo._core.track.summarize_track`), or what is wrong.

    A track :func:`rlvideo._core.track.read_track` refuses is skipped with a one-line warning naming
    it, as the gallery skips it.
    """
    from rlvideo._core.track import read_track, summarize_track

    try:
        return {"file": track.name, **summarize_track(read_track(track))}
    except (OSError, ValueError) as exc:  # read_track's one-line reasons
        logger.warning("skipped the track %s: %s", track, exc)
        return {"file": track.name, "problem": str(exc)}


def _print_track_facts(summary: dict[str, Any] | None, decoded_frames: int) -> None:
    """The data track's numbers, beside the file's and the sidecar's, if the video has one."""
    if summary is None:
        return
    click.echo(f"  data track ({summary['file']})")
    if "problem" in summary:
        click.echo(f"    unreadable      {summary['problem']}")
        return
    frames = summary["frames"]
    agrees = (
        "one per decoded frame" if frames == decoded_frames else f"the video has {decoded_frames}"
    )
    if summary["missing"]:
        agrees += f"; {summary['missing']} marked missing by rlvideo recover"
    reward = summary["reward"]
    ended = [flag for flag in ("terminated", "truncated") if summary[flag]]
    facts = {
        "frames": f"{frames} ({agrees})",
        "episodes": summary["episodes"],
        "reward": "none (no step recorded)" if reward is None else (
            f"min {_num(reward['min'])}, max {_num(reward['max'])}, mean {_num(reward['mean'])} "
            f"over {summary['steps']} steps"
        ),
        "return": ", ".join(_num(r) if isinstance(r, int | float) else "-"
                            for r in summary["final_return"]) + " at the end",
        "last frame": " and ".join(ended) if ended else "mid-episode",
        "info keys": ", ".join(summary["info_keys"]) or "none",
    }  # fmt: skip
    for key, value in facts.items():
        click.echo(f"    {key:<15} {value}")


def _human_size(size: int) -> str:
    """A file size for people, in decimal units as file managers show them.

    Example:
        >>> _human_size(999), _human_size(23_456), _human_size(1_234_567), _human_size(5 * 10**9)
        ('999 B', '23.5 kB', '1.2 MB', '5.0 GB')
    """
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _videos_named(paths: Sequence[str]) -> list[tuple[Path, str | None]]:
    """The files named, and the videos in each folder named and its sub-folders, with their run.

    A folder's videos are its finished ones and those kept as ``<name>.incomplete.<ext>`` (by a
    crash's ``rlvideo recover``, an error or an interrupt), found as the gallery finds them
    (:func:`rlvideo.gallery.find_videos`); hidden files are not videos yet. A video's run is
    None for a file named, or a folder whose videos all lie directly in it; otherwise its
    folder's path from the folder named (``"."`` for the folder itself).
    """
    from rlvideo._core.naming import is_partial_name
    from rlvideo.gallery import find_videos

    found: list[tuple[Path, str | None]] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            videos = find_videos(path, keep=_is_shown_video)
            if not videos:
                leftovers = find_videos(path, keep=is_partial_name)
                hint = (
                    f"; it holds {len(leftovers)} partial file(s) a crash left: "
                    f"`rlvideo recover {name}` makes them playable"
                    if leftovers
                    else ""
                )
                raise InvalidArgumentError(
                    f"{name}: no videos in this folder or its sub-folders{hint}"
                )
            folders = [video.parent.relative_to(path).as_posix() for video in videos]
            runs = folders if set(folders) != {"."} else [None] * len(videos)
            found += zip(videos, runs, strict=True)
        elif path.is_file():
            found.append((path, None))
        else:
            raise InvalidArgumentError(f"{name}: no such file or folder")
    return found


def _is_shown_video(path: Path) -> bool:
    """A finished video, or one kept as ``.incomplete`` (named as its finished name would be).

    Example:
        >>> [_is_shown_video(Path(n)) for n in ("a.mp4", "a.incomplete-2.gif", ".a.incomplete.mp4")]
        [True, True, False]
    """
    from rlvideo._core.naming import is_finished_video_name, strip_incomplete

    return is_finished_video_name(path.with_stem(strip_incomplete(path.stem)))


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

    FOLDER may hold run folders (runs/ppo, runs/hand, runs/sweep/lr-3: any depth), as
    TensorBoard's --logdir does: each is a run, named by its path from FOLDER, with a colour
    of its own, and the same-seed compare pairs videos across runs. Every link is relative:
    move FOLDER, zip it or serve it from anywhere. FOLDER may be an fsspec URL (its videos,
    not its sub-folders): the videos are downloaded to a temporary folder, and the page
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
    """Recover what a killed process left (in folders, or hidden files named): one line each.

    A partial video becomes <name>.incomplete.<ext>; a finished video stranded under a hidden
    name gets its name; a data track goes beside its video, one line per frame. A file with no
    frame is removed ("lost"), one nothing can read is kept as <name>.damaged.<ext>. Files a
    running process still writes are left alone. Exit status: 0 when everything recoverable was
    recovered (lost files held nothing), 1 when a file was kept damaged or left where it was.
    """
    from rlvideo.io.recovery import is_leftover_name, recover_folder

    with _user_errors():
        named: dict[Path, list[Path] | None] = {}  # folder -> the files named (None: all)
        for name in paths:
            path = Path(name)
            if path.is_dir():
                named[path] = None
            elif path.is_file() and is_leftover_name(path):
                files = named.setdefault(path.parent, [])
                if files is not None:
                    files.append(path)
            elif path.exists():
                raise InvalidArgumentError(
                    f"{name} is not a partial file (hidden .<name>.<token>.partial.<ext>) nor "
                    "another file a killed process left"
                )
            else:
                raise InvalidArgumentError(f"{name}: no such file or folder")
        outcomes = [
            outcome
            for folder, files in named.items()
            for outcome in recover_folder(folder, names=files)
        ]
    for outcome in outcomes:
        click.echo(str(outcome))
    if not outcomes:
        click.echo("no partial files found: nothing to recover")
    if not all(outcome.ok for outcome in outcomes):
        raise SystemExit(1)


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
        from rlvideo.cli.demo import record_demo
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
        f"  a JSON sidecar and a data track each, {folder / 'manifest.json'} and the gallery "
        f"{page}\n"
        f"next: open file://{page.absolute()} in a browser to watch them\n"
        f"record your own env: {_command()} record YOUR_ENV_ID"
        "  (a fresh runs/YOUR_ENV_ID-<date>-<time>/ each run; a trained agent: --policy model.zip;"
        " a function: --policy my_policy.py:policy)\n"
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
    entry points (the command, ``python -m rlvideo.cli.demo``) call this: the library never changes
    a user's environment.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``rlvideo`` console script and ``python -m rlvideo``."""
    _headless_sdl()
    cli.main(args=list(argv) if argv is not None else None, prog_name="rlvideo")
