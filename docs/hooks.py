"""MkDocs hooks of the Boxes & Masks site: the parts of each page that come from the package.

The site grows with the course. A lesson page (``docs/lessons/<lesson>.md``) is built only once
``lessons/<lesson>.py`` exists; until then it is left out of the build and of the navigation, and
links to it (``[[lesson:rpn]]``) render as plain text. Pages say *where* generated content goes
with HTML comments, expanded here from the package itself so that they never drift:

``<!-- bam:exercise metrics.box_iou -->``
    the exercise's signature (from the stub) and its hints, from ``bam/hints/<lesson>.toml``
    (the same hints ``bam hint`` shows), as collapsed admonitions, nudge first.
``<!-- bam:missing-exercises -->``
    the same for exercises in the stub's ``__all__`` that the page has no section for.
``<!-- bam:checks -->``
    what the checks test: the docstrings of ``checks/test_<lesson>.py``, grouped by exercise.
``<!-- bam:mistakes -->``
    the known-wrong implementations in ``tests/mistakes/<lesson>/``, from their docstrings.
``<!-- bam:figure NAME -->`` / ``<!-- bam:figures -->``
    one figure, or every figure of ``bam/plots/<lesson>.py`` that no page names.
``<!-- bam:gallery -->``, ``<!-- bam:lesson-table -->``, ``<!-- bam:results NAME -->``
    all figures; the lessons and which of them this copy has; measured results, if saved.

Before the build, figures are drawn with ``bam.plots.save_figures`` into ``docs/figures/`` and
KaTeX (``npm pack katex``, cached in ``~/.cache/boxes-and-masks/``) is unpacked into
``docs/assets/katex/`` (both git-ignored: generated and third-party files are never committed). After each page, any reference to an asset outside the site is a warning, so
``mkdocs build --strict`` fails on it (as does the privacy plugin with ``assets_fetch: false``).
"""

from __future__ import annotations

import ast
import hashlib
import html
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.bam")

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
FIGURES_DIR = DOCS / "figures"
KATEX_DIR = DOCS / "assets" / "katex"
KATEX_VERSION = "0.16.22"
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")

if str(REPO) not in sys.path:  # lessons/, bam/ importable without an install
    sys.path.insert(0, str(REPO))


# ----------------------------------------------------------------------------- the course


def course_order() -> tuple[str, ...]:
    """The lessons in course order (``bam.course.lessons``: read without importing torch)."""
    from bam import course

    try:
        return course.lessons(REPO)
    except course.CourseError as error:
        raise PluginError(str(error)) from None


def lesson_exists(lesson: str) -> bool:
    """A lesson gets its page once its student module exists."""
    return (REPO / "lessons" / f"{lesson}.py").is_file()


def _module_tree(path: Path) -> ast.Module | None:
    if not path.is_file():
        return None
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        raise PluginError(f"{path.relative_to(REPO)} does not parse: {error}") from None


def exercises_of(lesson: str) -> list[str]:
    """The names in the stub's ``__all__``: the lesson's exercises, in order (``bam.course``)."""
    from bam import course

    if not lesson_exists(lesson):
        return []
    _module_tree(REPO / "lessons" / f"{lesson}.py")  # a clear error for a stub that does not parse
    try:
        return list(course.exercises(lesson, REPO))
    except course.CourseError:
        return []


def _parameters(arguments: ast.arguments) -> list[str]:
    """Each parameter of a ``def`` as source text (annotation and default included)."""
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)

    def one(argument: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
        text = prefix + argument.arg
        if argument.annotation is not None:
            text += f": {ast.unparse(argument.annotation)}"
        if default is not None:
            text += (
                f" = {ast.unparse(default)}" if argument.annotation else f"={ast.unparse(default)}"
            )
        return text

    parts = [one(argument, default) for argument, default in zip(positional, defaults, strict=True)]
    if arguments.posonlyargs:
        parts.insert(len(arguments.posonlyargs), "/")
    if arguments.vararg is not None:
        parts.append(one(arguments.vararg, None, "*"))
    elif arguments.kwonlyargs:
        parts.append("*")
    for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        parts.append(one(argument, default))
    if arguments.kwarg is not None:
        parts.append(one(arguments.kwarg, None, "**"))
    return parts


def _def_line(node: ast.FunctionDef, indent: str = "") -> str:
    """``def name(...) -> ...: ...``, one parameter per line when it would be too long."""
    parameters = _parameters(node.args)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    line = f"{indent}def {node.name}({', '.join(parameters)}){returns}: ..."
    if len(line) <= 88:
        return line
    body = "".join(f"{indent}    {parameter},\n" for parameter in parameters)
    return f"{indent}def {node.name}(\n{body}{indent}){returns}: ..."


def signature_of(lesson: str, name: str) -> str | None:
    """Source of an exercise's signature in the stub (``def ...`` / ``class ...``), or None."""
    tree = _module_tree(REPO / "lessons" / f"{lesson}.py")
    for node in tree.body if tree else []:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return _def_line(node)
        if isinstance(node, ast.ClassDef) and node.name == name:
            bases = ", ".join(ast.unparse(base) for base in node.bases)
            lines = [f"class {name}({bases}):" if bases else f"class {name}:"]
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not (
                    item.name.startswith("_") and item.name != "__init__"
                ):
                    lines.append(_def_line(item, indent="    "))
            return "\n".join(lines)
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == name for target in targets):
                annotation = ""
                if isinstance(node, ast.AnnAssign):
                    annotation = f": {ast.unparse(node.annotation)}"
                return f"{name}{annotation} = ..."
    return None


def hints_of(lesson: str) -> dict[str, list[str]]:
    """``bam/hints/<lesson>.toml``: exercise name -> its hints, nudge first."""
    path = REPO / "bam" / "hints" / f"{lesson}.toml"
    if not path.is_file():
        return {}
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PluginError(f"{path.relative_to(REPO)} is not valid TOML: {error}") from None
    return {
        name: [str(hint) for hint in entry.get("hints", [])]
        for name, entry in table.items()
        if isinstance(entry, dict)
    }


@dataclass
class Check:
    """One check of ``checks/test_<lesson>.py``, read from its source."""

    exercise: str
    points: int
    description: str
    function: str


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def checks_of(lesson: str) -> list[Check] | None:
    """The checks of a lesson with their exercise, points and docstring (None: no check file)."""
    tree = _module_tree(REPO / "checks" / f"test_{lesson}.py")
    if tree is None:
        return None
    checks = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            function = decorator.func
            called = (
                function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            )
            if called != "exercise" or not decorator.args:
                continue
            name = ast.literal_eval(decorator.args[0])
            points = 1
            for keyword in decorator.keywords:
                if keyword.arg == "points":
                    points = int(ast.literal_eval(keyword.value))
            if len(decorator.args) > 1:
                points = int(ast.literal_eval(decorator.args[1]))
            description = _first_paragraph(ast.get_docstring(node)) or node.name
            checks.append(Check(name, points, description, node.name))
    return checks


@dataclass
class Mistake:
    """One known-wrong implementation of ``tests/mistakes/<lesson>/``."""

    exercise: str
    description: str
    path: str


def mistakes_of(lesson: str) -> list[Mistake]:
    """The known mistakes of a lesson, from the module docstrings of its mistake files."""
    mistakes = []
    for path in sorted((REPO / "tests" / "mistakes" / lesson).glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = _module_tree(path)
        exercise = ""
        for node in tree.body if tree else []:
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "EXERCISE" for target in node.targets
            ):
                exercise = str(ast.literal_eval(node.value))
        description = " ".join((ast.get_docstring(tree) or path.stem.replace("_", " ")).split())
        mistakes.append(Mistake(exercise, description, path.relative_to(REPO).as_posix()))
    return mistakes


# ----------------------------------------------------------------------------- figures


@dataclass
class FigureInfo:
    """A figure of ``bam.plots``: its PNG name, module and caption."""

    name: str
    module: str
    caption: str


@dataclass
class State:
    """What the hooks learnt this build."""

    figures: dict[str, FigureInfo] = field(default_factory=dict)
    placed_figures: set[str] = field(default_factory=set)  # named by a page's bam:figure
    lessons_built: list[str] = field(default_factory=list)
    figure_seconds: float = 0.0


STATE = State()


def _figure_infos() -> dict[str, FigureInfo]:
    import importlib
    import pkgutil

    import bam.plots

    infos: dict[str, FigureInfo] = {}
    for module_info in sorted(pkgutil.iter_modules(bam.plots.__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bam.plots.{module_info.name}")
        for name, draw in getattr(module, "FIGURES", {}).items():
            caption = _first_paragraph(getattr(draw, "__doc__", None))
            caption = caption or name.replace("-", " ").capitalize() + "."
            infos[name] = FigureInfo(name, module_info.name, caption)
    return infos


def _fingerprint() -> str:
    """Changes whenever code or data that a figure may draw from changes."""
    digest = hashlib.sha256()
    for folder in ("bam", "solutions", "data"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                digest.update(
                    f"{path.relative_to(REPO)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode()
                )
    return digest.hexdigest()


def prebuilt_figures() -> dict[str, FigureInfo] | None:
    """A student release's figures, drawn when it was made (it has no ``solutions/`` to draw
    them with): ``docs/figures/figures.json`` names each PNG's module and docstring."""
    manifest = FIGURES_DIR / "figures.json"
    if (REPO / "solutions").is_dir() or not manifest.is_file():
        return None
    figures = json.loads(manifest.read_text("utf-8"))["figures"]
    return {
        name: FigureInfo(
            name,
            entry["module"],
            _first_paragraph(entry["doc"]) or name.replace("-", " ").capitalize() + ".",
        )
        for name, entry in figures.items()
        if (FIGURES_DIR / f"{name}.png").is_file()
    }


def draw_figures() -> None:
    """Draws every figure into ``docs/figures/`` unless nothing it depends on has changed."""
    prebuilt = prebuilt_figures()
    if prebuilt is not None:
        STATE.figures = prebuilt
        log.info("figures: %d prebuilt in docs/figures/ (a student release)", len(prebuilt))
        return
    from bam.plots import save_figures

    started = time.perf_counter()
    try:
        STATE.figures = _figure_infos()
    except Exception as error:
        raise PluginError(
            f"bam.plots could not be imported: {type(error).__name__}: {error}"
        ) from error
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    stamp = FIGURES_DIR / ".fingerprint"
    fingerprint = _fingerprint()
    wanted = {f"{name}.png" for name in STATE.figures}
    for path in FIGURES_DIR.glob("*.png"):
        if path.name not in wanted:
            path.unlink()
    fresh = os.environ.get("BAM_DOCS_FRESH_FIGURES") == "1"
    have_all = all((FIGURES_DIR / name).is_file() for name in wanted)
    if not fresh and have_all and stamp.is_file() and stamp.read_text() == fingerprint:
        log.info("figures: %d up to date in docs/figures/", len(wanted))
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: extra threads only contend (4x slower on 2 cores)
    try:
        for name in sorted(STATE.figures):
            one_started = time.perf_counter()
            try:
                save_figures(FIGURES_DIR, [name])
            except Exception as error:
                message = f"figure {name!r} failed: {type(error).__name__}: {error}"
                raise PluginError(message) from error
            seconds = time.perf_counter() - one_started
            if seconds > 5:
                log.info("figure %s took %.1f s (figures should take < 2 s)", name, seconds)
    finally:
        torch.set_num_threads(threads)
    stamp.write_text(fingerprint)
    STATE.figure_seconds = time.perf_counter() - started
    log.info("figures: drew %d in %.1f s", len(wanted), STATE.figure_seconds)


# ----------------------------------------------------------------------------- KaTeX


def _katex_ready() -> bool:
    return all((KATEX_DIR / name).is_file() for name in KATEX_FILES) and any(
        (KATEX_DIR / "fonts").glob("*.woff2")
    )


def _cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "boxes-and-masks"
    return Path(os.environ.get("BAM_DOCS_CACHE", default))


def _npm_katex() -> Path:
    """The KaTeX package from the npm registry (``npm pack``), cached between builds."""
    cache = _cache_dir()
    tarball = cache / f"katex-{KATEX_VERSION}.tgz"
    if tarball.is_file():
        return tarball
    npm = shutil.which("npm")
    if npm is None:
        raise PluginError(
            f"KaTeX is missing and npm is not installed: the build fetches katex@{KATEX_VERSION}"
            " with `npm pack` (apt-get install npm), or put its dist/ files (katex.min.js,"
            " katex.min.css, contrib/auto-render.min.js, fonts/) in docs/assets/katex/"
        )
    cache.mkdir(parents=True, exist_ok=True)
    log.info("KaTeX: npm pack katex@%s into %s", KATEX_VERSION, cache)
    result = subprocess.run(
        [npm, "pack", f"katex@{KATEX_VERSION}", "--pack-destination", str(cache)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not tarball.is_file():
        raise PluginError(f"`npm pack katex@{KATEX_VERSION}` failed:\n{result.stderr.strip()}")
    return tarball


def provide_katex() -> None:
    """Puts KaTeX (script, style, auto-render, fonts) under ``docs/assets/katex/``."""
    if _katex_ready():
        return
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(_npm_katex()) as archive:
            archive.extractall(scratch, filter="data")
        source = Path(scratch) / "package" / "dist"
        staging = Path(scratch) / "katex"
        for name in KATEX_FILES:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, staging / name)
        shutil.copytree(source / "fonts", staging / "fonts", symlinks=False)
        if KATEX_DIR.exists():
            shutil.rmtree(KATEX_DIR)
        KATEX_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, KATEX_DIR)
    if not _katex_ready():
        raise PluginError(f"KaTeX files are incomplete in {KATEX_DIR}")


# ----------------------------------------------------------------------------- mkdocs events

STATIC_NAV: list[Any] = [
    {"Home": "index.md"},
    {"Getting started": "getting-started.md"},
    {"Conventions": "conventions.md"},
    "LESSONS",
    {"Faster R-CNN and its relatives": "comparison.md"},
    {"All figures": "figures.md"},
    {
        "For instructors": [
            {"Overview": "instructors.md"},
            {"Grading a class": "instructors-grading.md"},
        ]
    },
]


def _existing(entry: Any) -> Any:
    """A nav entry without the pages that are not in docs/ (None when nothing is left)."""
    if isinstance(entry, str):
        return entry if (DOCS / entry).is_file() else None
    if isinstance(entry, list):
        kept = [item for item in map(_existing, entry) if item is not None]
        return kept or None
    ((title, target),) = entry.items()
    target = _existing(target)
    return {title: target} if target is not None else None


def on_config(config: Any) -> Any:
    """Builds the navigation: the fixed pages, and a page for each lesson that exists."""
    STATE.lessons_built = [lesson for lesson in course_order() if lesson_exists(lesson)]
    order = course_order()
    lessons = [
        {f"{order.index(lesson) + 1}. {_short_title(lesson)}": f"lessons/{lesson}.md"}
        for lesson in STATE.lessons_built
    ]
    nav: list[Any] = []
    for entry in STATIC_NAV:
        if entry == "LESSONS":
            if lessons:
                nav.append({"Lessons": lessons})
        elif _existing(entry) is not None:
            nav.append(_existing(entry))
    config["nav"] = nav
    return config


def on_pre_build(config: Any) -> None:
    provide_katex()
    draw_figures()
    from bam.release.student import site_notebooks

    try:  # each lesson page links its notebook (docs/notebooks/, git-ignored like the figures)
        log.info("notebooks: %d in docs/notebooks/", site_notebooks(REPO, DOCS / "notebooks"))
    except Exception as error:
        raise PluginError(f"the lesson notebooks: {type(error).__name__}: {error}") from error


def on_files(files: Any, config: Any) -> Any:
    """Leaves out the pages of lessons whose module has not landed yet."""
    STATE.placed_figures = {
        name
        for path in DOCS.rglob("*.md")
        for name in re.findall(r"<!--\s*bam:figure\s+([\w-]+)\s*-->", path.read_text("utf-8"))
    }
    for file in list(files):
        match = re.fullmatch(r"lessons/(\w+)\.md", file.src_uri)
        if match and match.group(1) not in STATE.lessons_built:
            files.remove(file)
    return files


MARKER = re.compile(r"^([ \t]*)<!--\s*bam:([\w-]+)(?:\s+([^>]*?))?\s*-->", flags=re.MULTILINE)
LESSON_LINK = re.compile(r"\[\[lesson:(\w+)\]\]")


def _relative(page: Any, target: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(page.file.src_uri) or ".")


def _lesson_page_text(lesson: str) -> str:
    path = DOCS / "lessons" / f"{lesson}.md"
    if not path.is_file():
        raise PluginError(
            f"docs/lessons/{lesson}.md is missing: every lesson of COURSE_ORDER needs a page"
        )
    return path.read_text(encoding="utf-8")


def _lesson_title(lesson: str) -> str:
    text = _lesson_page_text(lesson)
    heading = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
    return heading.group(1).strip() if heading else lesson


def _short_title(lesson: str) -> str:
    """The page's title without its "Lesson N — " prefix."""
    return re.sub(r"^Lesson \d+\s*[—:-]\s*", "", _lesson_title(lesson))


def front_matter(text: str, where: str = "a page") -> dict[str, Any]:
    """A page's YAML front matter (``---`` ... ``---``), as MkDocs reads it.

    MkDocs shows front matter that is not valid YAML as text (a "description: ..." heading),
    and ``--strict`` does not notice: here it is an error.
    """
    if not text.startswith("---\n"):
        return {}
    import yaml

    try:
        meta = yaml.safe_load(text[4:].split("\n---", 1)[0])
    except yaml.YAMLError as error:
        raise PluginError(f"{where}: the front matter is not valid YAML ({error})") from None
    if not isinstance(meta, dict):
        raise PluginError(f"{where}: the front matter is not a YAML mapping")
    return meta


def _lesson_description(lesson: str) -> str:
    meta = front_matter(_lesson_page_text(lesson), f"docs/lessons/{lesson}.md")
    return str(meta.get("description", "")).strip()


def _lesson_link(page: Any, lesson: str) -> str:
    order = course_order()
    if lesson not in order:
        log.warning("%s links to an unknown lesson %r", page.file.src_uri, lesson)
        return lesson
    title = _lesson_title(lesson)
    if lesson in STATE.lessons_built:
        return f"[{title}]({_relative(page, f'lessons/{lesson}.md')})"
    return f"{title} (not in this copy of the course yet)"


def _indent(text: str, spaces: int = 4) -> str:
    return "\n".join((" " * spaces + line) if line.strip() else "" for line in text.splitlines())


def _figure_markdown(page: Any, name: str) -> str:
    info = STATE.figures[name]
    # raw HTML is not rewritten by mkdocs: the path is relative to the page's URL, not its file
    source = posixpath.relpath(f"figures/{name}.png", page.url.rstrip("/") or ".")
    alt = html.escape(re.sub(r"`+([^`]+)`+", r"\1", info.caption), quote=True)
    caption = re.sub(r"`+([^`]+)`+", r"<code>\1</code>", html.escape(info.caption, quote=False))
    # the image links to itself: a figure shrunk to a phone's column opens at full size
    return (
        f'<figure class="bam-figure" id="figure-{name}">\n'
        f'  <a href="{source}" title="Open the full-size image"><img src="{source}" alt="{alt}"'
        "></a>\n"
        f"  <figcaption>{caption}</figcaption>\n"
        "</figure>\n"
    )


def _exercise_markdown(lesson: str, name: str, hints: dict[str, list[str]]) -> str:
    parts = []
    signature = signature_of(lesson, name)
    if signature:
        parts.append(f"```python\n{signature}\n```")
    exercise_hints = hints.get(name, [])
    for level, hint in enumerate(exercise_hints, start=1):
        title = "Hint 1 (a nudge)" if level == 1 else f"Hint {level}"
        if level == len(exercise_hints) and level > 1:
            title = f"Hint {level} (nearly the answer)"
        parts.append(f'??? hint "{title}"\n{_indent(hint)}')
    if exercise_hints:
        parts.append(f"The same hints, one at a time, in a terminal: `bam hint {lesson}.{name}`.")
    else:
        log.info("no hints for %s.%s in bam/hints/%s.toml", lesson, name, lesson)
    return "\n\n".join(parts) + "\n"


def _checks_markdown(lesson: str, order: list[str]) -> str:
    checks = checks_of(lesson)
    if checks is None:
        return (
            f'!!! warning "No checks yet"\n    `checks/test_{lesson}.py` is not in this copy of the'
            " course yet, so nothing grades this lesson.\n"
        )
    grouped: dict[str, list[Check]] = {}
    for check in checks:
        grouped.setdefault(check.exercise, []).append(check)
    order = [f"{lesson}.{name}" for name in order]
    names = [name for name in order if name in grouped] + sorted(set(grouped) - set(order))
    total = sum(check.points for check in checks)
    lines = [
        f"{len(checks)} checks worth {total} points, from `checks/test_{lesson}.py`. Run them with"
        f" `pytest checks --exercise {lesson}` (or `--exercise {lesson}.<name>` for one exercise).",
        "",
    ]
    for name in names:
        group = grouped[name]
        points = sum(check.points for check in group)
        lines.append(f"**`{name.split('.', 1)[1]}`** ({points} points)\n")
        lines.extend(f"- {check.description} *({check.points} pt)*" for check in group)
        lines.append("")
    untested = [name for name in order if name not in grouped]
    if untested:
        listed = ", ".join(f"`{name}`" for name in untested)
        lines.append(f'!!! warning "Not graded yet"\n    No check grades {listed} yet.\n')
    return "\n".join(lines)


def _mistakes_markdown(lesson: str, order: list[str]) -> str:
    mistakes = mistakes_of(lesson)
    if not mistakes:
        return ""
    grouped: dict[str, list[Mistake]] = {}
    for mistake in mistakes:
        grouped.setdefault(mistake.exercise.split(".", 1)[-1], []).append(mistake)
    lines = [
        "Each of these wrong versions is in `tests/mistakes/` and the checks reject every one"
        " (the course's own tests make sure of it):",
        "",
    ]
    for exercise in [name for name in order if name in grouped] + sorted(set(grouped) - set(order)):
        lines.append(f"**`{exercise}`**\n")
        lines.extend(
            f"- {mistake.description} <small>(`{mistake.path}`)</small>"
            for mistake in grouped[exercise]
        )
        lines.append("")
    return "\n".join(lines)


def _lesson_table(page: Any) -> str:
    lines = ["| # | Lesson (module) | What you build |", "|---|---|---|"]
    for number, lesson in enumerate(course_order(), start=1):
        title = _short_title(lesson)
        if lesson in STATE.lessons_built:
            title = f"[{title}]({_relative(page, f'lessons/{lesson}.md')})"
        else:
            title += " *(not in this copy of the course yet)*"
        description = _lesson_description(lesson)
        lines.append(f"| {number} | {title} (`{lesson}`) | {description} |")
    return "\n".join(lines) + "\n"


def _gallery(page: Any) -> str:
    if not STATE.figures:
        return "No figures in this copy of the course yet.\n"
    parts = []
    for module in sorted({info.module for info in STATE.figures.values()}):
        parts.append(f"## `bam/plots/{module}.py`\n")
        for name in sorted(n for n, info in STATE.figures.items() if info.module == module):
            parts.append(_figure_markdown(page, name))
    return "\n".join(parts)


RELATIVE_LINK = re.compile(r"(\]\()(?![a-z][a-z0-9+.-]*:|/|#)([^)\s]+)(\))")
# A stored image on a line of its own, linking to itself: ``[![ALT](SRC)](SRC)``.
RESULT_IMAGE = re.compile(r"^\[!\[([^\]]*)\]\(([^)\s]+)\)\]\(\2\)[ \t]*$", re.M)
# Runs of `bam compare detectors` name their images MODEL-detections.png, MODEL-loss-curves.png.
RESULT_MODELS = {
    "faster_rcnn": "Faster R-CNN (course)",
    "yolo": "YOLO (course, lesson 10)",
    "torchvision": "Faster R-CNN (torchvision)",
}


def _result_caption(alt: str, source: str) -> str:
    """The caption of a stored result image: its alt text, led by the model it shows."""
    model = re.match(r"(\w+?)-(?:detections|loss-curves)\.png$", Path(source).name)
    label = RESULT_MODELS.get(model.group(1), "") if model else ""
    return alt if not label or alt.startswith(label) else f"{label}: {alt[:1].lower()}{alt[1:]}"


def _result_figures(text: str, shown: set[str]) -> str:
    """Each stored image of a results file as a captioned figure, once per page.

    An image already shown on the page (``shown``: its paths under docs/results/) is dropped,
    and a ``MODEL-detections.png`` whose ``MODEL-loss-curves.png`` exists and is not shown yet
    gets the loss curves first: the results text promises both.
    """

    def figure(alt: str, source: str) -> str:
        shown.add(source)
        return (
            f'<figure class="bam-figure" markdown>\n[![{alt}]({source})]({source})\n'
            f"<figcaption>{html.escape(_result_caption(alt, source), quote=False)}</figcaption>\n"
            "</figure>"
        )

    def replace(found: re.Match[str]) -> str:
        alt, source = found.group(1), found.group(2)
        if source in shown:
            return ""
        curves = source.replace("-detections.png", "-loss-curves.png")
        before = ""
        if curves != source and curves not in shown and (DOCS / "results" / curves).is_file():
            before = figure("losses per step and epoch, and test mAP, seed 0", curves) + "\n\n"
        return before + figure(alt, source)

    return re.sub(r"\n{3,}", "\n\n", RESULT_IMAGE.sub(replace, text))


def _results(name: str, page: Any = None, shown: set[str] | None = None) -> str:
    """``docs/results/NAME.md``, its images as captioned figures (each once per page, ``shown``)
    and its links (written relative to docs/results/) made page-relative."""
    path = DOCS / "results" / f"{name}.md"
    if path.is_file():
        text = _result_figures(path.read_text(encoding="utf-8"), set() if shown is None else shown)
        if page is None:
            return text
        return RELATIVE_LINK.sub(
            lambda found: found.group(1) + _relative(page, f"results/{found.group(2)}") + ")",
            text,
        )
    return (
        '!!! warning "Not measured yet"\n'
        "    No measured numbers are in this copy of the docs yet. They come from a real run,"
        f" saved as `docs/results/{name}.md` (see `docs/results/README.md`);"
        " nothing here is estimated or copied from elsewhere.\n"
    )


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Expands the ``<!-- bam:... -->`` markers and ``[[lesson:...]]`` links of a page."""
    front_matter(page.file.content_string, f"docs/{page.file.src_uri}")
    match = re.fullmatch(r"lessons/(\w+)\.md", page.file.src_uri)
    lesson = match.group(1) if match else None
    hints = hints_of(lesson) if lesson else {}
    # exercises in the order the page teaches them, then any others of the stub's __all__
    taught = re.findall(rf"<!--\s*bam:exercise\s+{lesson}\.(\w+)\s*-->", markdown) if lesson else []
    order = taught + [
        name for name in (exercises_of(lesson) if lesson else []) if name not in taught
    ]
    shown_exercises: set[str] = set()
    shown_results: set[str] = set()  # images of docs/results/ already on this page

    def expand_indented(found: re.Match[str]) -> str:
        """A marker indented (inside a list item) gets its whole expansion indented alike."""
        indent = found.group(1)
        text = expand(found.group(2), (found.group(3) or "").strip())
        return "\n".join(indent + line if line.strip() else line for line in text.split("\n"))

    def expand(kind: str, argument: str) -> str:
        if kind == "lesson-table":
            return _lesson_table(page)
        if kind == "gallery":
            return _gallery(page)
        if kind == "results":
            return _results(argument, page, shown_results)
        if kind == "figure":
            if argument not in STATE.figures:
                log.warning(
                    "%s shows figure %r, which bam.plots does not define",
                    page.file.src_uri,
                    argument,
                )
                return ""
            return _figure_markdown(page, argument)
        if lesson is None:
            log.warning("%s: <!-- bam:%s --> only works on a lesson page", page.file.src_uri, kind)
            return ""
        if kind == "exercise":
            exercise_lesson, _, name = argument.partition(".")
            if exercise_lesson != lesson or name not in exercises_of(lesson):
                log.warning(
                    "%s: %r is not an exercise of lessons/%s.py (its __all__: %s)",
                    page.file.src_uri,
                    argument,
                    lesson,
                    exercises_of(lesson),
                )
                return ""
            shown_exercises.add(name)
            return _exercise_markdown(lesson, name, hints)
        if kind == "missing-exercises":
            return "\x00MISSING\x00"  # filled in once every section has been seen
        if kind == "figures":
            names = [
                name
                for name, info in sorted(STATE.figures.items())
                if info.module == lesson and name not in STATE.placed_figures
            ]
            return "\n".join(_figure_markdown(page, name) for name in names)
        if kind == "checks":
            return _checks_markdown(lesson, order)
        if kind == "mistakes":
            return _mistakes_markdown(lesson, order)
        log.warning("%s: unknown marker <!-- bam:%s -->", page.file.src_uri, kind)
        return ""

    markdown = MARKER.sub(expand_indented, markdown)
    if lesson is not None:
        missing = [name for name in exercises_of(lesson) if name not in shown_exercises]
        sections = "\n".join(
            f"### `{name}`\n\n{_exercise_markdown(lesson, name, hints)}" for name in missing
        )
        if missing:
            log.info(
                "%s: no written section for %s; showing signature and hints",
                page.file.src_uri,
                missing,
            )
        markdown = markdown.replace("\x00MISSING\x00", sections)
    markdown = drop_empty_headings(markdown)
    return LESSON_LINK.sub(lambda found: _lesson_link(page, found.group(1)), markdown)


HEADING = re.compile(r"^(#{1,6})\s+\S")


def drop_empty_headings(markdown: str) -> str:
    """The page without its headings that have nothing under them.

    A section whose only content is a marker that expanded to nothing (the "Common mistakes" of
    a lesson whose known mistakes live in ``tests/``, which a student copy does not ship) would
    show as a heading followed directly by the next one. Fenced code is left alone.
    """
    lines = markdown.split("\n")
    fenced, levels = False, []  # levels[i]: heading level of line i (0: not a heading)
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        found = None if fenced else HEADING.match(line)
        levels.append(len(found.group(1)) if found else 0)
    keep = [True] * len(lines)
    following = 7  # level of the next kept heading after the content seen so far (7: the end)
    content = False  # some non-blank, kept line since that heading
    for index in range(len(lines) - 1, -1, -1):
        level = levels[index]
        if not level:
            content = content or bool(lines[index].strip())
            continue
        if not content and (following <= level or following == 7):
            keep[index] = False
            continue
        following, content = level, False
    return "\n".join(line for line, kept in zip(lines, keep, strict=True) if kept)


EXTERNAL_SOURCE = re.compile(
    r"""<(?:img|script|iframe|source|video|audio|embed|object)\b[^>]*?\s(?:src|data)=["']?((?:https?:)?//[^"'\s>]+)""",
    flags=re.IGNORECASE,
)
LINK_TAG = re.compile(r"<link\b[^>]*>", flags=re.IGNORECASE)
LINK_HREF = re.compile(r"""\shref=["']?((?:https?:)?//[^"'\s>]+)""", flags=re.IGNORECASE)
NOT_LOADED = re.compile(
    r"""\srel=["']?(?:canonical|alternate|author|license)\b""", flags=re.IGNORECASE
)


def external_assets(html: str) -> list[str]:
    """URLs of assets (images, scripts, styles, fonts, frames) a page would load from elsewhere."""
    urls = EXTERNAL_SOURCE.findall(html)
    for tag in LINK_TAG.findall(html):
        href = LINK_HREF.search(tag)
        if href and not NOT_LOADED.search(tag):
            urls.append(href.group(1))
    urls += re.findall(r"""url\(\s*["']?((?:https?:)?//[^"')\s]+)""", html, flags=re.IGNORECASE)
    return urls


def on_post_page(output: str, page: Any, config: Any) -> str:
    """Warns (so a strict build fails) on any asset that is not served by the site itself."""
    for url in external_assets(output):
        log.warning(
            "%s loads %s from outside the site; the docs must work offline", page.file.src_uri, url
        )
    return output
