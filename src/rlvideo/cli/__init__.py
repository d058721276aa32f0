"""The ``rlvideo`` command: ``record``, ``info``, ``gallery``, ``recover``, ``render`` and ``demo``.

Built on click. User errors (an unknown env id, a bad policy path, a missing extra, any
:class:`~rlvideo.errors.RLVideoError`) print one line and exit with status 2, no traceback.
The CLI is the only part of rlvideo that prints.

One module per command (:mod:`rlvideo.cli.record`, ``info``, ``gallery``, ``recover``,
``render``, ``demo``), each imported when its command runs; beside them what ``record`` needs:
``_envs`` (env ids resolved, envs made), ``_policies`` (``--policy``), ``_options`` (JSON options),
``_progress`` (the bar) and ``_summary`` (what a run prints). This module holds the group,
:data:`cli`, and :func:`main`, the console script.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from typing import Any, cast

import click

from rlvideo.cli._errors import usage_errors

__all__ = ["main"]


_COMMANDS = ("demo", "gallery", "info", "record", "recover", "render")
"""The commands: each is the function of its name in the module of its name."""


class _Group(click.Group):
    """The ``rlvideo`` group: click's usage errors read like the rest (one line, status 2).

    Its commands are imported when used (click's lazy subcommands), so ``rlvideo --version``
    imports none, and ``python -m rlvideo.cli.demo`` runs a module the package did not import.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module = importlib.import_module(f"rlvideo.cli.{cmd_name}")
        return cast(click.Command, getattr(module, cmd_name))

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:  # fmt: skip
        with usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with usage_errors():
            return super().invoke(ctx)


@click.group(cls=_Group, name="rlvideo", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlvideo", prog_name="rlvideo")
@click.option("-v", "--verbose", count=True, help="Log more (-v: each video, -vv: codec choices).")
def cli(verbose: int) -> None:
    """Record, inspect and browse videos of reinforcement-learning rollouts."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


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
