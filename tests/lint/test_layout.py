"""The shape of the package: small files, a headless core, package data that exists."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kubespan"
MAX_LINES = 400
"""No source file of kubespan is longer than this."""
OVER_MAX_LINES: dict[str, int] = {}
"""Files still being split, with the length they may not grow past: this list only shrinks."""
SOURCES = ("*.py", "*.c", "*.h")
UI_PACKAGES = ("tui", "cli")
"""The only packages that may import Textual or Rich."""


GENERATED = PACKAGE / "api" / "tempopb"
"""protoc's output (scripts/gen_tempopb.py), not written by hand."""


def _sources() -> list[Path]:
    return sorted(path for pattern in SOURCES for path in PACKAGE.rglob(pattern) if GENERATED not in path.parents)


def test_no_source_file_is_longer_than_the_limit() -> None:
    too_long = {}
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > OVER_MAX_LINES.get(name, MAX_LINES):
            too_long[name] = lines
    assert not too_long, f"split these files (at most {MAX_LINES} lines): {too_long}"


def test_the_exceptions_are_still_needed() -> None:
    """An exception is dropped once its file is short enough (or gone), so the list only shrinks."""
    stale = [name for name in OVER_MAX_LINES
             if not (ROOT / name).exists() or len((ROOT / name).read_text().splitlines()) <= MAX_LINES]
    assert not stale, f"remove from OVER_MAX_LINES: {stale}"


def _headless_modules() -> list[str]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) > 1 and parts[1] in UI_PACKAGES:
            continue
        if parts[-1] == "__main__":
            continue
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_nothing_below_the_ui_imports_textual_or_rich() -> None:
    """Import every headless module in a fresh interpreter; none may bring Textual or Rich in."""
    program = (
        "import importlib, sys\n"
        f"for name in {_headless_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "    if loaded:\n"
        "        sys.exit(f'{name} imports {loaded[0]}')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]


def test_only_the_ui_parses_command_lines() -> None:
    """argparse is cli/'s (and tui/'s): the service, the store and the rest take typed settings.

    Checked in the source, not in sys.modules: aiohttp.web imports argparse for its own command line."""
    parsing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) > 1 and parts[0] in UI_PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] == "argparse" for name in names):
                parsing.append(path.relative_to(ROOT).as_posix())
    assert not parsing, f"argparse below cli/: {sorted(set(parsing))}"


def test_the_model_imports_nothing_of_kubespan() -> None:
    program = (
        "import sys, kubespan.model\n"
        "others = sorted(m for m in sys.modules if m.startswith('kubespan.') and not m.startswith('kubespan.model'))\n"
        "sys.exit(f'kubespan.model imports {others}' if others else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr.strip()


def test_package_data_patterns_match_files() -> None:
    with open(ROOT / "pyproject.toml", "rb") as file:
        package_data = tomllib.load(file)["tool"]["setuptools"]["package-data"]
    for package, patterns in package_data.items():
        folder = PACKAGE.parent.joinpath(*package.split("."))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"package-data {package}: {pattern} matches no file"


def test_the_version_is_written_once() -> None:
    """pyproject.toml takes the version from kubespan.__version__; the installed metadata says the same."""
    import importlib.metadata

    import kubespan

    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("kubespan") == kubespan.__version__
