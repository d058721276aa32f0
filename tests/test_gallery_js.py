"""The gallery page's script and style sheet (``rlvideo/gallery/static/``): linted, unit-tested
under Node, and inlined into the page at build time.

The unit tests are ``tests/js/*.js`` (Node's built-in ``node:test``, no npm package): they test
the script's pure part, the query language and the plots' scales, which the script exports when
it runs under Node. The lint is ``node --check`` (the syntax) and a few checks made here: the
script stays ES5 syntax (the page has no build step), strict, and free of debugging leftovers.
Node is Debian's ``nodejs``: without it these tests skip, except on CI (``CI`` set), where
``.ci/run`` installs it and a missing ``node`` is a failure. The browser tests
(``test_gallery_browser.py``) run the same script in Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from rlvideo.gallery import build_gallery
from tests.gallery_fixtures import write_runs

ROOT = Path(__file__).resolve().parents[1]
JS_TESTS = sorted((ROOT / "tests" / "js").glob("*.js"))
STATIC = resources.files("rlvideo.gallery").joinpath("static")
SCRIPT = STATIC.joinpath("gallery.js").read_text(encoding="utf-8")
STYLE = STATIC.joinpath("gallery.css").read_text(encoding="utf-8")


def _node() -> str:
    """The ``node`` command; skip without it, except on CI, which must run these tests."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is not None:
        return node
    reason = "node is missing: apt-get install nodejs (Debian's package)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide it for the gallery's script tests", pytrace=False)
    pytest.skip(reason)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_script_unit_tests_pass_under_node() -> None:
    assert JS_TESTS, "tests/js/ holds the script's unit tests"
    result = _run("--test", *(str(path) for path in JS_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None, result.stdout
    assert int(passed.group(1)) >= 10, result.stdout


def test_the_script_is_valid_javascript() -> None:
    script = STATIC.joinpath("gallery.js")
    with resources.as_file(script) as path:
        result = _run("--check", str(path))
    assert result.returncode == 0, result.stderr


def test_a_syntax_error_fails_the_check(tmp_path: Path) -> None:
    broken = tmp_path / "broken.js"
    broken.write_text(SCRIPT.replace("function niceTicks(", "function niceTicks((", 1))
    assert _run("--check", str(broken)).returncode != 0


def _code(script: str) -> str:
    """The script without its comments, strings and regular expressions (each kept as a space).

    Example: ``var a = "=>"; // let`` becomes ``var a =  ;``. A ``/`` starts a regular
    expression where a value is expected: after an operator, a bracket, a comma or ``return``.
    """
    out: list[str] = []
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if script.startswith("//", i):
            i = script.find("\n", i)
            i = n if i < 0 else i
        elif script.startswith("/*", i):
            i = script.index("*/", i + 2) + 2
            out.append(" ")
        elif c in "\"'`" or (c == "/" and _regex_may_start("".join(out))):
            i = _end_of_literal(script, i)
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _regex_may_start(before: str) -> bool:
    stripped = before.rstrip()
    return not stripped or stripped[-1] in "(,=:[!&|?{};+-*%<>~^" or stripped.endswith("return")


def _end_of_literal(script: str, start: int) -> int:
    """The index after the string, template or regular expression starting at ``start``."""
    quote, i, in_class = script[start], start + 1, False
    while i < len(script):
        c = script[i]
        if c == "\\":
            i += 2
            continue
        if quote == "/" and c == "[":
            in_class = True
        elif quote == "/" and c == "]":
            in_class = False
        elif c == quote and not in_class:
            if quote == "/":
                while i + 1 < len(script) and script[i + 1].isalpha():  # flags
                    i += 1
            return i + 1
        elif c == "\n" and quote != "`":
            raise AssertionError(f"unterminated literal at {script[start : start + 40]!r}")
        i += 1
    raise AssertionError(f"unterminated literal at {script[start : start + 40]!r}")


NOT_ES5 = {
    "=>": "an arrow function",
    "`": "a template string",
    r"\blet\b": "let",
    r"\bconst\b": "const",
    r"\bclass\b": "class",
    r"\basync\b": "async",
    r"\.\.\.": "a spread",
}


def test_the_script_stays_es5_syntax_strict_and_clean() -> None:
    code = _code(SCRIPT)
    found = [what for pattern, what in NOT_ES5.items() if re.search(pattern, code)]
    assert not found, f"gallery.js must stay ES5 syntax (no build step); it has {found}"
    assert re.match(r'(?:/\*.*?\*/\s*)?"use strict";', SCRIPT, re.DOTALL), "strict mode first"
    leftovers = re.findall(r"\bconsole\.\w+|\bdebugger\b|\balert\(", code)
    assert not leftovers, f"debugging left in gallery.js: {leftovers}"


def test_the_lint_finds_what_it_looks_for() -> None:
    code = _code('var a = "=>"; // let\nvar b = /`/g; return `x`;')
    assert code == "var a =  ; \nvar b =  ; return  ;"
    code = _code("var f = (x) => x; let y = 1; console.log(y);")
    assert [what for pattern, what in NOT_ES5.items() if re.search(pattern, code)] == [
        "an arrow function",
        "let",
    ]
    assert "console.log" in code
    assert "6 / 2" in _code("var half = 6 / 2;")  # division, not a regular expression


def test_the_style_sheet_is_plain_css() -> None:
    assert STYLE.count("{") == STYLE.count("}")
    assert not re.search(r"@import|url\((?!data:)", STYLE), "the page fetches nothing"


def test_the_page_inlines_the_script_and_the_style_sheet(tmp_path: Path) -> None:
    page = build_gallery(write_runs(tmp_path / "runs")).read_text(encoding="utf-8")
    scripts = re.findall(r"<script>\n(.*?)\n</script>", page, re.DOTALL)
    styles = re.findall(r"<style>\n(.*?)\n</style>", page, re.DOTALL)
    assert scripts == [SCRIPT.rstrip("\n")]
    assert styles == [STYLE.rstrip("\n")]
    assert not re.search(r"<script[^>]* src=|<link[^>]* rel=\"stylesheet\"", page)
