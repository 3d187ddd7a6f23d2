"""The lesson notebooks: built from the lessons and their pages, graded by the same checks.

Fast tests build the notebooks and convert cells to modules (no kernel); the others run Jupyter
kernels (nbclient, the ``python3`` kernel of ipykernel) in a scratch copy of the course, whose
``lessons/`` the notebooks' ``check()`` writes into. The last one executes every lesson's
notebook with the reference code in its exercise cells, in course order, every check passing.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from bam import course as facts
from bam.checking.runner import run_checks
from bam.notebooks import cells as nbcells
from bam.notebooks.build import build_notebooks, lesson_notebook
from bam.notebooks.markdown import notebook_name, parse_page
from bam.release import gradescope
from bam.release.student import make_student_release, site_notebooks
from tests.grading import REPO_ROOT

LESSONS = list(facts.lessons(REPO_ROOT))


def _stub(lesson: str) -> str:
    return (REPO_ROOT / "lessons" / f"{lesson}.py").read_text("utf-8")


def _notebook(lesson: str, solution: bool = False) -> dict:
    page = (REPO_ROOT / "docs" / "lessons" / f"{lesson}.md").read_text("utf-8")
    reference = (REPO_ROOT / "solutions" / f"{lesson}.py").read_text("utf-8") if solution else None
    return lesson_notebook(REPO_ROOT, lesson, _stub(lesson), page, reference)


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _exercise_cell(notebook: dict, exercise: str) -> dict:
    (cell,) = [
        c for c in notebook["cells"] if c["metadata"].get("bam", {}).get("exercise") == exercise
    ]
    return cell


def _definition(source: str, name: str) -> str:
    """The text of ``name``'s top-level definition in a module."""
    for node in ast.parse(source).body:
        if name in facts.defined_names(ast.Module(body=[node], type_ignores=[])):
            return ast.get_source_segment(source, node) or ""
    raise KeyError(name)


# ----------------------------------------------------------------------------- building


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_notebook_has_a_cell_and_a_check_per_exercise(lesson):
    nbformat = pytest.importorskip("nbformat")
    notebook = _notebook(lesson)
    nbformat.validate(nbformat.from_dict(notebook))
    cells = notebook["cells"]
    assert len({cell["id"] for cell in cells}) == len(cells)
    exercises = [c["metadata"]["bam"]["exercise"] for c in cells if "bam" in c["metadata"]]
    assert sorted(exercises) == sorted(f"{lesson}.{name}" for name in facts.exercises(lesson))
    for index, cell in enumerate(cells):
        if "exercise" in cell["metadata"].get("tags", []):
            exercise = cell["metadata"]["bam"]["exercise"]
            assert _source(cells[index + 1]) == f'check("{exercise}")'
            name = exercise.split(".", 1)[1]
            assert ast.dump(ast.parse(_source(cell)).body[-1]) == ast.dump(
                ast.parse(_definition(_stub(lesson), name)).body[0]
            ), f"{exercise}: its cell is not the stub's definition"
    assert (
        _source(cells[1])
        == f'from bam.notebooks import check, figure, hint, setup\n\nsetup("{lesson}")'
    )
    assert _source(cells[-1]) == f'check("{lesson}")'
    given = "\n".join(_source(c) for c in cells if "given" in c["metadata"].get("tags", []))
    assert "from ." not in given and "__future__" not in given
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert "<!--" not in text and "::: " not in text and "](../notebooks/" not in text


def test_the_page_becomes_the_notebooks_markdown():
    page = """---
description: "x"
---
# Lesson 6 — Anchors

In Jupyter: [`06-rpn.ipynb`](../notebooks/06-rpn.ipynb) is this lesson as a notebook.

## The idea

See [[lesson:metrics]] and [boxes](../conventions.md#boxes).

<!-- bam:figure anchor-labels -->

!!! note "A note"
    Indented body.

```bash
# not a heading
```

## Exercises

Open it.

### `nms`

Suppress.

<!-- bam:exercise rpn.nms -->

## What the checks test

<!-- bam:checks -->

## References

- A paper.
"""
    cut = parse_page(page, "rpn", LESSONS, own_figures=["proposals-nms"])
    text = "\n\n".join(cut.before)
    assert cut.title == "Lesson 6 — Anchors" and "06-rpn.ipynb" not in text
    assert "[lesson 3, metrics](03-metrics.ipynb)" in text
    assert "(../docs/conventions.md#boxes)" in text
    assert "![anchor-labels](../docs/figures/anchor-labels.png)" in text
    assert "> **A note**\n>\n> Indented body." in text
    assert "# not a heading" in text and cut.figures == ["anchor-labels"]
    assert cut.between == "## Exercises\n\nOpen it."
    assert cut.exercises == {"nms": "### `nms`\n\nSuppress."}
    assert cut.after == ["## References\n\n- A paper."]


def test_building_twice_gives_the_same_files_and_drops_stale_ones(tmp_path):
    first = build_notebooks(REPO_ROOT, tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "00-renamed.ipynb").write_text("{}", "utf-8")
    second = build_notebooks(REPO_ROOT, tmp_path / "b")
    assert [p.name for p in first] == [notebook_name(i, n) for i, n in enumerate(LESSONS, 1)]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [p.name for p in second]


def test_the_site_links_each_lessons_notebook(tmp_path):
    assert site_notebooks(REPO_ROOT, tmp_path) == len(LESSONS)
    for number, lesson in enumerate(LESSONS, start=1):
        name = notebook_name(number, lesson)
        page = (REPO_ROOT / "docs" / "lessons" / f"{lesson}.md").read_text("utf-8")
        assert f"](../notebooks/{name})" in page, f"docs/lessons/{lesson}.md does not link {name}"
        assert (tmp_path / name).is_file()


def test_the_release_ships_the_notebooks_and_lets_the_student_commit_them(tmp_path):
    out = tmp_path / "release"
    make_student_release(REPO_ROOT, out, docs=False, log=lambda note: None)
    names = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert names == [notebook_name(i, n) for i, n in enumerate(LESSONS, 1)]
    for path in (out / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text("utf-8"))["cells"]:
            if "exercise" in cell["metadata"].get("tags", []):
                node = ast.parse(_source(cell)).body[-1]
                assert nbcells.untouched(node), f"{path.name}: {cell['id']} is not a stub"
    gitignore = (out / ".gitignore").read_text("utf-8")
    assert "notebooks" not in gitignore


@pytest.mark.parametrize("lesson", LESSONS)
def test_stubs_are_untouched_and_solutions_are_not(lesson):
    stub = nbcells.top_level(ast.parse(_stub(lesson)))
    solution = (REPO_ROOT / "solutions" / f"{lesson}.py").read_text("utf-8")
    done = nbcells.top_level(ast.parse(solution))
    for name in facts.exercises(lesson):
        assert nbcells.untouched(stub[name][-1]), f"{lesson}.{name}: the stub counts as worked on"
        assert not nbcells.untouched(done[name][-1]), (
            f"{lesson}.{name}: the solution counts as a stub"
        )


# ----------------------------------------------------------------------------- cells to module

BOX_IOU = _definition((REPO_ROOT / "solutions" / "metrics.py").read_text("utf-8"), "box_iou")
MASK_IOU = _definition((REPO_ROOT / "solutions" / "metrics.py").read_text("utf-8"), "mask_iou")
METRICS = list(facts.exercises("metrics"))


def test_cells_become_the_module_cell_by_cell():
    sources = [
        "import torch\nx = torch.zeros(2, 4)",
        "def box_iou(boxes1, boxes2:\n    return",  # a half-typed cell: does not parse
        BOX_IOU + "\n\nbox_iou(x, x)\nresult = box_iou(x, x)\nprint(result)\nEPS = 1e-6",
        "for i in range(3):\n    print(mask_iou(i))",  # scratch
        "def mask_iou(pred, target):\n    return 0",
        "def mask_iou(pred, target):\n    return 1",  # the last definition wins
    ]
    chosen = nbcells.choose(sources, METRICS)
    assert chosen.cells["box_iou"].index == 3 and chosen.cells["mask_iou"].index == 6
    assert "cell 2 does not parse: skipped" in chosen.notes
    assert any("cell 3: kept its definitions only" in note for note in chosen.notes)
    text, notes = nbcells.notebook_first(_stub("metrics"), chosen, ["box_iou", "mask_iou"])
    module = ast.parse(text)
    assert ast.dump(ast.parse(_definition(text, "box_iou"))) == ast.dump(ast.parse(BOX_IOU))
    assert "return 1" in _definition(text, "mask_iou") and "EPS = 1e-6" in text
    assert not [node for node in module.body if isinstance(node, ast.Expr | ast.For)][1:]
    assert "result =" not in text and notes == []
    assert nbcells.untouched(nbcells.top_level(module)["dice_coefficient"][0])


def test_a_stub_cell_never_undoes_a_finished_exercise_of_the_file():
    finished = nbcells.merge(_stub("metrics"), {"box_iou": nbcells.parse_cell(BOX_IOU)})
    stub_cell = _definition(_stub("metrics"), "box_iou")
    chosen = nbcells.choose([stub_cell, MASK_IOU], METRICS)
    text, notes = nbcells.notebook_first(finished, chosen, METRICS)
    assert _definition(text, "box_iou") == BOX_IOU and _definition(text, "mask_iou") == MASK_IOU
    assert notes == ["box_iou: its cell is still a stub, the file's finished one is kept"]


def test_a_submitted_py_wins_where_both_did_an_exercise():
    module = nbcells.merge(_stub("metrics"), {"box_iou": nbcells.parse_cell(BOX_IOU)})
    wrong = "def box_iou(boxes1, boxes2):\n    return boxes1[:, :1] * 0"
    chosen = nbcells.choose([wrong, MASK_IOU], METRICS)
    text, taken, notes = nbcells.module_first(module, _stub("metrics"), chosen, METRICS)
    assert taken == ["mask_iou"] and notes == []
    assert _definition(text, "box_iou") == BOX_IOU and _definition(text, "mask_iou") == MASK_IOU
    broken, stub = "def box_iou(:\n", _stub("metrics")
    text, taken, notes = nbcells.module_first(broken, stub, chosen, METRICS)
    assert sorted(taken) == ["box_iou", "mask_iou"] and "does not parse" in notes[0]


def _scratch_course(folder: Path) -> Path:
    """A copy of the course whose ``lessons/`` a notebook or a grader may write into."""
    course = folder / "course"
    course.mkdir()
    for name in ("lessons", "checks"):
        shutil.copytree(
            REPO_ROOT / name, course / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copyfile(REPO_ROOT / "pyproject.toml", course / "pyproject.toml")
    for name in ("data", "given"):
        (course / name).symlink_to(REPO_ROOT / name)
    (course / "notebooks").mkdir()
    return course


def _with_cells(
    notebook: dict, changes: dict[str, str], scratch: list[tuple[int, str]] = ()
) -> str:
    """The notebook's file text with some exercise cells changed and scratch cells inserted."""
    for exercise, source in changes.items():
        _exercise_cell(notebook, exercise)["source"] = source
    for index, source in scratch:
        cell = {
            "cell_type": "code",
            "execution_count": None,
            "id": f"scratch-{index}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        notebook["cells"].insert(index, cell)
    return json.dumps(notebook)


def test_gradescope_grades_a_notebook_even_with_a_broken_scratch_cell(tmp_path):
    course = _scratch_course(tmp_path)
    submission = tmp_path / "submission"
    (submission / "repo" / "notebooks" / ".ipynb_checkpoints").mkdir(parents=True)
    everything = _with_cells(_notebook("metrics", solution=True), {})
    checkpoint = (
        submission / "repo" / "notebooks" / ".ipynb_checkpoints" / "03-metrics-checkpoint.ipynb"
    )
    checkpoint.write_text(everything, "utf-8")  # never looked at
    handed_in = _with_cells(
        _notebook("metrics"),
        {"metrics.box_iou": BOX_IOU + "\n\nprint(box_iou(torch.zeros(1, 4), torch.ones(1, 4)))"},
        scratch=[(3, "def mask_iou(pred, target:\n    pass"), (4, "raise SystemExit('scratch')")],
    )
    (submission / "repo" / "notebooks" / "03-metrics.ipynb").write_text(handed_in, "utf-8")
    (submission / "rpn.ipynb").write_text("{not json", "utf-8")
    (submission / "vgg.ipynb").write_text("[" * 100_000, "utf-8")
    notes: list[str] = []
    chosen = gradescope.collect_submission(submission, course / "lessons", notes)
    assert chosen == {"metrics": submission / "repo" / "notebooks" / "03-metrics.ipynb"}
    assert any("graded box_iou from the notebook" in note for note in notes)
    assert any(note.startswith("rpn.ipynb: not read as a notebook") for note in notes)
    assert any(note.startswith("vgg.ipynb: not read as a notebook") for note in notes)
    assert (course / "lessons" / "rpn.py").read_text("utf-8") == _stub("rpn")
    run = run_checks(course, ["metrics"])
    outcomes = {e: {v.outcome for v in vs} for e, vs in run.by_exercise().items()}
    assert outcomes["metrics.box_iou"] == {"passed"}, run.output_tail
    assert outcomes["metrics.mask_iou"] == {"not implemented"}


# ----------------------------------------------------------------------------- in a kernel


def _execute(notebook: dict | str, course: Path, monkeypatch, strict: bool) -> dict:
    """Runs every cell in a ``python3`` kernel started in the course's ``notebooks/``."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    text = notebook if isinstance(notebook, str) else json.dumps(notebook)
    monkeypatch.setenv("BAM_NOTEBOOK_STRICT", "1" if strict else "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("BAM_STATE_DIR", str(course / ".bam"))
    parsed = nbformat.reads(text, as_version=4)
    client = nbclient.NotebookClient(
        parsed,
        timeout=600,
        kernel_name="python3",
        allow_errors=not strict,
        resources={"metadata": {"path": str(course / "notebooks")}},
    )
    client.execute()
    return json.loads(nbformat.writes(parsed))


def _output(notebook: dict, cell_id: str) -> str:
    (cell,) = [c for c in notebook["cells"] if c["id"] == cell_id]
    parts = []
    for output in cell["outputs"]:
        parts.append("".join(output.get("text", "")))
        parts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        parts += list(output.get("data", {}))
    return "\n".join(parts)


def test_check_in_a_notebook_grades_its_cells_in_the_lesson_module(tmp_path, monkeypatch):
    course = _scratch_course(tmp_path)
    text = _with_cells(
        _notebook("metrics"),
        {"metrics.box_iou": BOX_IOU + "\n\nbox_iou(torch.zeros(1, 4), torch.ones(1, 4))"},
        scratch=[(3, "def box_iou(boxes1, boxes2:\n    pass"), (4, "raise RuntimeError('oops')")],
    )
    done = _execute(text, course, monkeypatch, strict=False)
    assert "RuntimeError: oops" in _output(done, "scratch-4")
    box = _output(done, "metrics-box-iou-check")
    assert "metrics.box_iou" in box and "done" in box and "fast enough" in box, box
    mask = _output(done, "metrics-mask-iou-check")
    assert "not implemented" in mask and "Traceback" not in mask, mask
    written = (course / "lessons" / "metrics.py").read_text("utf-8")
    assert _definition(written, "box_iou") == BOX_IOU
    assert nbcells.untouched(nbcells.top_level(ast.parse(written))["mask_iou"][0])
    progress = json.loads((course / ".bam" / "progress.json").read_text("utf-8"))["exercises"]
    assert progress["metrics.box_iou"] == "passed" and progress["metrics.mask_iou"] != "passed"


def test_a_figure_is_drawn_with_the_notebooks_own_functions(tmp_path, monkeypatch):
    course = _scratch_course(tmp_path)
    notebook = _notebook("rpn")
    keep = {"rpn-setup", "rpn-given-0"}
    notebook["cells"] = [c for c in notebook["cells"] if c["id"] in keep]
    mine = "def generate_anchors(*args, **kwargs):\n    raise RuntimeError('the notebook drew')"
    reference = _definition(
        (REPO_ROOT / "solutions" / "rpn.py").read_text("utf-8"), "generate_anchors"
    )
    for number, source in enumerate([mine, 'figure("anchors-one-location", "rpn")', reference]):
        notebook["cells"].append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{number}",
                "metadata": {},
                "outputs": [],
                "source": source,
            }
        )
    notebook["cells"].append(dict(notebook["cells"][-2], id="cell-3"))
    done = _execute(notebook, course, monkeypatch, strict=False)
    assert "RuntimeError: the notebook drew" in _output(done, "cell-1")
    assert "image/png" in _output(done, "cell-3")
    assert (course / "lessons" / "rpn.py").read_text("utf-8") == _stub(
        "rpn"
    )  # drawing writes nothing


def test_every_lesson_notebook_runs_on_the_solutions(tmp_path, monkeypatch):
    """Course order, one copy of the course: later lessons import what earlier notebooks wrote.
    About 3.5 min on this 2-core machine (11 kernels, every exercise checked)."""
    course = _scratch_course(tmp_path)
    times = {}
    for lesson in LESSONS:
        started = time.perf_counter()
        done = _execute(_notebook(lesson, solution=True), course, monkeypatch, strict=True)
        times[lesson] = round(time.perf_counter() - started, 1)
        checks = [c for c in done["cells"] if "check" in c["metadata"].get("tags", [])]
        assert checks and all("✓" in _output(done, c["id"]) for c in checks), lesson
        figures = [c for c in done["cells"] if _source(c).startswith("figure(")]
        assert all("image/png" in _output(done, c["id"]) for c in figures), lesson
    print("seconds per notebook:", times, file=sys.stderr)


def test_classroom_applies_the_notebooks_before_grading(tmp_path, capsys):
    from bam.cli import main
    from bam.release.student import github_classroom_files

    course = _scratch_course(tmp_path)
    module = course / "lessons" / "metrics.py"
    module.write_text(nbcells.merge(_stub("metrics"), {"mask_iou": nbcells.parse_cell(MASK_IOU)}))
    wrong = "def mask_iou(pred, target):\n    return pred.sum() * 0"
    notebook = _with_cells(
        _notebook("metrics"), {"metrics.box_iou": BOX_IOU, "metrics.mask_iou": wrong}
    )
    (course / "notebooks" / "03-metrics.ipynb").write_text(notebook, "utf-8")
    assert main(["notebooks", "apply", "--course", str(course)]) == 0
    assert "graded box_iou from the notebook" in capsys.readouterr().out
    text = module.read_text("utf-8")
    assert _definition(text, "box_iou") == BOX_IOU and _definition(text, "mask_iou") == MASK_IOU
    files = github_classroom_files(REPO_ROOT)
    workflow = files[".github/workflows/classroom.yml"]
    assert workflow.index("python -m bam notebooks apply") < workflow.index("bam.release.classroom")
    tests = json.loads(files[".github/classroom/autograding.json"])["tests"]
    assert all(test["run"].startswith("python -m bam notebooks apply && ") for test in tests)


def test_collecting_a_notebook_runs_none_of_it(tmp_path):
    """The grader (root, before the checks) only reads the notebook: a cell that would write a
    file, exit or import the solutions when run leaves no trace, and its calls are not copied
    into the module (the functions' bodies run later, in the worker, as a .py file's do)."""
    lessons = tmp_path / "course" / "lessons"
    shutil.copytree(REPO_ROOT / "lessons", lessons, ignore=shutil.ignore_patterns("__pycache__"))
    marker = tmp_path / "ran"
    attack = (
        f"import solutions.metrics\nopen({str(marker)!r}, 'w').write('x')\nraise SystemExit(3)\n\n"
        + BOX_IOU
    )
    notebook = _with_cells(_notebook("metrics"), {"metrics.box_iou": attack})
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "metrics.ipynb").write_text(notebook, "utf-8")
    before = set(sys.modules)
    gradescope.collect_submission(tmp_path / "submission", lessons)
    assert not marker.exists()
    assert not {
        name for name in set(sys.modules) - before if name.startswith(("lessons", "solutions"))
    }
    text = (lessons / "metrics.py").read_text("utf-8")
    assert (
        "open(" not in text and "SystemExit" not in text and _definition(text, "box_iou") == BOX_IOU
    )
