"""The rendered book in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``), driven by selenium.

The book is built once (``jupyter-book build``, into a temporary folder, nothing executed), served
on 127.0.0.1 and every page of ``_toc.yml`` is opened at 1400 px, 1000 px and 400 px. On each
page:

- no error in the browser console (a script error, a file that does not load: 404 or a host on
  the internet, which the browser here cannot reach: every host name but 127.0.0.1 fails to
  resolve, as on a machine without network);
- every resource the page loaded came from the book's own server (no CDN);
- MathJax (shipped with the book) ran, and no raw TeX (``\\(``, ``\\)``, ``\\[``, ``$$``) is left
  in the visible text outside code;
- every image loaded (non-zero natural width);
- every local link (``a``, ``link``; same origin) answers HTTP 200, and the ``#fragment`` of a
  link to a page of the book names an element of that page (a claim's row, ``#claim-f3a``);
- no link points to a placeholder: a host such as ``example.com``, the repository placeholder the
  book once had, jupyter-book's own repository (its default), or any repository or launch
  service (GitHub, Binder, Colab, ...) while ``_config.yml`` names no repository;
- at 1400, 1000 and 400 px no table cell's content runs out of its cell into the next (claims
  tables, the claims dashboard, Markdown and pandas tables);
- at every width, the verdict of every claims table (and of the dashboard, and of every table
  with a "verdict" column) is on screen: inside the viewport and not cut off by a
  sideways-scrolling wrapper; on the dashboard at 400 px, the chapter and the reason too;
- at 1400 px, every figure (an image of a notebook's output or of a figure directive) is an SVG
  whose smallest text is at least 9 CSS px, in the page or when opened alone, full size, through
  the link ``book/_static/figures.js`` puts around it; a raster figure fails (its text cannot be
  measured).

A separate test renders a small static page with the markup of ``nbutils.report.ClaimsTable``
and ``nbutils.dashboard.html`` (made by those functions) in a text column as wide as the book's
and the book's stylesheet, and checks the layout at 400, 1000 and 1400 px. Screenshots of every
page (desktop and phone) are saved under ``_build/browser-screenshots/``.

Chromium missing is a failure, not a skip: ``apt-get install chromium chromium-driver``
(``.ci/run`` does it). ``CHROMIUM`` and ``CHROMEDRIVER`` name other binaries;
``BROWSER_TEST_HTML`` names an existing build (``_build/html``) to test instead of building one.
"""
from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
CSS = ROOT / "book" / "_static" / "claims-table.css"
SCREENSHOTS = ROOT / "_build" / "browser-screenshots"
DESKTOP, MIDDLE, PHONE = 1400, 1000, 400
WIDTHS = (DESKTOP, MIDDLE, PHONE)
MIN_TEXT_PX = 9.0   # the smallest legible figure text (nbutils.style.MIN_TEXT_PX)
# links that stand for nothing real: hosts, and address parts (a repository the book never had,
# jupyter-book's default repository)
PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "localhost")
PLACEHOLDER_PARTS = ("nbutils-book/neuron-importance-ablation", "executablebooks/jupyter-book",
                     "your-org", "your-repo", "placeholder", "todo")
# hosts of repositories and launch services: a link there must name the book's repository
REPOSITORY_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "mybinder.org",
                    "colab.research.google.com", "deepnote.com")
HEIGHT = 900
SCREENSHOT_MAX_HEIGHT = 12000  # px; a full page beyond that is cut (long chapters on a phone)
INSTALL = ("install it with `apt-get install chromium chromium-driver` (Debian; .ci/run does "
           "it), or name the binaries in CHROMIUM and CHROMEDRIVER")
RAW_TEX = ("\\(", "\\)", "\\[", "$$")


# ----------------------------------------------------------------------------- the pages
def toc_pages() -> list[str]:
    """The HTML page of every file of _toc.yml, in its order (``book/intro.html``, ...)."""
    from nbutils.pipeline import _toc_files  # the pipeline's own walk of the toc

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *_toc_files(toc.get("chapters", []) + toc.get("parts", []))]
    return [re.sub(r"\.(md|ipynb)$", "", f) + ".html" for f in files]


PAGES = toc_pages()


# ------------------------------------------------------------------- build and serve the book
@pytest.fixture(scope="session")
def book_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built book's HTML folder: built once, into a temporary folder (the repository's
    _build is left to `make book`)."""
    existing = os.environ.get("BROWSER_TEST_HTML", "").strip()
    if existing:
        return Path(existing)
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", ".", "--all",
           "--path-output", str(out)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    html = out / "_build" / "html"
    if run.returncode != 0 or not (html / "index.html").is_file():
        pytest.fail(f"`{' '.join(cmd)}` failed ({run.returncode}):\n"
                    f"{(run.stdout + run.stderr)[-4000:]}")
    return html


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no log line per request
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A request the browser gave up (a preload it did not need) is no error of the book."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def server(book_html: Path) -> Iterator[str]:
    """The book served on 127.0.0.1 at a free port: its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


# ------------------------------------------------------------------------------ the browser
def find_chromium() -> tuple[str, str]:
    """The Chromium binary and its chromedriver, or a failure saying how to install them."""
    browser = os.environ.get("CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome",
                                       "google-chrome-stable")) if p), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or next(
        (p for p in ("/usr/lib/chromium/chromedriver",) if Path(p).is_file()), None)
    if not browser or not Path(browser).exists():
        pytest.fail(f"the browser test needs Chromium, which was not found: {INSTALL}")
    if not driver or not Path(driver).exists():
        pytest.fail(f"the browser test needs chromedriver, which was not found: {INSTALL}")
    return browser, driver


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium, without network: any host name but 127.0.0.1 fails to resolve."""
    chromium, chromedriver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=en-US",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--window-size={DESKTOP},{HEIGHT}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def set_viewport(driver, width: int, height: int = HEIGHT) -> None:
    """An exact CSS viewport (media queries see ``width``); layout settles before returning."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));")
    client = driver.execute_script("return document.documentElement.clientWidth")
    assert client == width, f"viewport is {client} px wide, wanted {width}"


def screenshot(driver, path: Path) -> None:
    """A PNG of the whole page (cut at SCREENSHOT_MAX_HEIGHT): the viewport is made as tall as
    the page for the picture (capturing beyond the viewport would lay the theme out anew
    without its sidebar), then set back."""
    width, height = driver.execute_script(
        "return [document.documentElement.clientWidth,"
        " document.documentElement.scrollHeight]")
    set_viewport(driver, width, min(height, SCREENSHOT_MAX_HEIGHT))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    set_viewport(driver, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def console_errors(driver) -> list[str]:
    """SEVERE entries of the browser console since the last call (the call empties it)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


# ------------------------------------------------------------------------- in-page probes
WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const hasMath = document.querySelector('.math') !== null;
const mj = window.MathJax;
if (!mj || !mj.startup || !mj.startup.promise) { done({hasMath, loaded: false}); return; }
mj.startup.promise.then(() => done({hasMath, loaded: true}),
                        (e) => done({hasMath, loaded: true, error: String(e)}));
"""

VISIBLE_TEXT_OUTSIDE_CODE = """
const style = document.createElement('style');
style.textContent = 'pre, code, .highlight { display: none !important; }';
document.head.appendChild(style);
const text = document.body.innerText;
style.remove();
return text;
"""

WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach((img) => { img.loading = 'eager'; });
Promise.all(images.map((img) => img.complete ? Promise.resolve() : new Promise((ok) => {
  img.addEventListener('load', ok); img.addEventListener('error', ok); setTimeout(ok, 15000);
}))).then(() => done(images.map((img) => [img.getAttribute('src'), img.naturalWidth])));
"""

LINKS_AND_RESOURCES = """
return {
  links: Array.from(document.querySelectorAll('a[href], link[href]')).map((a) => a.href),
  resources: performance.getEntriesByType('resource').map((e) => e.name),
};
"""

# Where the verdict cell of the first row of every claims table (nbutils.report.ClaimsTable)
# and of every Markdown table with a "verdict" column (the claims dashboard) is, and the part of
# the screen it may show in: the viewport, narrowed by every ancestor that clips or scrolls
# sideways (overflow-x other than visible). Pandas tables (table.dataframe) are not concerned.
VERDICT_CELLS = """
window.scrollTo(0, window.scrollY);
const viewport = document.documentElement.clientWidth;
const out = [];
const tables = document.querySelectorAll(
  'table.claims-table, table.dashboard-table, .pst-scrollable-table-container > table');
tables.forEach((table, index) => {
  const heads = Array.from(table.querySelectorAll('thead th'))
    .map((th) => th.textContent.trim().toLowerCase());
  const column = heads.indexOf('verdict');
  const isClaims = table.classList.contains('claims-table') ||
                   table.classList.contains('dashboard-table');
  if (column < 0 && !isClaims) return;
  const row = table.querySelector('tbody tr');
  // the verdict changes between runs label each run's verdict "verdict, <run>"
  const cell = isClaims ? table.querySelector('tbody tr td[data-label="verdict"], '
                                              + 'tbody tr td[data-label^="verdict, "]')
                        : (row ? row.children[column] : null);
  if (!cell) { out.push({index, isClaims, missing: true}); return; }
  const r = cell.getBoundingClientRect();
  let left = 0, right = viewport;
  for (let el = cell.parentElement; el && el !== document.documentElement;
       el = el.parentElement) {
    if (getComputedStyle(el).overflowX !== 'visible') {
      const box = el.getBoundingClientRect();
      left = Math.max(left, box.left); right = Math.min(right, box.right);
    }
  }
  // "why they differ" (a claims table, the dashboard); the verdict changes have no such column
  const why = isClaims && !table.classList.contains('changes-table')
    ? table.querySelector('thead th:nth-child(5)') : null;
  const inCell = (badge) => {
    const b = badge.getBoundingClientRect(), c = badge.parentElement.getBoundingClientRect();
    return b.left >= c.left - 0.5 && b.right <= c.right + 0.5;
  };
  out.push({index, isClaims, missing: false, left: r.left, right: r.right, width: r.width,
            height: r.height, clipLeft: left, clipRight: right,
            text: cell.innerText.trim().slice(0, 40),
            whyWidth: why ? why.getBoundingClientRect().width : null,
            badgeInCell: Array.from(table.querySelectorAll('td > .verdict')).every(inCell)});
});
return out;
"""


def verdict_problems(driver, width: int) -> list[str]:
    """Verdict cells that are missing or not (entirely) on screen at this width."""
    problems = []
    for c in driver.execute_script(VERDICT_CELLS):
        what = f"{'claims ' if c['isClaims'] else ''}table #{c['index']}"
        if c["missing"]:
            problems.append(f"{what}: no verdict cell in its first row")
        elif c["width"] <= 0 or c["height"] <= 0:
            problems.append(f"{what}: the verdict cell has no size at {width} px")
        elif c["left"] < c["clipLeft"] - 0.5 or c["right"] > c["clipRight"] + 0.5:
            problems.append(
                f"{what}: the verdict {c['text']!r} is off screen at {width} px (cell "
                f"{c['left']:.0f}-{c['right']:.0f} px, visible {c['clipLeft']:.0f}-"
                f"{c['clipRight']:.0f} px)")
        if not c["badgeInCell"]:
            problems.append(f"{what}: a verdict badge sticks out of its cell at {width} px")
        if width >= DESKTOP and c["isClaims"] and c["whyWidth"] is not None \
                and c["whyWidth"] < 200:
            problems.append(f"{what}: \"why they differ\" is {c['whyWidth']:.0f} px wide at "
                            f"{width} px (at least 200 wanted)")
    return problems


def raw_tex(text: str) -> list[str]:
    """Each raw TeX delimiter found in the text, with a little context."""
    found = []
    for token in RAW_TEX:
        at = text.find(token)
        if at >= 0:
            found.append(f"{token!r} in ...{text[max(0, at - 40):at + 40]!r}...")
    return found


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# ----------------------------------------------------------------------------------- tests
def test_the_toc_lists_pages_and_each_was_built(book_html: Path):
    assert "book/intro.html" in PAGES and "book/bibliography.html" in PAGES, PAGES
    missing = [p for p in PAGES if not (book_html / p).is_file()]
    assert not missing, f"pages of _toc.yml missing from the build: {missing}"


def test_no_page_loads_a_script_from_the_internet_nor_thebe(book_html: Path):
    """MathJax comes from the book (sphinx-mathjax-offline), and no Thebe placeholder."""
    assert (book_html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    remote = re.compile(r"<script[^>]+src=\"(https?:)?//", re.I)
    for page in PAGES:
        html = (book_html / page).read_text(encoding="utf-8")
        assert not remote.search(html), f"{page} loads a script from the internet"
        assert "x-thebe-config" not in html and "THEBE_JS_URL" not in html, page


def test_index_redirects_to_the_introduction(browser, server: str):
    browser.get(server + "index.html")
    assert browser.current_url.endswith("book/intro.html"), browser.current_url


def repository_url() -> str:
    """The repository ``_config.yml`` names (empty: none)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return str((config.get("repository") or {}).get("url") or "").rstrip("/")


def placeholder_links(links: list[str], origin: str, repository: str) -> list[str]:
    """The links of ``links`` that point at a placeholder (see the module docstring)."""
    repo_path = urlsplit(repository).path.strip("/").lower() if repository else ""
    bad = []
    for url in sorted(set(links)):
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or parts.netloc == origin:
            continue
        lowered = url.lower()
        if host in PLACEHOLDER_HOSTS or host.endswith(tuple("." + h for h in PLACEHOLDER_HOSTS)) \
                or any(part in lowered for part in PLACEHOLDER_PARTS):
            bad.append(url)
        elif host in REPOSITORY_HOSTS and (not repo_path or repo_path not in lowered):
            bad.append(url)
    return bad


_PAGE_IDS: dict[str, set[str]] = {}


def page_ids(url: str) -> set[str]:
    """The ``id`` (and ``name``) attributes of the page at ``url`` (fetched once)."""
    if url not in _PAGE_IDS:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode("utf-8", "replace")
        except urllib.error.URLError:
            text = ""
        _PAGE_IDS[url] = set(re.findall(r'\s(?:id|name)="([^"]+)"', text))
    return _PAGE_IDS[url]


def missing_fragments(links: list[str], origin: str, this_page: str, ids_here: set[str]
                      ) -> list[str]:
    """Local links ``page.html#x`` whose page has no element with the id ``x`` (on this page:
    ``ids_here``, its live DOM, where scripts may add ids)."""
    bad = []
    for url in sorted(set(links)):
        target, fragment = urldefrag(url)
        if not fragment or urlsplit(url).netloc != origin or not target.endswith(".html"):
            continue
        fragment = urllib.parse.unquote(fragment)
        ids = ids_here if target == this_page else page_ids(target)
        if fragment not in ids:
            bad.append(url)
    return bad


# Every cell of every table in the article whose content (the union of its text and boxes)
# reaches beyond the cell's border box: it runs into the next cell. Cells hidden on this width
# (display: none) have no boxes and are skipped.
OVERFLOWING_CELLS = """
const out = [];
document.querySelectorAll('article table').forEach((table, t) => {
  table.querySelectorAll('td, th').forEach((cell) => {
    const c = cell.getBoundingClientRect();
    if (c.width === 0 && c.height === 0) return;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const r = range.getBoundingClientRect();
    if (r.width === 0) return;
    if (r.right > c.right + 0.5 || r.left < c.left - 0.5)
      out.push({table: t, text: cell.innerText.trim().slice(0, 40),
                by: Math.round(Math.max(r.right - c.right, c.left - r.left))});
  });
});
return out;
"""


def overflow_problems(driver, width: int) -> list[str]:
    return [f"table #{c['table']}: {c['text']!r} runs {c['by']} px out of its cell at {width} px"
            for c in driver.execute_script(OVERFLOWING_CELLS)]


# The dashboard (nbutils.dashboard.html) on a phone: the verdict, the chapter and the reason of
# its lines are inside the viewport (the first line that gives a reason, and the first line).
DASHBOARD_CELLS = """
const table = document.querySelector('table.dashboard-table');
if (!table) return null;
const viewport = document.documentElement.clientWidth;
const rows = Array.from(table.querySelectorAll('tbody tr'));
const withReason = rows.find((r) => {
  const c = r.querySelector('td[data-label="why it differs"]');
  return c && c.innerText.trim();
});
const out = [];
for (const row of [rows[0], withReason]) {
  if (!row) continue;
  for (const label of ['verdict', 'chapter', 'why it differs']) {
    const cell = row.querySelector(`td[data-label="${label}"]`);
    if (!cell || (label === 'why it differs' && !cell.innerText.trim())) continue;
    const r = cell.getBoundingClientRect();
    out.push({row: row.id, label, left: r.left, right: r.right, width: r.width,
              text: cell.innerText.trim().slice(0, 30)});
  }
}
return {viewport, cells: out, lines: rows.length,
        cut: rows.filter((r) => r.innerText.includes('...')).length};
"""


def dashboard_problems(driver, width: int) -> list[str]:
    found = driver.execute_script(DASHBOARD_CELLS)
    if found is None:
        return []
    problems = [f"dashboard: {found['cut']} line(s) cut with '...'"] if found["cut"] else []
    for c in found["cells"]:
        if c["width"] <= 0 or c["left"] < -0.5 or c["right"] > found["viewport"] + 0.5:
            problems.append(f"dashboard line {c['row']}: its {c['label']} ({c['text']!r}) is "
                            f"off screen at {width} px ({c['left']:.0f}-{c['right']:.0f} px)")
    return problems


# Every figure: its file, whether it is an SVG, its displayed and natural width, whether a link
# opens it alone (figures.js), and for an SVG the smallest font size of its text (in the SVG's
# user units) and the width of its viewBox, read from the file itself.
FIGURES = r"""
const done = arguments[arguments.length - 1];
const images = Array.from(document.querySelectorAll('div.cell_output img, figure img'));
Promise.all(images.map(async (img) => {
  const src = img.currentSrc || img.src;
  const link = img.closest('a');
  const info = {src: img.getAttribute('src'), shown: img.getBoundingClientRect().width,
                natural: img.naturalWidth, svg: /\.svg($|\?)/i.test(src),
                zoom: !!(link && link.href === src)};
  if (!info.svg) return info;
  const text = await (await fetch(src)).text();
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  const box = (root.getAttribute('viewBox') || '').trim().split(/[ ,]+/).map(Number);
  info.viewWidth = box.length === 4 ? box[2] : parseFloat(root.getAttribute('width'));
  const sizes = [];
  doc.querySelectorAll('text').forEach((t) => {
    if (!t.textContent.trim()) return;
    const style = (t.getAttribute('style') || '') + ';' + (t.getAttribute('font') || '');
    let m = style.match(/font-size:\s*([\d.]+)/) || style.match(/font:[^;]*?([\d.]+)px/);
    const size = m ? parseFloat(m[1]) : parseFloat(t.getAttribute('font-size'));
    if (size > 0) sizes.push(size);
  });
  info.texts = sizes.length;
  info.minFont = sizes.length ? Math.min(...sizes) : null;
  // the SVG's user unit in CSS px when shown alone: its width attribute (pt) over the viewBox
  const w = root.getAttribute('width') || '';
  const pt = w.endsWith('pt') ? parseFloat(w) * 4 / 3 : parseFloat(w);
  info.fullScale = pt > 0 && info.viewWidth > 0 ? pt / info.viewWidth : 1;
  return info;
})).then(done, (e) => done({error: String(e)}));
"""


def figure_problems(driver) -> tuple[list[str], list[str]]:
    """Problems of the page's figures at this width, and a line per figure for the log."""
    found = driver.execute_async_script(FIGURES)
    if isinstance(found, dict):
        return [f"figures could not be read: {found['error']}"], []
    problems, log = [], []
    for f in found:
        name = (f["src"] or "").rsplit("/", 1)[-1]
        if not f["zoom"]:
            problems.append(f"figure {name}: no link opens it alone (book/_static/figures.js)")
        if not f["svg"]:
            problems.append(f"figure {name}: a raster image ({f['natural']} px shown at "
                            f"{f['shown']:.0f} px); its text cannot be measured: draw it as "
                            "SVG (nbutils.style)")
            continue
        if not f["texts"]:
            log.append(f"{name}: SVG without text")
            continue
        page_px = f["minFont"] * f["shown"] / f["viewWidth"]
        full_px = f["minFont"] * f["fullScale"]
        log.append(f"{name}: smallest text {page_px:.1f} px in the page, {full_px:.1f} px alone")
        if page_px < MIN_TEXT_PX and not (f["zoom"] and full_px >= MIN_TEXT_PX):
            problems.append(f"figure {name}: smallest text {page_px:.1f} px in the page and "
                            f"{full_px:.1f} px opened alone (at least {MIN_TEXT_PX:g} wanted)")
    return problems, log


@pytest.mark.parametrize("page", PAGES)
def test_page_in_the_browser(browser, server: str, page: str):
    """One page at 1400, 1000 and 400 px; every problem found is listed."""
    problems: list[str] = []
    set_viewport(browser, DESKTOP)
    console_errors(browser)  # empty the log
    browser.get(server + page)
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete")

    math = browser.execute_async_script(WAIT_FOR_MATHJAX)
    if math["hasMath"] and not math["loaded"]:
        problems.append("the page has formulas but MathJax did not load")
    if math.get("error"):
        problems.append(f"MathJax failed: {math['error']}")
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; document.fonts.ready.then(() => done());")
    problems += [f"raw TeX left: {t}" for t in raw_tex(
        browser.execute_script(VISIBLE_TEXT_OUTSIDE_CODE))]

    problems += [f"image not loaded: {src}" for src, width
                 in browser.execute_async_script(WAIT_FOR_IMAGES) if not width]

    found = browser.execute_script(LINKS_AND_RESOURCES)
    origin = urlsplit(server).netloc
    problems += [f"loaded from outside the book: {url}" for url in found["resources"]
                 if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin]
    local = sorted({urldefrag(url).url for url in found["links"]
                    if urlsplit(url).netloc == origin})
    for url in local:
        status = http_status(url)
        if status != 200:
            problems.append(f"local link {url[len(server) - 1:]} answers HTTP {status}")
    ids_here = set(browser.execute_script(
        "return Array.from(document.querySelectorAll('[id], [name]'))"
        ".map((e) => e.id || e.getAttribute('name'))"))
    problems += [f"local link {url[len(server) - 1:]}: no such anchor on its page"
                 for url in missing_fragments(found["links"], origin, server + page, ids_here)]
    problems += [f"link to a placeholder: {url}"
                 for url in placeholder_links(found["links"], origin, repository_url())]

    figures, log = figure_problems(browser)
    problems += figures
    if log:
        print(f"{page}: " + "; ".join(log))
    name = page.removesuffix(".html").replace("/", "-")
    for width in WIDTHS:
        set_viewport(browser, width)
        problems += verdict_problems(browser, width)
        problems += overflow_problems(browser, width)
        if width == PHONE:
            problems += dashboard_problems(browser, width)
        if width != MIDDLE:
            screenshot(browser, SCREENSHOTS /
                       f"{name}-{'desktop' if width == DESKTOP else 'phone'}.png")

    problems += [f"console error: {m}" for m in console_errors(browser)]
    set_viewport(browser, DESKTOP)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_placeholder_links_are_recognized():
    origin = "127.0.0.1:8000"
    links = ["https://github.com/nbutils-book/neuron-importance-ablation/issues/new",
             "https://mybinder.org/v2/gh/someone/repo/main", "https://example.com/x",
             "https://github.com/executablebooks/jupyter-book",
             "https://doi.org/10.1109/TNNLS.2021.3088685", "http://127.0.0.1:8000/book/x.html",
             "https://creativecommons.org/licenses/by/4.0/"]
    assert placeholder_links(links, origin, "") == sorted(links[:4])
    mine = "https://github.com/someone/repo"
    assert placeholder_links(links, origin, mine) == sorted(
        [links[0], links[2], links[3]])            # Binder of the book's own repository: fine


# ------------------------------------------------- the stylesheet on the claims-table markup
SAMPLE_ROWS = [
    ("F3a", "Ablating the low-MI neurons of layer 1 first costs less accuracy than random "
            "ablation (MG 0.04, p < 0.001)",
     "MG 0.031 at k = 50 (Wilcoxon p = 0.0039, 8 seeds); same direction at every k from 20",
     "partly", "quick profile: 8 seeds instead of 50 (less power); the gap is smaller than the "
               "paper's at k = 50 and k = 80, and our epochs are chosen by validation within "
               "the paper's 8-30 (results_cache/ensemble_mnist_784-100-100-10_relu_l2.json)"),
    ("S1", "Test accuracy 98 %", "97.9 % (mean of 8 seeds)", "reproduced", "none at this "
                                                                            "precision"),
    ("F4c", "Selectivity predicts nothing across layers", "it does in layer 2", "not reproduced",
     "the opposite sign in layer 2 with sigmoid activations"),
    ("P1", "Pruning by MI beats magnitude pruning", "not run", "not testable",
     "the pruning chapter is later work"),
    # the long claim names that overflowed their column at 1000 and 1400 px (issue #29)
    ("F1a (FashionMNIST half)", "entropy and MI increase towards deeper layers", "yes",
     "reproduced", ""),
    ("F1a/F1d (FashionMNIST)", "MI larger with Dropout", "no", "partly", "a difference"),
    ("F4b (no regularizer)", "KL low better, high worse", "yes", "reproduced", ""),
    ("M3 (Ex. 1-4)", "the measures mislead", "yes", "reproduced", ""),
    ("S4 (MNIST, FashionMNIST)", "50 seeds", "50 seeds", "reproduced", ""),
]


def claims_table_html(rows: list[tuple[str, str, str, str, str]]) -> str:
    """The markup of a chapter's claims table, written by nbutils.report.ClaimsTable itself."""
    from nbutils.claims import Claim
    from nbutils.report import claims_table

    return claims_table([Claim(c, p, o, v, w) for c, p, o, v, w in rows])._repr_html_()


def dashboard_html(rows: list[tuple[str, str, str, str, str]]) -> str:
    """The markup of the claims dashboard, written by nbutils.dashboard.html itself, for the
    same rows as recorded by two chapters (one of them provisional)."""
    from nbutils import dashboard
    from nbutils.claims import Reason

    recorded = [dashboard.Row(c, v, w, "paper" if i % 2 else "quick",
                              "05_layerwise_mnist.ipynb" if i % 2 else "06_x.ipynb",
                              "5. Fig. 3: layer-wise ablation" if i % 2 else "6. Fig. 4",
                              o, not i % 2, (Reason("note", w),) if w else (), "claim-x")
                for i, (c, p, o, v, w) in enumerate(rows)
                if c.split()[0] in dashboard.REGISTER]
    table = dashboard.dashboard(recorded)[lambda t: t["chapter"] != ""]
    # the column "same under both readings?": the paper lines judged under the other reading
    # too, the first with another verdict ("no: not reproduced (paper, per channel)")
    other = dashboard.ReadingRun("paper, per channel", "paper", "standardized")
    judged = [(Path(r.chapter).stem, r.claim) for r in table.itertuples() if r.profile == "paper"]
    record = dashboard.ChangesRecord(
        (dashboard.ReadingRun("paper, [0, 1]", "paper", "unit"), other),
        {key: {other.name: "not reproduced" if i == 0 else v}
         for i, (key, v) in enumerate(zip(judged, table[table["profile"] == "paper"]["verdict"]))},
        {key: "changes-x" for key in judged})
    return dashboard.html(dashboard.both_readings(table, record, "unit").reset_index(drop=True))


# the theme's rules for notebook outputs and Markdown tables, as pydata-sphinx-theme 0.17
# writes them (its sideways-scrolling wrappers; output tables laid out automatically), and the
# width of its text column at each viewport (measured in the built book: 784 px at 1400 px,
# 736 px at 1000 px, the viewport less 32 px on a phone)
THEME_WRAPPERS = """
*, ::before, ::after { box-sizing: border-box; }
body { margin: 0; padding: 16px; font-family: sans-serif; font-size: 16px; }
article.bd-content { max-width: 784px; }
@media (max-width: 1200px) { article.bd-content { max-width: 736px; } }
div.cell_output .output { max-width: 100%; overflow-x: auto; }
.bd-content div.output table { table-layout: auto; }
.pst-scrollable-table-container { overflow-x: auto; }
table { border-collapse: collapse; }
table.table { width: 100%; }
"""


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed CSS colours (rgb()/rgba())."""
    def luminance(color: str) -> float:
        r, g, b = (int(float(x)) / 255 for x in re.findall(r"[\d.]+", color)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


MEASURE_CLAIMS_TABLE = """
const table = document.querySelector('table.claims-table');
const wrapper = table.closest('.output');
const heads = Array.from(table.querySelectorAll('thead th')).map((th) => ({
  text: th.textContent, width: th.getBoundingClientRect().width,
  align: getComputedStyle(th).textAlign}));
const cell = table.querySelector('tbody tr td[data-label="verdict"]');
const badges = Array.from(table.querySelectorAll('.verdict')).map((b) => {
  const s = getComputedStyle(b), r = b.getBoundingClientRect(),
        c = b.parentElement.getBoundingClientRect();
  return {cls: b.className, fg: s.color, bg: s.backgroundColor, inCell: r.left >= c.left - 0.5
          && r.right <= c.right + 0.5, width: r.width};
});
const r = cell.getBoundingClientRect();
return {heads, badges, viewport: document.documentElement.clientWidth,
        layout: getComputedStyle(table).tableLayout,
        pageOverflow: document.documentElement.scrollWidth > document.documentElement.clientWidth,
        wrapperOverflow: wrapper.scrollWidth > wrapper.clientWidth,
        cell: {left: r.left, right: r.right, width: r.width, height: r.height},
        label: getComputedStyle(cell, '::before').content,
        theadShown: table.querySelector('thead').getBoundingClientRect().height > 1};
"""


def open_styled_page(browser, folder: Path, name: str, *outputs: str) -> None:
    """Open, at desktop width, a page of ``outputs`` (HTML), each in a notebook output cell
    inside the theme's scrolling wrapper and a text column as wide as the book's, styled by the
    book's stylesheet (copied beside it); console errors so far are cleared."""
    shutil.copy(CSS, folder / CSS.name)
    cells = "".join('<div class="cell_output docutils container"><div class="output text_html">'
                    f"{html}</div></div>" for html in outputs)
    (folder / name).write_text(
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{THEME_WRAPPERS}</style>"
        f'<link rel="stylesheet" href="{CSS.name}"></head><body><article class="bd-content">'
        f"{cells}</article></body></html>", encoding="utf-8")
    set_viewport(browser, DESKTOP)
    console_errors(browser)
    browser.get((folder / name).as_uri())


def test_claims_table_stylesheet_at_1400_1000_and_400_px(browser, tmp_path: Path):
    """The book's CSS on the claims-table and dashboard markup, inside the theme's scrolling
    wrapper and a text column as wide as the book's."""
    open_styled_page(browser, tmp_path, "claims.html",
                     claims_table_html(SAMPLE_ROWS), dashboard_html(SAMPLE_ROWS))

    for width in (DESKTOP, MIDDLE):
        set_viewport(browser, width)
        wide = browser.execute_script(MEASURE_CLAIMS_TABLE)
        widths = {h["text"]: h["width"] for h in wide["heads"]}
        assert all(h["align"] in ("left", "start") for h in wide["heads"]), wide["heads"]
        assert wide["theadShown"]
        assert wide["layout"] == "fixed", "the theme's table-layout: auto must not win"
        assert widths["why they differ"] >= 200, widths
        assert widths["paper reports"] >= 130 and widths["this book measured"] >= 130, widths
        assert 40 <= widths["claim"] <= 120, widths
        assert 100 <= widths["verdict"] <= 200, widths
        assert not wide["wrapperOverflow"] and not wide["pageOverflow"]
        for badge in wide["badges"]:
            assert badge["inCell"], f"badge wider than its column: {badge}"
            assert contrast(badge["fg"], badge["bg"]) >= 4.5, badge
        colours = {b["cls"]: b["bg"] for b in wide["badges"]}
        assert len(set(colours.values())) == 4, f"each verdict its own colour: {colours}"
        assert verdict_problems(browser, width) == []
        assert overflow_problems(browser, width) == []
        if width == DESKTOP:
            screenshot(browser, SCREENSHOTS / "claims-table-css-desktop.png")

    set_viewport(browser, PHONE)
    narrow = browser.execute_script(MEASURE_CLAIMS_TABLE)
    assert not narrow["theadShown"], "the header row is replaced by labels on a phone"
    assert narrow["label"] == '"verdict"', narrow["label"]
    cell = narrow["cell"]
    assert cell["width"] > 0 and cell["height"] > 0
    assert 0 <= cell["left"] and cell["right"] <= narrow["viewport"], cell
    assert not narrow["wrapperOverflow"] and not narrow["pageOverflow"]
    assert verdict_problems(browser, PHONE) == []        # the dashboard's too
    assert overflow_problems(browser, PHONE) == []
    assert dashboard_problems(browser, PHONE) == []
    found = browser.execute_script(DASHBOARD_CELLS)
    assert {c["label"] for c in found["cells"]} == {"verdict", "chapter", "why it differs"}
    screenshot(browser, SCREENSHOTS / "claims-table-css-phone.png")
    assert console_errors(browser) == []
    set_viewport(browser, DESKTOP)


def changes_table_html() -> str:
    """The markup of the page "Verdict changes between runs", written by
    nbutils.chapters.changes.html itself: four runs, every kind of badge, a long claim name and
    a change in two comparisons."""
    from nbutils.chapters import changes

    few = {"mnist-relu-l2": 3, "cifar10-relu-l2": 1}
    runs = [changes.Run("paper", "unit", {"mnist-relu-l2": 50, "cifar10-relu-l2": 35}),
            changes.Run("quick", "unit", few), changes.Run("quick", "standardized", few),
            changes.Run("quick", "per_pixel", few)]
    lines = [("06_x", "F1a (FashionMNIST half)"), ("04_x", "F2a"), ("01_x", "S4 (MNIST, "
                                                                       "FashionMNIST)")]
    verdicts = {runs[0].name: dict(zip(lines, ("not reproduced", "reproduced", "reproduced"))),
                runs[1].name: dict(zip(lines, ("partly", "not testable", "partly"))),
                runs[2].name: dict(zip(lines[1:], ("not reproduced", "partly"))),
                runs[3].name: dict(zip(lines, ("not reproduced", "reproduced", "partly")))}
    table = changes.verdict_table(verdicts, lines, changes.comparisons(runs))
    return changes.html(table, runs, {lines[1]: "04_x.html#claim-f2a"},
                        {"04_x": "4. Fig. 2", "06_x": "6. Fig. 4", "01_x": "1. Setup"})


VERDICT_CHANGE_CELLS = """
const viewport = document.documentElement.clientWidth;
return {viewport,
        pageOverflow: document.documentElement.scrollWidth > viewport,
        cells: Array.from(document.querySelectorAll('td[data-label^="verdict, "]')).map((c) => {
          const r = c.getBoundingClientRect();
          return {left: r.left, right: r.right, width: r.width,
                  label: getComputedStyle(c, '::before').content};
        })};
"""


def test_verdict_changes_stylesheet_at_1400_1000_and_400_px(browser, tmp_path: Path):
    """The book's CSS on the markup of the verdict changes between runs: every badge inside its
    cell, no cell running into the next, nothing wider than the page; on a phone one card per
    line, each run's verdict on screen under its label."""
    open_styled_page(browser, tmp_path, "changes.html", changes_table_html())
    for width in WIDTHS:
        set_viewport(browser, width)
        assert verdict_problems(browser, width) == []
        assert overflow_problems(browser, width) == []
        found = browser.execute_script(VERDICT_CHANGE_CELLS)
        assert not found["pageOverflow"]
        assert len(found["cells"]) == 12
        for cell in found["cells"]:
            assert cell["width"] > 0 and cell["left"] >= 0, cell
            assert cell["right"] <= found["viewport"] + 0.5, cell
        if width == PHONE:
            assert all(c["label"].startswith('"verdict, ') for c in found["cells"])
        if width == DESKTOP:
            screenshot(browser, SCREENSHOTS / "verdict-changes-css-desktop.png")
    screenshot(browser, SCREENSHOTS / "verdict-changes-css-phone.png")
    assert console_errors(browser) == []
    set_viewport(browser, DESKTOP)
