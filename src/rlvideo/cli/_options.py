"""Option values the commands parse: JSON objects, and the fields of --overlay and --track."""

from __future__ import annotations

import json
from typing import Any

from rlvideo.errors import InvalidArgumentError

__all__ = ["DEFAULT_FIELDS", "field_list", "parse_env_kwargs", "parse_storage_options"]

DEFAULT_FIELDS = "\0default"
"""The value click gives ``--overlay`` / ``--track`` when they are given with no value."""


def parse_env_kwargs(text: str) -> dict[str, Any]:
    """``--env-kwargs``: a JSON object, for ``gymnasium.make``.

    Example:
        >>> parse_env_kwargs('{"max_episode_steps": 8}')
        {'max_episode_steps': 8}
    """
    return _json_object("--env-kwargs", text)


def parse_storage_options(text: str | None) -> dict[str, Any] | None:
    """``--storage-options``: a JSON object for fsspec, or None; never echoed (it may hold keys)."""
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


def field_list(value: str | None, option: str) -> bool | list[str] | None:
    """``--overlay`` / ``--track``: None (not given), True (no value) or the fields named.

    Example:
        >>> field_list(None, "--track"), field_list(DEFAULT_FIELDS, "--track")
        (None, True)
        >>> field_list(" step, return,", "--overlay")
        ['step', 'return']
    """
    if value is None or value == DEFAULT_FIELDS:
        return None if value is None else True
    fields = [field.strip() for field in value.split(",") if field.strip()]
    if not fields:
        raise InvalidArgumentError(
            f"{option} takes comma-separated names (e.g. {option} step,return), or no value; "
            f"got {value!r}"
        )
    return fields
