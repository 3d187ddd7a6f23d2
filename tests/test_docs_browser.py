"""The built docs, opened in headless Chromium as a student would: offline, math, figures, search.

Serves the strictly built site on 127.0.0.1 and drives Debian's ``chromium`` with its
``chromedriver`` through Selenium. Every page must load nothing from another host (Chrome's
network log), render its math without a KaTeX error, load every image, and the search box must
find "anchor". Screenshots go to ``$BAM_DOCS_SCREENSHOTS``, whole pages (default: the first screen of each,
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
    pytest.mark.slow,  # a browser and fifteen pages: about a minute on two cores
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
