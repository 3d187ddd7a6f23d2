"""The hint files of ``bam hint`` (``bam/hints/<lesson>.toml``) and the hints a student has seen.

``load_hints()`` reads every ``<lesson>.toml`` of this folder (one table per exercise, ``hints =
[...]`` from a nudge to nearly the answer); ``resolve`` finds an exercise from what was typed;
``load_state``/``save_state`` keep how many hints of each exercise were shown, in
``.bam/hints.json`` of the course folder (or ``$BAM_STATE_DIR``). Nothing here imports torch.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from pathlib import Path

HINTS_FOLDER = Path(__file__).resolve().parent


class HintError(LookupError):
    """An exercise without hints, or a hints file that cannot be read; says which."""


def load_hints(folder: Path = HINTS_FOLDER) -> dict[str, list[str]]:
    """Every exercise's hints: ``{"metrics.box_iou": ["nudge", ..., "near-solution"]}``.

    Raises:
        HintError: if a hints file is not valid TOML or a table has no ``hints`` list of strings.
    """
    hints: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise HintError(f"{path}: not valid TOML ({error})") from None
        for name, table in tables.items():
            levels = table.get("hints") if isinstance(table, dict) else None
            if not isinstance(levels, list) or not all(isinstance(h, str) for h in levels):
                raise HintError(f'{path}: [{name}] needs hints = ["...", ...]')
            hints[f"{path.stem}.{name}"] = [" ".join(level.split()) for level in levels]
    return hints


def resolve(name: str, hints: dict[str, list[str]]) -> str:
    """The full ``lesson.name`` of ``name`` (which may omit the lesson when that is unique).

    Raises:
        HintError: for an unknown or ambiguous name, suggesting close names.
    """
    if name in hints:
        return name
    bare = [full for full in hints if full.split(".", 1)[1] == name]
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        raise HintError(f"{name!r} is in several lessons: {', '.join(bare)}; say which")
    full_names = {full: full for full in hints} | {full.split(".", 1)[1]: full for full in hints}
    matches = difflib.get_close_matches(name, list(full_names), n=3, cutoff=0.6)
    containing = [full for full in hints if name and name in full]  # "dice" -> both dice ones
    close = list(dict.fromkeys([*(full_names[match] for match in matches), *containing]))[:4]
    suggestion = f" Did you mean {' or '.join(close)}?" if close else ""
    lessons = sorted({full.split(".", 1)[0] for full in hints})
    raise HintError(
        f"no hints for {name!r}.{suggestion} Exercises are named lesson.name, e.g. "
        f"{next(iter(hints), 'metrics.box_iou')} (lessons with hints: {', '.join(lessons)})"
    )


class NoCourse(HintError):
    """``bam hint`` ran outside a course folder, with nowhere to remember the hints seen."""


def course_folder(start: Path) -> Path | None:
    """The first of ``start`` and its parents with ``lessons/`` and ``checks/``, or None."""
    here = start.resolve()
    for folder in [here, *here.parents]:
        if (folder / "lessons").is_dir() and (folder / "checks").is_dir():
            return folder
    return None


def default_state_path() -> Path:
    """``$BAM_STATE_DIR/hints.json``, else ``.bam/hints.json`` in the course folder.

    Raises:
        NoCourse: outside a course folder (no ``.bam/`` is left in a random directory).
    """
    if os.environ.get("BAM_STATE_DIR"):
        return Path(os.environ["BAM_STATE_DIR"]) / "hints.json"
    course = course_folder(Path.cwd())
    if course is None:
        raise NoCourse(
            f"{Path.cwd()} is not in a course folder (one with lessons/ and checks/). Run"
            " `bam hint` from your copy of the course: it remembers the hints you have seen"
            " in its .bam/hints.json (or pass --state FILE)"
        )
    return course / ".bam" / "hints.json"


def load_state(path: Path) -> dict[str, int]:
    """Hints seen per exercise; an unreadable file counts as none seen."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    seen = data.get("seen", {}) if isinstance(data, dict) else {}
    return {str(key): int(value) for key, value in seen.items() if isinstance(value, int)}


def save_state(path: Path, seen: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seen": dict(sorted(seen.items()))}, indent=1) + "\n", "utf-8")


def format_hints(exercise: str, levels: list[str], shown: int, new: int) -> str:
    """Hints ``1..shown`` of ``exercise``; those from ``new`` on are marked as new."""
    lines = []
    for number, text in enumerate(levels[:shown], start=1):
        marker = "→" if number >= new else " "
        lines.append(f"{marker} Hint {number}/{len(levels)}: {text}")
    if shown >= len(levels):
        lines.append(
            f"{'That was' if new <= shown else 'You have seen'} the last hint for {exercise}."
            f" `bam check {exercise}` shows the property that still fails."
        )
    else:
        lines.append(f"(run `bam hint {exercise}` again for hint {shown + 1})")
    return "\n".join(lines)


def overview(hints: dict[str, list[str]], seen: dict[str, int]) -> str:
    lines = ["Exercises with hints (seen / available):"]
    for exercise, levels in hints.items():
        lines.append(f"  {exercise:<36} {min(seen.get(exercise, 0), len(levels))}/{len(levels)}")
    lines.append("bam hint EXERCISE shows the next hint of one exercise.")
    return "\n".join(lines)
