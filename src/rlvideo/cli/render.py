"""``rlvideo render``: render replay files (``replay=True``) again, one line per video."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rlvideo._core.formats import NAMES as FORMAT_NAMES
from rlvideo._core.naming import VIDEO_SUFFIXES
from rlvideo._core.replay import REPLAY_SUFFIX, ReplayHeader, chosen_by_return, render_overrides
from rlvideo.cli._errors import user_errors
from rlvideo.cli._options import DEFAULT_FIELDS, field_list
from rlvideo.errors import InvalidArgumentError

if TYPE_CHECKING:
    from rlvideo.replay import RenderResult

__all__ = ["render"]

_OPTIONS = {"camera_name": "--camera", "camera_id": "--camera", "width": "--width",
            "height": "--height"}  # fmt: skip
"""``gymnasium.make``'s keyword arguments -> the options that set them."""


@dataclass
class _Replay:
    """A replay file found: where, whether it was named (not found in a folder), its header."""

    path: Path
    named: bool
    header: ReplayHeader | None = None
    error: str | None = None


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--camera",
    default=None,
    metavar="NAME|ID",
    help="MuJoCo's camera: a name (camera_name, e.g. track) or a number (camera_id). The "
    "video's name says it: <stem>.cam-track.mp4.",
)
@click.option(
    "--width",
    type=click.IntRange(min=1),
    default=None,
    metavar="PIXELS",
    help="The render's width in pixels (the env's width argument, as MuJoCo's): "
    "<stem>.640x.mp4, <stem>.640x360.mp4 with --height.",
)
@click.option(
    "--height",
    type=click.IntRange(min=1),
    default=None,
    metavar="PIXELS",
    help="The render's height in pixels.",
)
@click.option(
    "--format",
    "video_format",
    type=click.Choice(FORMAT_NAMES),
    default=None,
    help="The video's format (default: the one recorded).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the videos (default: beside each replay file).",
)
@click.option(
    "--overlay",
    default=None,
    is_flag=False,
    flag_value=DEFAULT_FIELDS,
    metavar="[FIELDS]",
    help="Burn values into the frames (needs rlvideo[overlay]), instead of the recorded "
    "overlay: alone, episode, step, reward and return; or comma-separated fields, e.g. "
    "--overlay step,return,x_position.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    metavar="N",
    default=1,
    show_default=True,
    help="Renderer processes (1: render in this process).",
)
@click.option(
    "--best",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the N replay files of highest return (the recorded video's return), ranked "
    "among every replay file named and in the folders; one whose video exists is skipped "
    "unless --all.",
)
@click.option(
    "--worst",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the N replay files of lowest return (with --best: both).",
)
@click.option(
    "--all",
    "render_all",
    is_flag=True,
    help="In folders, also render the replay files whose video exists (default: only those "
    "without one).",
)
def render(**values: Any) -> None:
    """Render replay files (<stem>.replay.npz, written by replay=True) into videos.

    PATHS are replay files, or folders: every *.replay.npz in them whose video (the same
    name, any video format, in --out or beside it) does not exist yet, unless --all. Files
    named are always rendered. Each replay is made again from the recorded env spec, its
    actions replayed and every step checked against its recorded digest: one line per
    video, "verified", or "diverged at step S (kept F frames)" (the video stops where the
    replay left the recording), or the error. --camera, --width and --height render another
    view, under a name that says it, so the recorded video is never replaced. Exit status:
    0 when every video was rendered and verified, 1 when one failed or diverged.
    """
    from rlvideo.replay import render as render_replays

    settings = _Settings(**values)
    with user_errors():
        overlay = field_list(settings.overlay, "--overlay")
        todo, skipped = _plan(settings)
        ready = [replay.path for replay in todo if replay.error is None]
        results = []
        if ready:
            noun = "replay file" if len(ready) == 1 else "replay files"
            click.echo(f"rendering {len(ready)} {noun} (workers: {settings.workers})", err=True)
            results = render_replays(
                ready, video_folder=settings.out, camera=settings.camera, width=settings.width,
                height=settings.height, format=settings.video_format, overlay=overlay,
                workers=settings.workers,
            )  # fmt: skip
    counts = _report(todo, iter(results), settings.out)
    click.echo(_summary(*counts, skipped=skipped))
    if counts[2] or counts[3]:  # diverged, failed
        raise SystemExit(1)


@dataclass(frozen=True)
class _Settings:
    """``rlvideo render``'s options, as click read them (each attribute is its option)."""

    paths: tuple[str, ...]
    camera: str | None
    width: int | None
    height: int | None
    video_format: str | None
    out: str | None
    overlay: str | None
    workers: int
    best: int | None
    worst: int | None
    render_all: bool

    def stem(self, replay: Path) -> str:
        """The stem of the video this render writes of ``replay`` (it says the view)."""
        stem = replay.name.removesuffix(REPLAY_SUFFIX)
        camera, width, height = self.camera, self.width, self.height
        return render_overrides(stem, camera=camera, width=width, height=height)[0]


def _plan(settings: _Settings) -> tuple[list[_Replay], int]:
    """The replay files to render (and those that cannot be, with their error); how many skip."""
    camera, width, height = settings.camera, settings.width, settings.height
    _, env_kwargs = render_overrides("", camera=camera, width=width, height=height)
    found = _replay_files(settings.paths)
    for replay in found:
        _read_header(replay)
    if settings.best is not None or settings.worst is not None:
        found = _by_return(found, settings.best or 0, settings.worst or 0)
    _check_overrides(found, env_kwargs)
    todo = [
        replay for replay in found
        if replay.error is not None or replay.named or settings.render_all
        or not _has_video(settings.stem(replay.path), settings.out or replay.path.parent)
    ]  # fmt: skip
    return todo, len(found) - len(todo)


def _report(
    todo: Sequence[_Replay], results: Iterator[RenderResult], out: str | None
) -> tuple[int, int, int, int]:
    """Print a line per replay file; how many were rendered, verified, diverged and failed."""
    rendered = verified = diverged = failed = 0
    for replay in todo:
        result = next(results) if replay.error is None else None
        error = replay.error if result is None else result.error
        if result is None or error is not None:
            click.echo(f"failed {replay.path}: {_readable(str(error))}")
            failed += 1
            continue
        frames = (result.meta or {}).get("frames")
        written = (
            f"rendered {_as_named(result.path, replay.path, out)} ({frames} frames)"
            if result.path
            else f"no video from {replay.path}"
        )
        rendered += result.path is not None
        if result.verified:
            click.echo(f"{written}, verified")
            verified += 1
        else:
            click.echo(
                f"{written}, diverged at step {result.diverged_at_step} (kept "
                f"{result.diverged_at_frame} frames): the replay no longer matches the recording"
            )
            diverged += 1
    return rendered, verified, diverged, failed


def _replay_files(paths: Sequence[str]) -> list[_Replay]:
    """The replay files named: files as given, every ``*.replay.npz`` of a folder, sorted.

    A file named twice (or named and in a folder named) is rendered once, as named.
    """
    found: dict[Path, _Replay] = {}
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files = sorted(path.glob(f"*{REPLAY_SUFFIX}"))
            if not files:
                raise InvalidArgumentError(
                    f"{name} holds no replay file (*{REPLAY_SUFFIX}): record with "
                    "RecordVideo(..., replay=True) to write them, or name another folder"
                )
            for file in files:
                found.setdefault(file.resolve(), _Replay(file, named=False))
        elif path.is_file():
            if not path.name.endswith(REPLAY_SUFFIX):
                raise InvalidArgumentError(
                    f"{name} is not a replay file: rlvideo render reads <stem>{REPLAY_SUFFIX} "
                    "files (written by replay=True beside their videos); name one, or a "
                    "folder of them"
                )
            found[path.resolve()] = _Replay(path, named=True)
        elif path.exists():
            raise InvalidArgumentError(f"{name} is neither a replay file nor a folder")
        else:
            raise InvalidArgumentError(f"{name}: no such file or folder")
    return list(found.values())


def _read_header(replay: _Replay) -> None:
    """Read ``replay``'s header, or say why it cannot be (its ``error``)."""
    from rlvideo.io.replayfile import read_replay

    try:
        replay.header = read_replay(replay.path)[0]
    except (InvalidArgumentError, OSError) as exc:
        replay.error = str(exc)


def _by_return(found: list[_Replay], best: int, worst: int) -> list[_Replay]:
    """The ``best`` of highest and ``worst`` of lowest recorded return (and those unreadable)."""
    ranked: list[tuple[_Replay, float]] = []
    for replay in found:
        value = None if replay.header is None else replay.header.video.get("return")
        if isinstance(value, (int, float)) and not math.isnan(value):
            ranked.append((replay, float(value)))
        elif replay.error is None:
            replay.error = "its header holds no return: --best and --worst cannot rank it"
    picked = chosen_by_return([value for _, value in ranked], best, worst)
    chosen = {id(ranked[index][0]) for index in picked}
    return [replay for replay in found if id(replay) in chosen or replay.error is not None]


def _has_video(stem: str, folder: str | Path) -> bool:
    """Whether ``folder`` holds the video ``stem`` (in any video format)."""
    return any((Path(folder) / f"{stem}{suffix}").exists() for suffix in VIDEO_SUFFIXES)


def _check_overrides(found: Sequence[_Replay], env_kwargs: Mapping[str, Any]) -> None:
    """Refuse --camera, --width or --height for an env whose maker takes no such argument.

    The maker's signature is read from the recorded spec's entry point (imported, nothing
    made). A maker with ``**kwargs`` (MuJoCo's envs pass them on) or one that cannot be imported
    here is left to the render, whose error then says what went wrong.
    """
    if not env_kwargs:
        return
    seen: set[str] = set()
    for replay in found:
        if replay.header is None or replay.header.env.get("spec") in seen:
            continue
        spec_json = str(replay.header.env.get("spec"))
        seen.add(spec_json)
        taken = _maker_arguments(spec_json)
        if taken is None:
            continue
        refused = [name for name in env_kwargs if name not in taken]
        if refused:
            env_id = replay.header.env.get("id")
            options = ", ".join(dict.fromkeys(_OPTIONS.get(name, name) for name in refused))
            takes = ", ".join(sorted(taken)) or "nothing"
            raise InvalidArgumentError(
                f"{env_id} takes no such argument as {options} ({', '.join(refused)}): its "
                f"maker takes {takes}. Leave {options} out (cameras and render sizes are "
                "arguments of MuJoCo's envs, for one)"
            )


def _maker_arguments(spec_json: str) -> set[str] | None:
    """The keyword arguments the spec's maker takes; None if it takes any (or is not known)."""
    try:
        from gymnasium.envs.registration import EnvSpec, load_env_creator

        spec = EnvSpec.from_json(spec_json)
        entry = spec.entry_point
        maker = load_env_creator(entry) if isinstance(entry, str) else entry
        parameters = inspect.signature(maker).parameters.values()  # type: ignore[arg-type]
    except Exception:  # no gymnasium, a module missing here, no signature: the render says
        return None
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in keywords and p.name != "self"}


def _as_named(written: str, replay: Path, out: str | None) -> str:
    """The video's path as the user named its folder (``runs/x/v.mp4``, not an absolute path)."""
    folder = Path(out) if out is not None else replay.parent
    return str(folder / Path(written).name)


def _readable(error: str) -> str:
    """A render's error, on one line."""
    return " ".join(error.split())


def _summary(rendered: int, verified: int, diverged: int, failed: int, *, skipped: int) -> str:
    """The last line: what was rendered, verified, diverged, failed and skipped.

    Example:
        >>> _summary(3, 2, 1, 1, skipped=4)
        '3 videos rendered (2 verified, 1 diverged), 1 failed, 4 skipped (their videos exist: --all renders them again)'
        >>> _summary(0, 0, 0, 0, skipped=2)
        'nothing to render: the 2 replay files found have their videos (--all renders them again)'
    """  # noqa: E501 (doctest output stays on one line)
    if not rendered and not failed and not diverged:
        return (
            f"nothing to render: the {skipped} replay file{'s' if skipped != 1 else ''} found "
            f"{'have their videos' if skipped != 1 else 'has its video'} (--all renders them "
            "again)"
        )
    parts = [
        f"{rendered} video{'s' if rendered != 1 else ''} rendered ({verified} verified"
        + (f", {diverged} diverged)" if diverged else ")")
    ]
    if failed:
        parts.append(f"{failed} failed")
    if skipped:
        parts.append(f"{skipped} skipped (their videos exist: --all renders them again)")
    return ", ".join(parts)
