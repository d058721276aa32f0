"""Lazy imports of optional dependencies, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from rlvideo.errors import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(module: str, extra: str, *, feature: str | tuple[str, ...]) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``rlvideo[extra]``.

    Args:
        module: The module to import, e.g. ``"tqdm"``.
        extra: The rlvideo extra that installs it, e.g. ``"progress"``.
        feature: What needs it, for the message, e.g. ``'save_logger="bar"'``; in parts
            where one is an argument (a :class:`~rlvideo.errors.RLVideoError.Term`).

    Returns:
        The imported module.

    Raises:
        MissingDependencyError: If the module cannot be imported.

    Example:
        >>> import_optional("json", "none", feature="this example").__name__
        'json'
        >>> import_optional("no_such_module_xyz", "progress", feature="a progress bar")
        Traceback (most recent call last):
        ...
        rlvideo.errors.MissingDependencyError: a progress bar needs no_such_module_xyz: pip install "rlvideo[progress]"
    """  # noqa: E501 (the doctest shows the whole message on one line)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module.split(".")[0] and exc.name != module:
            raise  # the module exists but one of *its* imports is broken: do not hide that
        parts = (feature,) if isinstance(feature, str) else feature
        raise MissingDependencyError(
            *parts, f' needs {module}: pip install "rlvideo[{extra}]"'
        ) from exc
