"""The documentation: complete numpydoc sections for every public function, and the built
site opened in headless Chromium (``bash .ci/docs`` builds it, then runs this file)."""
import importlib
import inspect
import re
from pathlib import Path

import pytest

import survinng_py

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = SITE / "_static" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
#: page -> (what it is, the least number of images it must show)
PAGES = {
    "index.html": ("the front page", 1),
    "api/generated/survinng_py.surv_gradshap.html": ("an API page", 0),
    "guide/methods.html": ("a page with formulas", 0),
    "auto_gallery/plot_sim_time_dependent.html": ("a gallery page", 3),
    "auto_gallery/plot_00_quickstart.html": ("the quick start's gallery page", 3),
}
#: modules whose public functions the API reference documents (besides the top level):
#: all of them (None), or those named; keep in step with docs/conf.py's API_MEMBERS
MODULES = {"exchange": None, "bundle": None, "onnx_export": None, "cohort": None,
           "datasets": None, "metrics": None, "modality": None, "plot": None,
           "methods.registry": None,
           "models": ["register_family", "unregister_family", "families", "load_entry_points"],
           # the rest of survinng_py.r is the R package's side of the bridge
           "r": ["to_raw", "from_raw", "to_r", "save_rds", "read_rds"]}
#: public methods that the package's own code calls, not users (they take ``where``)
INTERNAL = {"survinng_py.Explainer.points", "survinng_py.Explainer.to_inputs"}
SECTIONS = ("Parameters", "Returns", "Raises", "Examples")


def _public_functions():
    """(qualified name, function) of every public function and public method users call."""
    seen = {}
    for name in survinng_py.__all__:
        obj = getattr(survinng_py, name)
        if inspect.isfunction(obj):
            seen.setdefault(obj, f"survinng_py.{name}")
        elif inspect.isclass(obj) and not issubclass(obj, Exception):
            for attr, member in vars(obj).items():
                if inspect.isfunction(member) and not attr.startswith("_"):
                    seen.setdefault(member, f"survinng_py.{name}.{attr}")
    for module_name, chosen in MODULES.items():
        module = importlib.import_module(f"survinng_py.{module_name}")
        names = chosen or getattr(module, "__all__",
                                  [n for n in vars(module) if not n.startswith("_")])
        for name in names:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                seen.setdefault(obj, f"{module.__name__}.{name}")
    return sorted((qualname, fn) for fn, qualname in seen.items() if qualname not in INTERNAL)


def _raises_anything(fn):
    """Whether the function's own code can raise: a raise, or a call of a checking helper."""
    source = inspect.getsource(fn)
    return bool(re.search(r"\braise\b|\bfail\(|\bcheck_\w+\(|_checked\(|\bvalidate", source))


def test_every_public_function_has_numpydoc_sections():
    missing = []
    for qualname, fn in _public_functions():
        doc = inspect.getdoc(fn) or ""
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL,
                                                                       p.VAR_KEYWORD)]
        wanted = [s for s in SECTIONS if s != "Parameters" or params]
        if "Raises" in wanted and not _raises_anything(fn):
            wanted.remove("Raises")
        for section in wanted:
            if not re.search(rf"^{section}\n-{{{len(section)}}}$", doc, flags=re.M):
                missing.append(f"{qualname}: {section}")
    assert not missing, "\n".join(missing)


# -- the built site in a browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not (SITE / "index.html").is_file():
        pytest.skip(f"the documentation site is not built ({SITE}): run `bash .ci/docs`")
    # a built site is checked, never skipped: these are installed by .ci/install
    from selenium import webdriver

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    assert not missing, f"Debian's chromium and chromium-driver are needed: {missing}"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_console_errors_and_shows_its_images(browser, page):
    what, least_images = PAGES[page]
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((SITE / page).as_uri())
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    wait.until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete)"))
    if "formulas" in what:  # MathJax, served by the site itself, typesets every formula
        wait.until(lambda d: d.execute_script(
            "return document.querySelectorAll('.math .MathJax_CHTML').length > 0 && "
            "document.querySelectorAll('.MathJax_Processing, .MathJax_Error').length == 0"))
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.src, i.naturalWidth])")
    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(height, 800), 12000))  # the whole page, figures too
    browser.save_screenshot(str(SCREENSHOTS / (page.replace("/", "_")[:-5] + ".png")))
    browser.set_window_size(1280, 1600)

    assert not errors, f"{what} ({page}) logged errors: {errors}"
    assert len(images) >= least_images, f"{what} ({page}) shows {len(images)} images"
    broken = [src for src, width in images if width == 0]
    assert not broken, f"{what} ({page}) has images that did not load: {broken}"
    assert browser.title and "survinng-py" in browser.title
    if page.startswith("api/"):
        body = browser.find_element("tag name", "main").text
        for section in ("Parameters", "Returns", "Examples"):
            assert section in body, f"{page} lacks {section}"


def test_changelog_page_shows_the_repository_changelog():
    page = SITE / "changelog.html"
    if not page.is_file():
        pytest.skip(f"the documentation site is not built ({SITE}): run `bash .ci/docs`")
    html = page.read_text(encoding="utf-8")
    changelog = ROOT / "CHANGELOG.md"
    if changelog.is_file():
        headings = re.findall(r"^#{1,3} +(.+)$", changelog.read_text(encoding="utf-8"), re.M)
        assert headings
        # the words of every heading (markup, quotes and link targets aside)
        words = {w for h in headings for w in re.findall(r"[A-Za-z0-9][\w.-]*", h)
                 if not w.startswith("http")}
        missing = sorted(w for w in words if w not in html)
        assert not missing, missing
    else:
        assert "No release has been recorded yet." in html
