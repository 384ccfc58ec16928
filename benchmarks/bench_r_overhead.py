"""R-side overhead of the survinngpy bridge: GradSHAP(t) on 100 instances from R vs Python.

Both calls run in the same R process (reticulate): the R function `surv_gradSHAP()` (checks,
raw-byte transfer, conversion to survinng's surv_result) and the Python function
`survinng_py.surv_gradshap()` called directly through reticulate on the same explainer.
Needs R with the survinngpy package installed (`bash .ci/install`).

    python benchmarks/bench_r_overhead.py [--repeats 7] [--quick] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_write_option, environment_block, publish, table, wants_write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
R_CODE = r"""
suppressMessages(library(survinngpy))
fit_model <- reticulate::import_from_path("fit_models", path = "r-bridge/tests/testthat")$fit_model
set.seed(1)
n <- 300
x <- cbind(age = rnorm(n), bmi = runif(n), score = rnorm(n), dose = runif(n), z = rnorm(n))
time <- rexp(n, exp(0.7 * x[, 1]))
status <- as.numeric(time < 2)
time <- pmin(time, 2)
repeats <- REPEATS
out <- list()
for (kind in c("deepsurv", "coxtime", "deephit")) {
  p <- function(v) survinngpy:::to_python_array(v)
  model <- fit_model(kind, p(x)$raw, p(x)$dim, p(time)$raw, p(status)$raw)
  fit <- structure(list(x = x, xnames = colnames(x), model = model),
                   class = c(kind, "pycox", "survivalmodel"))
  exp <- explain(fit, x[1:100, ])
  sv <- reticulate::import("survinng_py")
  r_call <- function() surv_gradSHAP(exp, instance = 1:INSTANCES, n = NPOINTS,
                                     num_samples = 10, seed = 1)
  py_call <- function() sv$surv_gradshap(exp$py, instance = as.list(0:(INSTANCES - 1)),
                                         n = as.integer(NPOINTS), num_samples = 10L, seed = 1L)
  r_call(); py_call()
  t_r <- t_py <- numeric(repeats)
  for (i in seq_len(repeats)) {
    t0 <- proc.time()[["elapsed"]]; r_call(); t_r[i] <- proc.time()[["elapsed"]] - t0
    t0 <- proc.time()[["elapsed"]]; py_call(); t_py[i] <- proc.time()[["elapsed"]] - t0
  }
  out[[kind]] <- list(r = median(t_r), py = median(t_py), times = length(exp$py$model$time))
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = 6))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 7; quick 1)")
    parser.add_argument("--quick", action="store_true",
                        help="10 instances, n = 5, one round; does not write RESULTS.md "
                             "unless --write is given")
    add_write_option(parser)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 7)
    instances, n = (10, 5) if args.quick else (100, 50)
    code = (R_CODE.replace("REPEATS", str(repeats)).replace("INSTANCES", str(instances))
            .replace("NPOINTS", str(n)))
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable, PYTHONWARNINGS="ignore")
    done = subprocess.run(["Rscript", "-e", code],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_r_overhead: R failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [[kind, v["times"], f"{v['r']:.3f} s", f"{v['py']:.3f} s",
             f"{(v['r'] - v['py']) * 1e3:.0f} ms", f"{v['r'] / v['py']:.2f}x"]
            for kind, v in result.items()]
    body = "\n".join([
        f"## R bridge overhead: GradSHAP(t), {instances} instances, from R vs from Python "
        "(`bench_r_overhead.py`)",
        "",
        environment_block({"R": subprocess.run(["Rscript", "-e", "cat(R.version.string)"],
                                               capture_output=True, text=True).stdout,
                           "repeats": f"{repeats} (medians, R and Python calls interleaved)"}),
        "",
        f"Same explainer, same process: `surv_gradSHAP(exp, instance = 1:{instances}, n = {n}, "
        "num_samples = 10, seed = 1)` in R against `survinng_py.surv_gradshap(exp$py, ...)` "
        "called through reticulate. p = 5 features, models trained 2 epochs on 300 simulated rows.",
        "",
        table(["model", "times", "R call", "Python call", "R overhead", "R / Python"], rows),
    ])
    publish("bench_r_overhead", body, wants_write(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
