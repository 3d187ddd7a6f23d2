"""The docs site builds with ``mkdocs build --strict`` and holds what the package says it should.

Skipped (with the reason) when the ``docs`` extra is not installed: ``pip install -e '.[docs]'``.
"""

from __future__ import annotations

import html
import re
import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_build import REPO, build_site, missing_docs_packages

MISSING = missing_docs_packages()
if MISSING:
    pytest.skip(
        f"the docs extra is not installed (missing {', '.join(MISSING)}): pip install -e '.[docs]'",
        allow_module_level=True,
    )

sys.path.insert(0, str(REPO / "docs"))
import hooks  # noqa: E402 - docs/hooks.py imports mkdocs


@pytest.fixture(scope="module")
def site() -> Path:
    build = build_site()
    if build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{build.warnings()}", pytrace=False)
    return build.site


def built_lessons() -> list[str]:
    return [lesson for lesson in hooks.course_order() if hooks.lesson_exists(lesson)]


def page_text(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def visible_text(page_html: str) -> str:
    """The text of a page without its tags (syntax highlighting splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page_html))


def test_strict_build_passes(site: Path) -> None:
    """``mkdocs build --strict`` succeeds: no broken link, no external asset, no bad docstring."""
    build = build_site()
    print(f"mkdocs build --strict: {build.seconds:.1f} s")
    assert (site / "index.html").is_file()
    assert (site / "search" / "search_index.json").is_file()


def test_every_lesson_has_a_page_and_only_those_that_exist() -> None:
    """Each lesson of COURSE_ORDER has a page source; a page is built once its module exists."""
    site = build_site().site
    for lesson in hooks.course_order():
        assert (REPO / "docs" / "lessons" / f"{lesson}.md").is_file(), f"docs/lessons/{lesson}.md"
        built = (site / "lessons" / lesson / "index.html").is_file()
        assert built == hooks.lesson_exists(lesson), (
            f"lessons/{lesson}.py {'exists' if hooks.lesson_exists(lesson) else 'is missing'}"
            f" but its page was {'built' if built else 'not built'}"
        )


def test_lesson_pages_show_every_exercise_hint_and_check(site: Path) -> None:
    """Every exercise has a section, every hint of bam/hints is there, the checks are counted."""
    for lesson in built_lessons():
        text = page_text(site, f"lessons/{lesson}")
        words = visible_text(text)
        for name in hooks.exercises_of(lesson):
            shown = (f"def {name}(", f"class {name}", f"{name} =", f"{name}: ")
            assert any(signature in words for signature in shown), (
                f"the {lesson} page has no signature of {name}"
            )
        hints_file = REPO / "bam" / "hints" / f"{lesson}.toml"
        if hints_file.is_file():
            table = tomllib.loads(hints_file.read_text(encoding="utf-8"))
            expected = sum(
                len(entry.get("hints", []))
                for name, entry in table.items()
                if name in hooks.exercises_of(lesson)
            )
            shown = len(re.findall(r'<details class="hint"', text))
            assert shown == expected, f"{lesson}: {shown} hints shown, bam/hints has {expected}"
        checks = hooks.checks_of(lesson)
        if checks is not None:
            points = sum(check.points for check in checks)
            assert f"{len(checks)} checks worth {points} points" in words
            for check in checks:
                plain = [w for w in check.description.split() if re.fullmatch(r"[\w.,:;()'-]+", w)]
                start = plain[:4]
                assert all(word in words for word in start), (
                    f"{lesson}: the check {check.function} is not listed"
                )


def test_api_section_comes_from_the_module(site: Path) -> None:
    """mkdocstrings renders each lesson module's docstrings (the API section is not empty)."""
    for lesson in built_lessons():
        text = page_text(site, f"lessons/{lesson}")
        api = text.split('id="api"', 1)[-1]
        for name in hooks.exercises_of(lesson):
            assert f'id="lessons.{lesson}.{name}"' in api, f"API of lessons.{lesson} lacks {name}"


def test_figures_are_drawn_and_shown(site: Path) -> None:
    """Every figure of bam.plots is drawn at build time and shown on the figures page."""
    from bam.plots import all_figures

    gallery = page_text(site, "figures")
    for name in all_figures():
        assert (site / "figures" / f"{name}.png").stat().st_size > 1000, name
        assert f'id="figure-{name}"' in gallery, f"figure {name} is not on the figures page"
        assert f"{name}.png" in gallery


def test_katex_is_served_by_the_site(site: Path) -> None:
    """KaTeX's script, auto-render, style and fonts are part of the site (no CDN)."""
    katex = site / "assets" / "katex"
    for name in hooks.KATEX_FILES:
        assert (katex / name).is_file(), name
    assert list((katex / "fonts").glob("*.woff2"))
    assert "assets/katex/katex.min.js" in page_text(site, "conventions")


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    """No built page references an image, script, style or font outside the site."""
    offenders = {}
    for page in site.rglob("*.html"):
        found = hooks.external_assets(page.read_text(encoding="utf-8"))
        if found:
            offenders[str(page.relative_to(site))] = found
    assert not offenders
    assert "fonts.googleapis.com" not in page_text(site, "")


def test_offline_guards_are_configured() -> None:
    """theme.font is off and the privacy plugin refuses to fetch, so external assets fail."""
    import yaml

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["theme"]["font"] is False
    privacy = next(
        plugin["privacy"]
        for plugin in config["plugins"]
        if isinstance(plugin, dict) and "privacy" in plugin
    )
    assert privacy["assets_fetch"] is False
    assert "docs/assets/katex/" in (REPO / ".gitignore").read_text()
    assert "docs/figures/" in (REPO / ".gitignore").read_text()


def test_external_asset_guard_catches_what_it_should() -> None:
    """The hook's guard flags external images, scripts, styles and CSS urls, not links."""
    page = (
        '<img alt="x" src="https://example.org/a.png"><script src="//cdn.example/k.js"></script>'
        '<link rel="stylesheet" href="https://cdn.example/k.css"><div style="background:url(https://e.x/i.png)">'
        '<a href="https://arxiv.org/">paper</a><link rel="canonical" href="https://example.org/">'
        '<img src="../figures/anchors.png">'
    )
    assert hooks.external_assets(page) == [
        "https://example.org/a.png",
        "//cdn.example/k.js",
        "https://cdn.example/k.css",
        "https://e.x/i.png",
    ]


def test_unbuilt_lessons_render_as_plain_text(site: Path) -> None:
    """The home page lists all nine lessons and links only those whose page exists."""
    home = page_text(site, "")
    for lesson in hooks.course_order():
        linked = f'href="lessons/{lesson}/"' in home
        assert linked == hooks.lesson_exists(lesson), lesson


def test_front_matter_is_valid_yaml() -> None:
    """Every page's front matter parses as a YAML mapping (MkDocs prints invalid front matter
    as text, a "description: ..." heading, and --strict does not notice)."""
    for path in sorted((REPO / "docs").rglob("*.md")):
        meta = hooks.front_matter(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
        if path.read_text(encoding="utf-8").startswith("---\n"):
            assert isinstance(meta.get("description"), str), path


def test_front_matter_guard_rejects_an_unquoted_colon() -> None:
    """The hook refuses the defect that printed the sam, roi and detector front matter."""
    with pytest.raises(hooks.PluginError, match="not valid YAML"):
        hooks.front_matter("---\ndescription: Fine-tune SAM: prompts, freezing\n---\n# x\n")


def test_figure_captions_name_no_parameter_and_no_figure_id(site: Path) -> None:
    """A caption is the drawing function's first docstring paragraph: it must not mention the
    function's parameters (``count`` in "A grid of ``count`` ...") and figures show no id."""
    import inspect

    from bam.plots import all_figures

    for name, draw in all_figures().items():
        caption = hooks._first_paragraph(draw.__doc__)
        for parameter in inspect.signature(draw).parameters:
            assert f"`{parameter}`" not in caption, f"{name}: caption names `{parameter}`"
    gallery = page_text(site, "figures")
    for name in all_figures():
        figure = gallery.split(f'id="figure-{name}"', 1)[1].split("</figure>", 1)[0]
        assert f"<code>{name}</code>" not in figure, f"{name}: the caption shows the figure id"
        assert '<a href="' in figure, f"{name}: the figure does not link to its full image"


def test_worked_roi_pooling_example_matches_torchvision() -> None:
    """The numbers of the RoI pooling example on the roi page are torchvision's."""
    from bam.plots.roi import worked_example

    example = worked_example()
    text = (REPO / "docs" / "lessons" / "roi.md").read_text(encoding="utf-8")
    values = [int(v) for v in example["output"].flatten().tolist()]
    matrix = r"\begin{bmatrix} {} & {} \\ {} & {} \end{bmatrix}".replace("{}", "%d") % tuple(values)
    assert matrix in text, f"roi.md should show {matrix}"
    scaled = ", ".join(f"{value:g}" for value in example["scaled"])
    assert f"$({scaled})$" in text
    ((x1, x2), (y1, y2)) = example["cells"]
    assert f"columns\n   {x1} to {x2}" in text or f"columns {x1} to {x2}" in text
    assert f"rows {y1} to {y2}" in text


def test_measured_results_are_committed_artifacts(site: Path) -> None:
    """Pages show measured numbers only from committed files of docs/results/ (the build never
    trains), and each such file says its command and its machine."""
    results = REPO / "docs" / "results"
    for path in sorted(results.glob("*.md")):
        if path.name == "README.md":
            continue
        text = path.read_text(encoding="utf-8")
        commands = ("bam ", "python docs/results/", "python tools/benchmark.py")
        assert any(command in text for command in commands), f"{path.name}: no command"
        if "Being re-measured" not in text:
            assert "CPU" in text or "GPU" in text, f"{path.name}: no machine"
    for seed_file in sorted((results / "sam").glob("seed-*.json")):
        import json

        record = json.loads(seed_file.read_text(encoding="utf-8"))
        assert record["command"].startswith("OMP_NUM_THREADS=1 bam compare sam")
        assert len(record["per_epoch"]) == record["config"]["epochs"]
    sam = page_text(site, "lessons/sam")
    assert "SAM fine-tuned" in sam and "curves-seed-0.png" in sam


def test_every_lesson_page_ends_with_its_references_and_questions() -> None:
    """Each lesson page's last sections are "References", which cites at least one paper or
    library with a section, table or module, then "Questions and experiments"."""
    for lesson in hooks.course_order():
        text = (REPO / "docs" / "lessons" / f"{lesson}.md").read_text(encoding="utf-8")
        headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
        assert headings[-2:] == ["References", "Questions and experiments"], (
            f"{lesson}: ends with {headings[-2:]}"
        )
        references = text.rsplit("## References", 1)[1].split("## Questions and experiments")[0]
        assert re.search(r"§|Table|torchvision", references), lesson


def test_api_returns_sections_are_one_description(site: Path) -> None:
    """A Returns section renders as one item: Google-style parsing must not split a
    description across rows at every line that holds a colon (22 sections once did)."""
    split = []
    for lesson in built_lessons():
        text = page_text(site, f"lessons/{lesson}")
        for section in text.split('<span class="doc-section-title">Returns:</span>')[1:]:
            items = section.split("</ul>", 1)[0].count('class="doc-section-item')
            if items != 1:
                split.append(f"{lesson}: a Returns section with {items} items")
    assert not split, split


def test_api_notation_blocks_are_lists(site: Path) -> None:
    """Each lesson module's "Notation:" block renders as a list, one item per symbol, not as
    one run-on paragraph (docs/griffe_notation.py)."""
    for lesson in built_lessons():
        text = page_text(site, f"lessons/{lesson}")
        if "<summary>Notation</summary>" not in text:
            continue
        block = text.split("<summary>Notation</summary>", 1)[1].split("</details>", 1)[0]
        assert block.count("<li>") >= 2, f"{lesson}: the Notation block is not a list"


def test_built_pages_never_cite_the_seed_report(site: Path) -> None:
    """No built page (prose, API, captions, hints, results) cites "the seed report" or its
    figures: the site is self-contained (the source-level check is tests/test_docs_content.py)."""
    from test_docs_content import seed_references

    found = []
    for page in sorted(site.rglob("index.html")):
        for snippet in seed_references(visible_text(page.read_text(encoding="utf-8"))):
            found.append(f"{page.parent.relative_to(site)}: ...{' '.join(snippet.split())}...")
    assert not found, "\n".join(found)


def test_headings_with_nothing_under_them_are_dropped() -> None:
    """A section whose marker expands to nothing (a student copy's "Common mistakes" without
    tests/mistakes/) loses its heading; fenced code and sections with content stay."""
    page = (
        "# Lesson\n\nintro\n\n## Common mistakes\n\n\n\n## What the checks test\n\nchecks\n\n"
        "```bash\n## not a heading\n```\n\n## Questions\n\n### Empty\n\n## API\n"
    )
    kept = hooks.drop_empty_headings(page)
    assert "## Common mistakes" not in kept
    assert "### Empty" not in kept and "## Questions" not in kept and "## API" not in kept
    assert "## What the checks test\n\nchecks" in kept and "## not a heading" in kept
    assert hooks.drop_empty_headings("## A\n\n### B\n\ntext\n") == "## A\n\n### B\n\ntext\n"


def test_stored_result_images_become_captioned_figures_once_per_page() -> None:
    """docs/results/ images get a caption naming the model; one shown already is not repeated,
    and a detections image brings its model's loss curves when they exist."""
    shown: set[str] = set()
    first = hooks._result_figures(
        "[![Losses, seed 0](detector/faster_rcnn-loss-curves.png)](detector/faster_rcnn-loss-curves.png)\n",
        shown,
    )
    assert "<figcaption>Faster R-CNN (course): losses, seed 0</figcaption>" in first
    again = hooks._result_figures(
        "[![a](detector/faster_rcnn-loss-curves.png)](detector/faster_rcnn-loss-curves.png)\n\n"
        "[![YOLO (course, lesson 10): detections](detector/yolo-detections.png)](detector/yolo-detections.png)\n",
        shown,
    )
    assert "faster_rcnn-loss-curves" not in again
    assert (REPO / "docs/results/detector/yolo-loss-curves.png").is_file()
    assert again.index("yolo-loss-curves.png") < again.index("yolo-detections.png")
    assert again.count("<figcaption>") == 2
