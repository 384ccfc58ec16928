"""The HTML report in a real browser: headless Chromium driven by selenium.

The page must load from a ``file://`` URL without console errors or requests, and its
numbers must be exactly the result's after selecting patients, events, results and
times. A screenshot of every view is saved under the test's temporary folder (the folder
``SURVINNG_REPORT_SCREENSHOTS`` names, when set).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_report import multimodal_explainer, tabular_explainer

import survinng_py as sv

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
    pytest.skip(
        f"Chromium and its driver are needed ({CHROMIUM}, {DRIVER}: apt-get install chromium "
        "chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is needed: pip install selenium")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1300,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Reports of a GradSHAP(t) + SurvSHAP(t) pair with 12 features (more than the
    waterfall draws one by one), of competing risks and of an image + table network."""
    folder = tmp_path_factory.mktemp("reports")
    exp = tabular_explainer(p=12)
    gradshap = sv.surv_gradshap(exp, instance=range(6), seed=1)
    grad = sv.surv_grad(exp, instance=[1, 4])
    risks = sv.surv_intgrad(tabular_explainer(risks=2, dtype="float64"), instance=[0, 2, 3], target="cif")
    image = sv.surv_gradshap(multimodal_explainer(), instance=range(4), seed=2)
    return {
        "tabular": (sv.report([gradshap, grad], folder / "tabular.html", explainer=exp), [gradshap, grad]),
        "risks": (sv.report(risks, folder / "risks.html"), [risks]),
        "image": (sv.report(image, folder / "image.html"), [image]),
    }


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("SURVINNG_REPORT_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def open_page(driver, path: Path) -> None:
    driver.get(path.resolve().as_uri())
    driver.find_element(By.ID, "view-meta")  # built by the script


def readout(driver, section: str, key: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#view-{section} [data-key='{key}']").get_attribute("data-value")


def shown(value: str, like: np.ndarray) -> np.generic:
    """A page's exact decimal read back in the result's precision."""
    return like.dtype.type(float(value))


def bar_value(bar, res) -> float:
    """A waterfall bar's value: a feature's in the result's precision, the bar of the
    other features their sum in float64."""
    value = bar.get_attribute("data-value")
    if bar.get_attribute("data-name") in res.feature_names[0]:
        return float(shown(value, res.values[0]))
    return float(value)


def set_time(driver, k: int) -> None:
    """Move the slider with the keyboard, as a reader does."""
    slider = driver.find_element(By.ID, "time")
    slider.send_keys(Keys.HOME)
    for _ in range(k):
        slider.send_keys(Keys.ARROW_RIGHT)


@pytest.mark.parametrize("name", ["tabular", "risks", "image"])
def test_loads_offline_without_console_errors(browser, pages, screenshots, name):
    path, _ = pages[name]
    browser.get_log("browser")  # drop earlier pages' messages
    open_page(browser, path)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    requested = browser.execute_script(
        "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name))"
    )
    assert all(url.startswith(("file:", "data:")) for url in requested), requested
    assert browser.execute_script("return document.querySelectorAll('[src], [href], link, iframe').length") == 0
    policy = browser.find_element(By.CSS_SELECTOR, "meta[http-equiv='Content-Security-Policy']")
    assert policy.get_attribute("content").startswith("default-src 'none';")
    for section in browser.find_elements(By.CSS_SELECTOR, "main > section:not(.hidden)"):
        out = screenshots / f"{name}-{section.get_attribute('id')}.png"
        section.screenshot(str(out))
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_patient_and_time_show_the_results_numbers(browser, pages):
    path, (res, _) = pages["tabular"]
    open_page(browser, path)
    for i, t in [(0, 0), (3, 4), (5, 9)]:
        Select(browser.find_element(By.ID, "patient")).select_by_index(i)
        set_time(browser, t)
        assert float(browser.find_element(By.ID, "time-value").get_attribute("data-value")) == res.time[t]
        for key in ("pred", "pred_ref"):
            assert shown(readout(browser, "curve", key), res.pred) == getattr(res, key)[i, 0, t]
            assert shown(readout(browser, "force", key), res.pred) == getattr(res, key)[i, 0, t]
        assert shown(readout(browser, "force", "pred_diff"), res.pred) == res.pred_diff[i, 0, t]
        bars = browser.find_elements(By.CSS_SELECTOR, "#view-force rect.force-bar")
        one_by_one = {b.get_attribute("data-name"): b.get_attribute("data-value") for b in bars[:10]}
        for name, value in one_by_one.items():
            j = res.feature_names[0].index(name)
            assert shown(value, res.values[0]) == res.values[0][i, j, 0, t]
        ten_largest = np.argsort(-np.abs(res.values[0][i, :, 0, t]), kind="stable")[:10]
        assert sorted(one_by_one) == sorted(res.feature_names[0][j] for j in ten_largest)


def test_waterfall_bars_sum_to_pred_diff_minus_the_gap(browser, pages):
    path, (res, _) = pages["tabular"]
    open_page(browser, path)
    for i, t in [(1, 2), (4, 7)]:
        Select(browser.find_element(By.ID, "patient")).select_by_index(i)
        set_time(browser, t)
        bars = browser.find_elements(By.CSS_SELECTOR, "#view-force rect.force-bar")
        assert len(bars) == 11  # ten features and "2 other feature(s)"
        total = sum(bar_value(b, res) for b in bars)
        diff = float(shown(readout(browser, "force", "pred_diff"), res.pred))
        gap = float(readout(browser, "force", "gap"))
        assert total == pytest.approx(diff - gap, abs=1e-12)
        assert gap == pytest.approx(float(res.pred_diff[i, 0, t]) - float(res.values[0][i, :, 0, t].astype(float).sum()), abs=1e-7)
        drawn = browser.find_element(By.CSS_SELECTOR, "#view-force rect.force-gap").get_attribute("data-value")
        assert float(drawn) == gap


def test_result_selector_keeps_the_patient(browser, pages):
    path, (_, grad) = pages["tabular"]
    open_page(browser, path)
    Select(browser.find_element(By.ID, "patient")).select_by_visible_text("id 4")
    set_time(browser, 6)
    Select(browser.find_element(By.ID, "result")).select_by_visible_text("Grad(t)")
    assert Select(browser.find_element(By.ID, "patient")).first_selected_option.text == "id 4"
    assert shown(readout(browser, "force", "pred"), grad.pred) == grad.pred[1, 0, 6]
    assert browser.find_elements(By.CSS_SELECTOR, "#view-force [data-key='gap']") == []
    bars = browser.find_elements(By.CSS_SELECTOR, "#view-force rect.force-bar")
    total = sum(bar_value(b, grad) for b in bars)
    assert total == pytest.approx(float(readout(browser, "force", "sum")), abs=1e-12)


def test_event_selector_of_competing_risks(browser, pages):
    path, (res,) = pages["risks"]
    open_page(browser, path)
    assert browser.find_element(By.ID, "event").is_displayed()
    Select(browser.find_element(By.ID, "patient")).select_by_index(2)
    set_time(browser, 5)
    for e in (0, 1):
        Select(browser.find_element(By.ID, "event")).select_by_index(e)
        assert float(readout(browser, "curve", "pred")) == res.pred[2, e, 5]  # float64: as is
        assert float(readout(browser, "force", "pred_diff")) == res.pred_diff[2, e, 5]


def test_image_heatmap_and_modality_shares(browser, pages):
    path, (res,) = pages["image"]
    open_page(browser, path)
    Select(browser.find_element(By.ID, "patient")).select_by_index(3)
    set_time(browser, 3)
    cells = browser.find_elements(By.CSS_SELECTOR, "#view-images rect[data-value]")
    drawn = np.array([shown(c.get_attribute("data-value"), res.values[0]) for c in cells])
    assert np.array_equal(drawn, res.values[0][3, 0, :, :, 0, 3].reshape(-1))  # one channel
    totals = np.array([res.values[0][3, ..., 0, 3].astype(float).sum(), res.values[1][3, :, 0, 3].astype(float).sum()])
    share = [float(e.get_attribute("data-value")) for e in browser.find_elements(By.CSS_SELECTOR, "#view-modalities [data-key='share']")]
    assert share == pytest.approx(100 * np.abs(totals) / np.abs(totals).sum(), rel=1e-6)


def test_clicking_the_attribution_chart_moves_the_time(browser, pages):
    path, (res, _) = pages["tabular"]
    open_page(browser, path)
    zone = browser.find_elements(By.CSS_SELECTOR, "#view-attribution svg rect")[-1]
    width, (first, last) = zone.size["width"], res.time[[0, -1]]
    offset = (res.time[6] - (first + last) / 2) / (last - first) * width  # from the centre
    webdriver.ActionChains(browser).move_to_element_with_offset(zone, round(offset), 0).click().perform()
    assert float(browser.find_element(By.ID, "time-value").get_attribute("data-value")) == res.time[6]
    assert browser.find_element(By.ID, "time").get_attribute("value") == "6"
