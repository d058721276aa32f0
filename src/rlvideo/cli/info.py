"""``rlvideo info``: what each video holds, read by decoding it, then its sidecar and data track."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from rlvideo._core.metadata import VideoMetadata
from rlvideo._core.naming import is_incomplete_name
from rlvideo._core.units import format_size
from rlvideo.cli._errors import user_errors
from rlvideo.cli._summary import num
from rlvideo.errors import InvalidArgumentError
from rlvideo.io.manifest import read_sidecar
from rlvideo.storage import LocalDestination

__all__ = ["info"]

logger = logging.getLogger("rlvideo.cli")  # the command's one logger: -v shows "rlvideo.cli: ..."


@click.command()
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

    with user_errors():
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
        "fps": num(entry["fps"]),
        "frames": entry["frames"],
        "duration": f"{num(entry['duration'])} s",
        "pixel format": entry["pixel_format"],
        "file size": format_size(entry["size_bytes"]),
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
        shown = num(value) if isinstance(value, float) else value
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
            f"min {num(reward['min'])}, max {num(reward['max'])}, mean {num(reward['mean'])} "
            f"over {summary['steps']} steps"
        ),
        "return": ", ".join(num(r) if isinstance(r, int | float) else "-"
                            for r in summary["final_return"]) + " at the end",
        "last frame": " and ".join(ended) if ended else "mid-episode",
        "info keys": ", ".join(summary["info_keys"]) or "none",
    }  # fmt: skip
    for key, value in facts.items():
        click.echo(f"    {key:<15} {value}")


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
