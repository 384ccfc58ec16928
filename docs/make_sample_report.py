"""Write the sample report ``docs/sample_report.html`` and its screenshot.

DeepHit fitted on the survinng paper's time-dependent simulation (``x1`` protects early
and harms late), 30 test patients explained with GradSHAP(t) and SurvSHAP(t), one report
with both. The screenshot (``docs/images/report.png``) needs Chromium and selenium.

    python docs/make_sample_report.py            # report + screenshot, replacing both
    python docs/make_sample_report.py --no-screenshot
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import survinng_py as sv
from survinng_py.datasets import simulate_time_dependent
from survinng_py.demo import FEATURES, _fit_models

DOCS = Path(__file__).resolve().parent


def build(out: Path, seed: int = 7) -> Path:
    torch.manual_seed(seed)
    data = simulate_time_dependent(n=2000, seed=seed)
    train, test = data.iloc[:1600], data.iloc[1600:]
    model = _fit_models(train, seed, epochs=20)["DeepHit"]
    exp = sv.explain(model, train[FEATURES].to_numpy(np.float32), feature_names=FEATURES)
    rows = test[FEATURES].to_numpy(np.float32)[:30]
    results = {
        "GradSHAP(t)": sv.surv_gradshap(exp, rows, n=25, num_samples=20, seed=seed),
        "SurvSHAP(t)": sv.surv_shap(exp, rows, num_background=50, seed=seed),
    }
    return sv.report(
        results,
        out,
        explainer=exp,
        title="DeepHit on the time-dependent simulation: 30 test patients",
        overwrite=True,
    )


def screenshot(page: Path, png: Path, time_index: int = 12) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1120",
                 "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.resolve().as_uri())
        driver.find_element(By.ID, "view-meta")
        driver.execute_script(
            "const s = document.getElementById('time'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('input'));",
            time_index,
        )
        time.sleep(0.2)
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "sample_report.html")
    parser.add_argument("--png", type=Path, default=DOCS / "images" / "report.png")
    parser.add_argument("--no-screenshot", action="store_true")
    args = parser.parse_args()
    page = build(args.out)
    print(f"wrote {page} ({page.stat().st_size / 1024:.0f} KiB)")
    if not args.no_screenshot:
        args.png.parent.mkdir(exist_ok=True)
        screenshot(page, args.png)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
