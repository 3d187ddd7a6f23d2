"""What the docs say, checked in their sources (no site build needed, so this runs everywhere).

The site must be self-contained: it once cited "the seed report" and "the seed's figure N", a
write-up no reader has. Every page now says in its own words what that write-up got wrong, and
these tests keep the references from coming back, in every source a page is made from (the
Markdown pages, the lesson modules whose docstrings fill the API sections, the hints, the
figure captions of ``bam/plots``) and in the "Questions and experiments" that close each lesson.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# "the seed" as a document (not a random seed): its report, figures, code, or what it did.
SEED_DOCUMENT = re.compile(
    r"\bseed report\b|\bseed's (?:report|figure)|\bthe seed's\b|correcting the seed"
    r"|\bthe seed (?:report|holds|ends|lists|indexed|did|computed|tried|turned|mentions"
    r"|describes|suggests)\b",
    re.IGNORECASE,
)


def page_sources() -> list[Path]:
    """Every file whose text ends up on the docs site."""
    patterns = (
        "docs/**/*.md",
        "lessons/*.py",
        "solutions/*.py",
        "bam/hints/*.toml",
        "bam/plots/*.py",
        "docs/results/*.py",
        "tests/mistakes/**/*.py",  # their docstrings are the pages' "Common mistakes"
        "checks/*.py",  # their docstrings are the pages' "What the checks test"
    )
    found = sorted({path for pattern in patterns for path in REPO.glob(pattern)})
    return [path for path in found if "notebooks" not in path.parts]


def seed_references(text: str) -> list[str]:
    """The places in ``text`` that cite the original write-up as "the seed"."""
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in SEED_DOCUMENT.finditer(text)]


def test_the_seed_pattern_catches_the_old_wording_and_spares_random_seeds() -> None:
    """The pattern finds each form the old pages used, and not the random seeds of a run."""
    old = [
        "the seed report's part 1",
        "(the seed's figure 1-9)",
        "The seed holds out a tenth",
        "the seed's `nn.AdaptiveMaxPool2d((7, 7))`",
        '!!! note "Correcting the seed"',
        "The seed ends its Faster R-CNN part",
    ]
    fine = [
        "for three seeds, then",
        "the same seed gives the same split",
        "the seed chooses the split",
        "a generator seeded with a fixed `seed`",
        "the seed-0 run",
        "--seed S for S = 0, 1, 2",
    ]
    assert all(seed_references(text) for text in old), [t for t in old if not seed_references(t)]
    assert not any(seed_references(text) for text in fine), [t for t in fine if seed_references(t)]


def test_no_page_source_cites_the_seed_report() -> None:
    """No page, docstring, hint or caption refers to "the seed report" or its figures."""
    sources = page_sources()
    assert len(sources) > 20, sources
    found = [
        f"{path.relative_to(REPO)}: ...{snippet}..."
        for path in sources
        for snippet in seed_references(path.read_text(encoding="utf-8"))
    ]
    assert not found, "the site cites a write-up readers do not have:\n" + "\n".join(found)


LESSON_PAGES = sorted((REPO / "docs" / "lessons").glob("*.md"))


def questions_section(text: str) -> str:
    """The "Questions and experiments" section of a lesson page (up to the next ## heading)."""
    match = re.search(r"^## Questions and experiments\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("page", LESSON_PAGES, ids=lambda path: path.stem)
def test_each_lesson_closes_with_questions_and_experiments(page: Path) -> None:
    """3 to 5 numbered items, at least one an experiment with a ``bam``/``pytest`` command."""
    section = questions_section(page.read_text(encoding="utf-8"))
    assert section, f"{page.name} has no '## Questions and experiments' section"
    items = re.findall(r"^\d+\. ", section, re.M)
    assert 3 <= len(items) <= 5, f"{page.name}: {len(items)} questions, expected 3 to 5"
    commands = re.findall(r"^\s*(?:python3 -m )?(bam|pytest) .*$", section, re.M)
    assert commands, f"{page.name}: no experiment gives the command that runs it"


def experiment_commands() -> list[tuple[str, list[str]]]:
    """Every ``bam ...`` command line inside a code block of a "Questions and experiments"."""
    found = []
    for page in LESSON_PAGES:
        section = questions_section(page.read_text(encoding="utf-8"))
        for block in re.findall(r"```bash\n(.*?)```", section, re.S):
            for line in block.splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("bam "):
                    found.append((page.stem, shlex.split(line)))
    return found


def test_experiment_commands_parse_with_the_real_cli() -> None:
    """Each experiment's ``bam`` command is accepted by its command's own parser (nothing runs)."""
    import argparse
    import importlib

    from bam.cli import COMMANDS

    commands = experiment_commands()
    assert len(commands) >= len(LESSON_PAGES), commands
    for page, words in commands:
        argv = words[1:]
        found = [w for w in sorted(COMMANDS, key=len, reverse=True) if tuple(argv[: len(w)]) == w]
        assert found, f"{page}: `{shlex.join(words)}` is no bam command"
        module = importlib.import_module(COMMANDS[found[0]])
        parser = argparse.ArgumentParser(prog="bam " + " ".join(found[0]), exit_on_error=False)
        module.add_arguments(parser)
        try:
            parser.parse_args(argv[len(found[0]) :])
        except (SystemExit, argparse.ArgumentError) as error:
            pytest.fail(f"{page}: `{shlex.join(words)}` is not a valid command ({error})")
