"""``rlvideo recover``: make what a killed process left playable, one line per file."""

from __future__ import annotations

from pathlib import Path

import click

from rlvideo.cli._errors import user_errors
from rlvideo.errors import InvalidArgumentError

__all__ = ["recover"]


@click.command()
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

    with user_errors():
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
