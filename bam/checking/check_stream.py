"""A pytest plugin that writes each check's verdict as one JSON line, as soon as it is known.

``bam check`` runs the checks in a child process (``python -m pytest checks -p bam.checking.check_stream
--bam-results FILE``) so that a student module that hangs, floods the terminal or exits cannot
take ``bam`` down. Each line of ``FILE`` is one check::

    {"nodeid": ..., "exercise": "metrics.box_iou", "points": 2, "description": ...,
     "outcome": "passed" | "failed" | "not implemented", "message": ..., "seconds": ...}

Lines are flushed one by one, so even a run that dies half-way (a segfault, ``os._exit``) leaves
the verdicts of the checks that finished. The verdicts themselves come from the grading plugin
(``checks/conftest.py``); this module only streams them.

A streamed verdict is the check's own; whether it scores depends on the rest of its exercise
(``checks/scoring.py``: a library call seen in a later check, a property that a constant output
also has). So when the session ends, every check is written once more with the scoring rules
applied and ``"final": true``; a reader keeps the last line of each ``nodeid``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import pytest

_STREAM = pytest.StashKey[IO[str]]()
_CONFIG: dict[str, pytest.Config] = {}  # the running session's config (one per process)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bam-results",
        metavar="FILE",
        default=None,
        help="(bam check) write one JSON line per check verdict to FILE",
    )


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config
    path = config.getoption("bam_results")
    if path:
        # open for the whole session, closed in pytest_unconfigure
        config.stash[_STREAM] = Path(path).open("w", encoding="utf-8")  # noqa: SIM115


def pytest_unconfigure(config: pytest.Config) -> None:
    stream = config.stash.get(_STREAM, None)
    if stream is not None:
        stream.close()


def _grading_plugin(config: pytest.Config) -> Any:
    """The grading plugin (``checks/conftest.py``) with its ``Grades``, or ``None``."""
    for plugin in config.pluginmanager.get_plugins():
        key = getattr(plugin, "GRADES", None)
        if isinstance(key, pytest.StashKey) and key in config.stash:
            return plugin
    return None


def _grades(config: pytest.Config) -> Any:
    """The ``Grades`` that ``checks/conftest.py`` keeps, or ``None`` if it is not loaded."""
    plugin = _grading_plugin(config)
    return None if plugin is None else config.stash[plugin.GRADES]


def _record(result: Any, final: bool = False) -> str:
    record = {
        "nodeid": result.nodeid,
        "exercise": result.exercise,
        "points": result.points,
        "description": result.description,
        "outcome": result.outcome,
        "message": result.message,
        "seconds": round(result.seconds, 3),
    }
    if final:
        record["final"] = True
    return json.dumps(record) + "\n"


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG.get("config")
    if config is None or report.when != "teardown":
        return
    stream = config.stash.get(_STREAM, None)
    grades = _grades(config)
    if stream is None or grades is None:
        return
    result = grades.results.get(report.nodeid)
    if result is None:  # not a graded check (or deselected)
        return
    stream.write(_record(result))
    stream.flush()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Every verdict again, as it finally scores (``checks/scoring.py``)."""
    config = session.config
    stream = config.stash.get(_STREAM, None)
    plugin = _grading_plugin(config)
    if stream is None or plugin is None or not hasattr(plugin, "final_results"):
        return
    for result in plugin.final_results(config.stash[plugin.GRADES]):
        stream.write(_record(result, final=True))
    stream.flush()
