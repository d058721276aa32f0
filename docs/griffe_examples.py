"""A griffe extension: rlvideo's ``Example:`` sections render as examples (doctests as code).

rlvideo's Google docstrings title their doctests ``Example:``; griffe reads only ``Examples:`` as
the examples section and turns ``Example:`` into an admonition, where ``>>>`` lines become nested
quotes and a doctest's output ``[0, 10]`` a broken cross-reference (a warning: ``--strict`` fails).
This renames the section in the text griffe parses; the source is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Reads each docstring's ``Example:`` section as ``Examples:``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Renames the section before griffe parses the docstring."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
