"""How the ``rlvideo`` command reports errors: one line, ``rlvideo: error: ...``, exit status 2.

The library's errors carry their data (:class:`~rlvideo.errors.RLVideoError`'s ``path``,
``argument``, ``value`` and the message in parts whose :class:`~rlvideo.errors.RLVideoError.Term`
pieces name arguments); ``record`` words them with its own options from :data:`CLI_TERMS`, so
``fps must be ...`` reads ``--fps must be ...``. Click's usage errors read the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import click

from rlvideo.errors import RLVideoError

__all__ = ["CLI_TERMS", "UserError", "in_cli_terms", "usage_errors", "usage_message", "user_errors"]


class UserError(click.ClickException):
    """A problem the user can fix: one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"rlvideo: error: {self.format_message()}", err=True)


CLI_TERMS: Mapping[str, str] = {
    "overwrite=True": "--overwrite",
    "name": "--out",  # "choose another name": the command chooses names in --out
    "fps": "--fps",
    "video_folder": "--out",
    "name_prefix": "--name-prefix",
    "video_length": "--video-length",
    "episode_trigger": "--every",
}
"""The library's terms (:class:`~rlvideo.errors.RLVideoError.Term`) -> ``rlvideo record``'s."""


def in_cli_terms(error: RLVideoError) -> str:
    """The error's message with the library's argument names replaced by the command's options.

    Example:
        >>> from rlvideo.errors import InvalidArgumentError, VideoExistsError
        >>> in_cli_terms(VideoExistsError.for_path("v/a.mp4"))
        'v/a.mp4 already exists. Pass --overwrite to replace it, or choose another --out.'
        >>> in_cli_terms(InvalidArgumentError(InvalidArgumentError.Term("fps"), " must be above 0"))
        '--fps must be above 0'
    """
    return error.worded(CLI_TERMS)


@contextmanager
def user_errors(*, cli_terms: bool = False) -> Iterator[None]:
    """Turn rlvideo's user-facing errors (and Ctrl-C) into :class:`UserError`.

    With ``cli_terms`` (``record``), the library's argument names become the options.
    """
    try:
        yield
    except RLVideoError as exc:
        raise UserError(in_cli_terms(exc) if cli_terms else str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise UserError(
            "interrupted; videos finished before were saved, and any video in progress was "
            "kept as <name>.incomplete.<ext>"
        ) from exc


@contextmanager
def usage_errors() -> Iterator[None]:
    """Turn click's own usage errors into :class:`UserError`, one line in the command's voice.

    A bad value, a missing argument, an unknown option or command:
    ``rlvideo: error: <click's message> (see rlvideo record --help)``.

    ``rlvideo`` alone still prints the help (click's :class:`~click.exceptions.NoArgsIsHelpError`).
    """
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.UsageError as exc:
        raise UserError(usage_message(exc)) from exc


def usage_message(exc: click.UsageError) -> str:
    """Click's message on one line, in the command's voice, with where to read the options.

    Example:
        >>> usage_message(click.UsageError("Invalid value for '--fps': 'x' is not a valid float."))
        "invalid value for '--fps': 'x' is not a valid float (see rlvideo --help)"
    """
    message = " ".join(exc.format_message().split()).rstrip(".")
    if message[:2].istitle():  # "Invalid value", "No such option": lower case, as the rest
        message = message[0].lower() + message[1:]
    command = exc.ctx.command_path if exc.ctx is not None else "rlvideo"
    return f"{message} (see {command} --help)"
