"""Builds the docs site once per test session, for tests/test_docs.py and test_docs_browser.py."""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS_PACKAGES = {
    "mkdocs": "mkdocs",
    "material": "mkdocs-material",
    "mkdocstrings": "mkdocstrings",
    "mkdocstrings_handlers.python": "mkdocstrings-python",
    "pymdownx": "pymdown-extensions",
}


def missing_docs_packages() -> list[str]:
    """The packages of the ``docs`` extra that are not installed."""
    missing = []
    for module, package in DOCS_PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(package)
    return missing


@dataclass(frozen=True)
class Build:
    """The result of ``mkdocs build --strict``."""

    returncode: int
    output: str
    seconds: float
    site: Path

    def warnings(self) -> str:
        lines = [line for line in self.output.splitlines() if "WARNING" in line or "ERROR" in line]
        return "\n".join(lines) or self.output[-3000:]


@functools.cache
def build_site() -> Build:
    """Runs ``mkdocs build --strict`` into a temporary folder (once per process)."""
    site = Path(tempfile.mkdtemp(prefix="bam-docs-site-"))
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    seconds = time.perf_counter() - started
    return Build(result.returncode, result.stdout + result.stderr, seconds, site)
