"""The built docs, opened in headless Chromium as a student would: offline, math, figures, search.

Serves the strictly built site on 127.0.0.1 and drives Debian's ``chromium`` with its
``chromedriver`` through Selenium. Every page must load nothing from another host (Chrome's
network log), render its math without a KaTeX error, load every image, and the search box must
find "anchor". At a desktop (1280 px) and a phone (390 px) width, every page must also render
right (``RENDERING_GUARDS``): no front matter printed as text, no list item swallowed by the
one before it, nothing wider than its column (no cut-off or sideways-scrolling formula, no
page that scrolls sideways), no raw double backticks or ``{placeholder}`` names, every
figure shown smaller than its file links to the full image, every image has a caption and no
heading has nothing under it; at 1280 px no table is wider than its column. Each guard is shown to catch a
defect planted in a real page (``test_rendering_guards_catch_planted_defects``).
Screenshots go to ``$BAM_DOCS_SCREENSHOTS``, whole pages (default: the first screen of each,
in a temporary folder).

Skipped, with the reason, when Selenium, ``chromium`` or ``chromedriver`` is missing
(``apt-get install -y chromium chromium-driver`` and ``pip install -e '.[dev]'``).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_build import build_site, missing_docs_packages

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = [
    *missing_docs_packages(),
    *(["selenium"] if importlib.util.find_spec("selenium") is None else []),
    *(["chromium"] if CHROMIUM is None else []),
    *(["chromedriver (Debian: chromium-driver)"] if CHROMEDRIVER is None else []),
]
pytestmark = [
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"needs {', '.join(MISSING)}: apt-get install -y chromium chromium-driver;"
        " pip install -e '.[dev]'",
    ),
    pytest.mark.slow,  # a browser and fifteen pages at two widths: a few minutes on two cores
]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
TIMEOUT_SECONDS = 20
WIDTHS = (1280, 390)  # a desktop and a phone (iPhone 12-15) viewport, CSS pixels
BROWSER_INTERNAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-untrusted", "devtools"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    build = build_site()
    if build.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{build.warnings()}", pytrace=False)
    handler = functools.partial(QuietHandler, directory=str(build.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = os.environ.get("BAM_DOCS_SCREENSHOTS") or tempfile.mkdtemp(prefix="bam-docs-shots-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    profile = tempfile.mkdtemp(prefix="bam-chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(TIMEOUT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver: object) -> list[str]:
    """URLs the browser requested since the last call (Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in {"Network.requestWillBeSent", "Network.webSocketCreated"}:
            params = message["params"]
            urls.append(params.get("request", {}).get("url") or params.get("url", ""))
    return urls


def off_site(urls: list[str]) -> list[str]:
    """The URLs that would leave 127.0.0.1.

    data:, blob: and about: URLs stay in the page; chrome:// and similar are the browser's own
    built-in resources (its internal pages), never fetched from a network.
    """
    bad = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in BROWSER_INTERNAL_SCHEMES:
            continue
        if parsed.scheme not in {"http", "https"} or parsed.hostname != "127.0.0.1":
            bad.append(url)
    return bad


def open_page(driver: object, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, TIMEOUT_SECONDS)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    # docs/javascripts/katex.js marks the body once it has typeset the page
    wait.until(lambda d: d.execute_script("return document.body.dataset.mathTypeset === 'done'"))
    wait.until(lambda d: d.execute_script("return [...document.images].every(i => i.complete)"))


def save_screenshot(driver: object, path: Path) -> None:
    """The whole page when BAM_DOCS_SCREENSHOTS names a folder (slow), else the first screen."""
    if not os.environ.get("BAM_DOCS_SCREENSHOTS"):
        driver.save_screenshot(str(path))
        return
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height), 900), 7000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)


# Each guard is a JavaScript function body that returns a list of problems found on the open
# page (strings); an empty list means the page passes. They look only at the page's content
# column (``article``), as a reader sees it after KaTeX has typeset the math.
_JS_HELPERS = r"""
const article = document.querySelector('article') || document.body;
const SKIP = 'pre, code, kbd, .katex, .arithmatex, script, style, .md-clipboard';
function proseText(root) {  // text outside code and math, newlines kept
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let text = '';
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(SKIP)) text += node.textContent;
  }
  return text;
}
function short(text) { return text.replace(/\s+/g, ' ').trim().slice(0, 90); }
"""

RENDERING_GUARDS: dict[str, str] = {
    # A YAML error in the front matter makes MkDocs print it: "description: ..." as a heading
    # (and a table-of-contents entry), after a rule made of its opening "---".
    "front matter shown as text": _JS_HELPERS
    + r"""
const bad = [];
const first = [...article.children].find(e => !e.matches('a.md-content__button, .md-source-file'));
if (first && first.tagName === 'HR') bad.push('the page starts with a rule (a "---" shown)');
const key = /^\s*(description|title|hide|search|status|tags|icon|template)\s*:/i;
for (const e of article.querySelectorAll('h1, h2, h3, h4, h5, h6, p, li'))
  if (key.test(proseText(e))) bad.push(`${e.tagName}: ${short(e.textContent)}`);
for (const e of document.querySelectorAll('.md-nav--secondary a'))
  if (key.test(e.textContent)) bad.push(`contents entry: ${short(e.textContent)}`);
return bad;
""",
    # Display math (or any block) not indented under its list item ends the item's paragraph
    # lazily: the next "3. ..." becomes text of item 2, or the list restarts its numbering.
    "list numbering broken": _JS_HELPERS
    + r"""
const bad = [];
for (const e of article.querySelectorAll('p, li, td')) {
  const own = [...e.childNodes].filter(n => !(n.nodeType === 1 && n.matches('ol, ul'))) ;
  const text = own.map(n => n.nodeType === 3 ? n.textContent :
    (n.nodeType === 1 && !n.matches(SKIP) ? proseText(n) : '')).join('');
  const found = text.match(/\n[ \t]*(\d+[.)]|[-*+])[ \t]+\S.{0,40}/);
  if (found) bad.push(`a list item inside the text of a ${e.tagName}: "${short(found[0])}"`);
}
for (const e of article.querySelectorAll('ol[start]'))
  if (e.getAttribute('start') !== '1')
    bad.push(`a list restarts at ${e.getAttribute('start')}: "${short(e.textContent)}"`);
return bad;
""",
    # Nothing may be wider than the content column: the page must not scroll sideways, no block
    # may be cut off by its container, and no formula may need a scroll bar. Code blocks and
    # tables may scroll sideways (Material gives them a scroll bar on purpose).
    "wider than its column": _JS_HELPERS
    + r"""
const bad = [];
const root = document.documentElement;
if (root.scrollWidth > window.innerWidth + 1)
  bad.push(`the page scrolls sideways: ${root.scrollWidth} px wide in a ${window.innerWidth} px window`);
const column = article.getBoundingClientRect();
const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
const SCROLL_OK = 'pre, .highlight, .md-typeset__scrollwrap, .md-typeset__table, table, .doc-signature';
for (const e of article.querySelectorAll('*')) {
  if (e.closest('.katex-mathml')) continue;  // MathML for screen readers, never shown
  if (e.closest(SKIP.replace('.katex, .arithmatex, ', '')) && !e.matches('pre')) continue;
  const style = getComputedStyle(e);
  const wide = e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0;
  if (wide && ['hidden', 'clip'].includes(style.overflowX) && !e.closest('.md-clipboard'))
    bad.push(`cut off: <${e.tagName.toLowerCase()} class="${e.className}"> shows ${e.clientWidth} of ${e.scrollWidth} px: "${short(e.textContent)}"`);
  if (wide && scrolls(e) && !e.closest(SCROLL_OK))
    bad.push(`scrolls sideways: <${e.tagName.toLowerCase()} class="${e.className}"> ${e.clientWidth} of ${e.scrollWidth} px: "${short(e.textContent)}"`);
  // (display math may bleed into the page margin on a phone, as Material lays it out)
  if (e.matches('img, figure, .admonition, details, p') && style.display !== 'inline') {
    const box = e.getBoundingClientRect();
    let parent = e.parentElement, clipped = false;
    while (parent && parent !== article) { if (scrolls(parent)) { clipped = true; break; } parent = parent.parentElement; }
    if (!clipped && box.width > 0 && (box.right > column.right + 1 || box.left < column.left - 1))
      bad.push(`sticks out of the column: <${e.tagName.toLowerCase()}> ${Math.round(box.left)}..${Math.round(box.right)} px in ${Math.round(column.left)}..${Math.round(column.right)}: "${short(e.textContent)}"`);
  }
}
return bad;
""",
    # Markdown that did not render: RST-style ``literals`` and str.format fields like {count}.
    "raw markup in the text": _JS_HELPERS
    + r"""
const bad = [];
for (const e of article.querySelectorAll('p, li, td, th, dd, dt, figcaption, h1, h2, h3, h4, h5, h6, summary')) {
  const text = [...e.childNodes].map(n => n.nodeType === 3 ? n.textContent : '').join('');
  if (text.includes('``')) bad.push(`raw double backticks: "${short(e.textContent)}"`);
  const field = text.match(/\{[A-Za-z_]\w*\}/);
  if (field) bad.push(`a placeholder ${field[0]}: "${short(e.textContent)}"`);
}
for (const e of article.querySelectorAll('figure[id^="figure-"] figcaption')) {
  const name = e.closest('figure').id.replace(/^figure-/, '');
  if (e.textContent.includes(name)) bad.push(`a caption shows the figure id ${name}`);
}
return bad;
""",
    # A figure shown smaller than its file (a wide figure in a narrow column) must link to the
    # full-size image, so a reader on a phone can open it and zoom.
    "figure shrunk without a link": _JS_HELPERS
    + r"""
const bad = [];
for (const img of article.querySelectorAll('img')) {
  if (!(img.naturalWidth > 0) || img.naturalWidth <= img.clientWidth * 1.05) continue;
  const link = img.closest('a[href]');
  const target = link ? new URL(link.getAttribute('href'), document.baseURI).href : '';
  if (target !== img.src)
    bad.push(`${img.src.split('/').pop()} is ${img.naturalWidth} px shown at ${img.clientWidth} px, with no link to it`);
}
return bad;
""",
    # At a desktop width every table fits its column: Material's 5rem minimum per header cell
    # once made a 9-column table 900 px wide in a 688 px column (a phone may scroll a table).
    "table wider than its column": _JS_HELPERS
    + r"""
const bad = [];
if (window.innerWidth < 1200) return bad;
const column = article.getBoundingClientRect().width;
for (const table of article.querySelectorAll('table'))
  if (table.scrollWidth > column + 1)
    bad.push(`a table ${table.scrollWidth} px wide in a ${Math.round(column)} px column: "${short(table.textContent)}"`);
return bad;
""",
    # Every picture says what it shows: an image inside a figure with a non-empty caption.
    "image without a caption": _JS_HELPERS
    + r"""
const bad = [];
for (const img of article.querySelectorAll('img')) {
  const figure = img.closest('figure');
  const caption = figure && figure.querySelector('figcaption');
  if (!caption || !caption.textContent.trim())
    bad.push(`${img.getAttribute('src').split('/').pop()} has no caption`);
}
return bad;
""",
    # A heading followed at once by a heading of its level or above (or by the end of the page)
    # has nothing under it: a section whose marker expanded to nothing.
    "heading with nothing under it": _JS_HELPERS
    + r"""
const bad = [];
const level = e => /^H[1-6]$/.test(e.tagName) ? +e.tagName[1] : 0;
for (const heading of article.querySelectorAll('h2, h3, h4, h5, h6')) {
  let next = heading.nextElementSibling;
  while (next && next.matches('script, style')) next = next.nextElementSibling;
  if (!next || (level(next) && level(next) <= level(heading)))
    bad.push(`${heading.tagName}: "${short(heading.textContent)}"`);
}
return bad;
""",
}
DESKTOP_ONLY = {"table wider than its column"}  # guards that look only at 1280 px

# One defect of each kind, planted in a real page by test_rendering_guards_catch_planted_defects.
PLANTED_DEFECTS: dict[str, str] = {
    "front matter shown as text": "<hr><h2>description: Planted front matter: shown as text</h2>"
    "<p>Planted text under it.</p>",
    "list numbering broken": "<ol><li><p>one</p></li><li><p>two</p><p>and then\n3. three</p></li></ol>",
    "wider than its column": '<div class="arithmatex"><span class="katex-display" style="overflow:auto">'
    '<span style="display:inline-block;width:2000px">a very long formula</span></span></div>',
    "raw markup in the text": "<p>A grid of {count} squares, ``raw`` literal.</p>",
    "figure shrunk without a link": '<figure class="bam-figure"><img style="width:120px" src="IMAGE">'
    "<figcaption>shrunk</figcaption></figure>",
    "table wider than its column": '<table><tr><td><span style="display:inline-block;width:2000px">'
    "a very wide cell</span></td></tr></table>",
    "image without a caption": '<p><a href="IMAGE"><img style="width:60px" src="IMAGE"></a></p>',
    "heading with nothing under it": "<h2>Planted, empty</h2><h2>Planted, with text</h2><p>text</p>",
}


def rendering_problems(driver: object) -> dict[str, list[str]]:
    """What each rendering guard finds on the open page (only the guards that find something)."""
    found = {name: driver.execute_script(script) for name, script in RENDERING_GUARDS.items()}
    return {name: problems for name, problems in found.items() if problems}


def site_pages() -> list[str]:
    """Every page of the built site, as a path under its root ("" is the home page)."""
    site = build_site().site
    pages = sorted(str(page.parent.relative_to(site)) + "/" for page in site.rglob("index.html"))
    return [page.removeprefix("./") for page in pages]


def test_pages_are_offline_with_math_and_images(
    browser: object, site_url: str, screenshots: Path
) -> None:
    """Every page: no request leaves 127.0.0.1, math renders without error, every image loads."""
    requested_urls(browser)  # start the log afresh
    math_pages = 0
    for page in site_pages():
        open_page(browser, site_url + page)
        urls = requested_urls(browser)
        assert urls, f"{page}: the network log is empty (is performance logging on?)"
        assert not off_site(urls), f"{page} requested {off_site(urls)}"
        errors = browser.execute_script(
            "return [...document.querySelectorAll('.katex-error')]"
            ".map(e => e.title || e.textContent)"
        )
        assert not errors, f"{page}: KaTeX could not render {errors}"
        unrendered = browser.execute_script(
            "return [...document.querySelectorAll('.arithmatex')]"
            ".filter(e => !e.querySelector('.katex')).map(e => e.textContent)"
        )
        assert not unrendered, f"{page}: KaTeX could not typeset {unrendered}"
        math_pages += (
            browser.execute_script("return document.querySelectorAll('.katex').length") > 0
        )
        broken = browser.execute_script(
            "return [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)"
        )
        assert not broken, f"{page}: images did not load: {broken}"
        severe = [
            entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
        ]
        assert not severe, f"{page}: console errors {severe}"
        name = page.strip("/").replace("/", "-") or "home"
        save_screenshot(browser, screenshots / f"{name}.png")
    assert math_pages >= 2, "expected math on the conventions page and lesson pages"


def test_pages_render_right_at_desktop_and_phone_widths(
    browser: object, site_url: str, screenshots: Path
) -> None:
    """Every page at 1280 px and 390 px: no front matter as text, lists intact, nothing wider
    than its column, no raw markup, every shrunk figure links to its full image, every image
    captioned, no empty heading; at 1280 px no table wider than the column."""
    failures = []
    try:
        for width in WIDTHS:
            browser.set_window_size(width, 900)
            for page in site_pages():
                open_page(browser, site_url + page)
                for guard, problems in rendering_problems(browser).items():
                    failures += [f"{page or 'home'} at {width} px, {guard}: {p}" for p in problems]
                if width != 1280:
                    name = page.strip("/").replace("/", "-") or "home"
                    browser.save_screenshot(str(screenshots / f"{name}-{width}px.png"))
    finally:
        browser.set_window_size(1280, 900)
    if failures and os.environ.get("BAM_DOCS_PROBLEMS"):
        Path(os.environ["BAM_DOCS_PROBLEMS"]).write_text("\n".join(failures) + "\n")
    assert not failures, f"{len(failures)} rendering problems:\n" + "\n".join(failures[:80])


def test_rendering_guards_catch_planted_defects(browser: object, site_url: str) -> None:
    """Each guard passes on a clean page and fails once its kind of defect is planted in it."""
    try:
        for width in WIDTHS:
            browser.set_window_size(width, 900)
            open_page(browser, site_url + "conventions/")
            assert rendering_problems(browser) == {}, f"conventions at {width} px"
            image = (
                site_url
                + "figures/"
                + sorted(p.name for p in (build_site().site / "figures").glob("*.png"))[0]
            )
            for guard, planted in PLANTED_DEFECTS.items():
                if guard in DESKTOP_ONLY and width < 1200:
                    continue
                open_page(browser, site_url + "conventions/")
                browser.execute_script(
                    "const a = document.querySelector('article');"
                    "a.insertAdjacentHTML(arguments[1] ? 'afterbegin' : 'beforeend', arguments[0]);"
                    "return Promise.all([...a.querySelectorAll('img')].map(i => i.decode().catch(() => 0)));",
                    planted.replace("IMAGE", image),
                    guard == "front matter shown as text",
                )
                found = rendering_problems(browser)
                assert guard in found, f"{guard} at {width} px: the planted defect went unseen"
                assert set(found) == {guard}, f"planting {guard!r} tripped {sorted(found)}"
    finally:
        browser.set_window_size(1280, 900)


def test_figures_load_in_the_browser(browser: object, site_url: str) -> None:
    """The figures page shows every figure of bam.plots, each a loaded image."""
    from bam.plots import all_figures

    open_page(browser, site_url + "figures/")
    loaded = browser.execute_script(
        "return [...document.querySelectorAll('.bam-figure img')]"
        ".filter(i => i.naturalWidth > 0).map(i => i.src.split('/').pop())"
    )
    assert sorted(loaded) == sorted(f"{name}.png" for name in all_figures())


def test_search_finds_anchor(browser: object, site_url: str, screenshots: Path) -> None:
    """Typing "anchor" into the search box lists pages about anchors, offline."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, site_url)
    requested_urls(browser)
    browser.find_element(By.CSS_SELECTOR, "label.md-search__icon, .md-search__input").click()
    box = WebDriverWait(browser, TIMEOUT_SECONDS).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "input.md-search__input")
    )
    box.click()
    box.send_keys("anchor")
    WebDriverWait(browser, TIMEOUT_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    )
    results = [
        item.text for item in browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item")
    ]
    meta = browser.find_element(By.CSS_SELECTOR, ".md-search-result__meta").text
    browser.save_screenshot(str(screenshots / "search-anchor.png"))
    assert any("anchor" in text.lower() for text in results), (meta, results)
    assert not off_site(requested_urls(browser))
