"""`make test` installs every system file and program the suite uses.

`make test` runs `scripts/system-deps.sh test` before the suite, so a fresh Debian machine with
nothing but Python 3.13 gets the browser and the tools the tests call. This test keeps the list
complete: it reads every test module, collects the absolute system paths it names and the
programs it runs (`shutil.which("x")`, `subprocess.run(["x", ...])`), and fails when one of them
comes from a Debian package that the script's `test` group does not install (the base system's
essential packages aside). Without this, CI (on a machine where earlier sessions installed
things by hand) would stay green while a new machine fails.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SCRIPT = ROOT / "scripts" / "system-deps.sh"
TESTS = ROOT / "tests"
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/opt/", "/lib/", "/etc/")
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}

pytestmark = pytest.mark.skipif(
    not shutil.which("dpkg-query") and not os.environ.get("CI"),
    reason="not a Debian system: there is no package to check against",
)


def script_packages(group: str) -> set[str]:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--list", group], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def system_needs() -> dict[str, set[str]]:
    """What the test modules use from the system: absolute paths and program names, each with
    the modules that use it."""
    needs: dict[str, set[str]] = defaultdict(set)
    for module in TESTS.rglob("*.py"):
        where = str(module.relative_to(ROOT))
        tree = ast.parse(module.read_text(), filename=where)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for part in node.value.split(":"):
                    if part.startswith(SYSTEM_PREFIXES) and not any(c.isspace() for c in part):
                        needs[part].add(where)
            elif isinstance(node, ast.Call) and node.args:
                first = node.args[0]
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == "which" and isinstance(first, ast.Constant):
                    needs[str(first.value)].add(where)
                elif name == "which" and isinstance(first, ast.Name):
                    for program in _loop_values(tree, first.id):
                        needs[program].add(where)
                elif (
                    name in SUBPROCESS_CALLS
                    and isinstance(first, ast.List | ast.Tuple)
                    and first.elts
                    and isinstance(first.elts[0], ast.Constant)
                    and isinstance(first.elts[0].value, str)
                ):
                    needs[first.elts[0].value].add(where)
    return needs


def _loop_values(tree: ast.AST, name: str) -> list[str]:
    """The strings a loop variable `name` takes in `for name in ("a", "b")` (a statement or a
    comprehension), as in `[t for t in ("msgfmt", "xgettext") if not shutil.which(t)]`."""
    values = []
    for node in ast.walk(tree):
        loops: list = []
        if isinstance(node, ast.For):
            loops = [node]
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            loops = node.generators
        for loop in loops:
            if (
                isinstance(loop.target, ast.Name)
                and loop.target.id == name
                and isinstance(loop.iter, ast.Tuple | ast.List)
            ):
                values += [e.value for e in loop.iter.elts if isinstance(e, ast.Constant)]
    return values


def owner(path: str) -> str | None:
    """The Debian package that installed `path` (under either name of a merged /usr: dpkg
    records /bin/bash, `which` finds /usr/bin/bash), None for a file no package owns."""
    real = os.path.realpath(path)
    candidates = {path, real}
    for name in (path, real):
        if name.startswith("/usr/"):
            candidates.add(name.removeprefix("/usr"))
        else:
            candidates.add("/usr" + name)
    for candidate in sorted(candidates):
        result = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def essential(package: str) -> bool:
    """Part of every Debian system (Essential: yes, or priority required): nothing to install."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Essential} ${Priority}", package],
        capture_output=True,
        text=True,
    )
    return result.stdout.split()[:1] == ["yes"] or "required" in result.stdout.split()


def test_the_test_group_installs_what_the_suite_uses_from_the_system():
    packages = script_packages("test")
    ours = (str(ROOT), sys.prefix, sys.base_prefix)
    problems = []
    for need, modules in sorted(system_needs().items()):
        path = need if need.startswith("/") else shutil.which(need)
        if path is None or not Path(path).exists():
            problems.append(
                f"{need} (used by {', '.join(sorted(modules))}) is not on this machine: "
                "`make test` installs scripts/system-deps.sh's test group first; add the "
                "package that brings it there"
            )
            continue
        real = os.path.realpath(path)
        if Path(real).is_dir() or real.startswith(ours):
            continue
        package = owner(path)
        if package is None:
            problems.append(f"{need} ({', '.join(sorted(modules))}) belongs to no Debian package")
        elif package not in packages and not essential(package):
            problems.append(
                f"{need} ({', '.join(sorted(modules))}) comes from the Debian package {package}: "
                "add it to TEST_PACKAGES in scripts/system-deps.sh"
            )
    assert not problems, "\n".join(problems)


def test_the_guard_sees_the_browser_and_the_translation_tools():
    """The scan finds what we know the suite uses: if it did not, the test above would pass on
    an empty list."""
    needs = system_needs()

    assert "/usr/bin/chromium" in needs
    assert {"msgfmt", "xgettext", "msgmerge"} <= needs.keys()


def test_the_script_lists_its_groups_and_checks_without_installing():
    assert {"chromium", "gettext"} <= script_packages("test")
    assert script_packages("all") == script_packages("test") | script_packages("bench")
    check = subprocess.run(["bash", str(SCRIPT), "--check", "test"], capture_output=True, text=True)
    # `make test` ran the script before the suite: everything is there now.
    assert check.returncode == 0, check.stderr
    usage = subprocess.run(["bash", str(SCRIPT), "nonsense"], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
