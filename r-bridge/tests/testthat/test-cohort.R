# A bundle of a small Cox network and its rows in two Parquet files, made in Python.
cohort_files <- function() {
  dir <- tempfile("cohort")
  dir.create(file.path(dir, "src"), recursive = TRUE)
  reticulate::py_run_string(paste(
    "import numpy as np, pandas as pd, torch, survinng_py as sv",
    "def make_cohort(dir):",
    "    torch.manual_seed(0)",
    "    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))",
    "    cols = ['a', 'b', 'c']",
    "    rng = np.random.default_rng(1)",
    "    exp = sv.explain(net.double(), pd.DataFrame(rng.normal(size=(20, 3)), columns=cols),",
    "                     model_type='deepsurv', dtype='float64',",
    "                     baseline_hazard=([1.0, 2.0, 3.0], [0.1, 0.2, 0.4]))",
    "    sv.save_model(exp, dir + '/bundle')",
    "    rows = pd.DataFrame(rng.normal(size=(11, 3)), columns=cols)",
    "    rows.iloc[:6].to_parquet(dir + '/src/a.parquet', index=False)",
    "    rows.iloc[6:].to_parquet(dir + '/src/b.parquet', index=False)",
    sep = "\n"))$make_cohort(dir)
  dir
}

test_that("explain_dataset writes the parts and returns the cohort summaries", {
  skip_if_no_survinng_py()
  dir <- cohort_files()
  out <- file.path(dir, "out")
  res <- explain_dataset(file.path(dir, "bundle"), file.path(dir, "src"), out,
                         method = "gradshap", seed = 3, n = 4, num_samples = 2,
                         rows_per_task = 4)
  expect_identical(res$n_rows, 11L)
  expect_identical(res$n_parts, 4L)  # 4 + 2 rows, then 4 + 1 rows
  expect_identical(res$path, normalizePath(out))
  # the summaries are the means over the rows of the parts, read back in Python
  full <- reticulate::import("survinng_py.exchange")$read_dataset(out)
  values <- from_numpy(full$values[[1]])  # instance x feature x event x time
  expect_equal(res$importance$mean_abs, as.vector(aperm(apply(abs(values), 2:4, mean),
                                                       c(3, 2, 1))), tolerance = 1e-12)
  expect_identical(unique(res$importance$feature), c("a", "b", "c"))
  expect_equal(res$prediction$mean_pred, colMeans(from_numpy(full$pred)[, 1, ]),
               tolerance = 1e-12)
  expect_identical(full$args$seed, 3L)
  expect_null(res$shares)  # one input
  expect_error(explain_dataset(file.path(dir, "bundle"), file.path(dir, "src"), out),
               "`out` of explain_dataset() must be a folder that does not exist yet",
               fixed = TRUE, class = "survinngpy_error")
  expect_error(explain_dataset(file.path(dir, "bundle"), file.path(dir, "src"),
                               file.path(dir, "o2"), n = 2.5, method = "intgrad"),
               "`n` must be a whole number >= 1", fixed = TRUE)
})

test_that("explain_dataset runs SmoothGrad and returns the modality shares of two inputs", {
  skip_if_no_survinng_py()
  dir <- tempfile("cohort2")
  dir.create(file.path(dir, "src"), recursive = TRUE)
  reticulate::py_run_string(paste(
    "import numpy as np, pandas as pd, torch, survinng_py as sv",
    "class Two(torch.nn.Module):",
    "    def __init__(self):",
    "        super().__init__()",
    "        self.a, self.b = torch.nn.Linear(2, 4), torch.nn.Linear(3, 4)",
    "        self.out = torch.nn.Linear(4, 1)",
    "    def forward(self, a, b):",
    "        return self.out(torch.tanh(self.a(a) + self.b(b)))",
    "def make_two(dir):",
    "    torch.manual_seed(0)",
    "    rng = np.random.default_rng(2)",
    "    a = pd.DataFrame(rng.normal(size=(20, 2)), columns=['a1', 'a2'])",
    "    b = pd.DataFrame(rng.normal(size=(20, 3)), columns=['b1', 'b2', 'b3'])",
    "    exp = sv.explain(Two().double(), [a, b], model_type='deepsurv', dtype='float64',",
    "                     input_names=['clinical', 'omics'],",
    "                     baseline_hazard=([1.0, 2.0], [0.1, 0.3]))",
    "    sv.save_model(exp, dir + '/bundle')",
    "    pd.concat([a, b], axis=1).iloc[:7].to_parquet(dir + '/src/rows.parquet', index=False)",
    sep = "\n"))$make_two(dir)
  out <- file.path(dir, "out")
  res <- explain_dataset(file.path(dir, "bundle"), file.path(dir, "src"), out,
                         method = "smoothgrad", seed = 4, n = 3, rows_per_task = 3)
  expect_identical(res$n_parts, 3L)
  sv <- reticulate::import("survinng_py", convert = FALSE)
  full <- sv$exchange$read_dataset(out)
  expect_identical(reticulate::py_to_r(full$args)$seed, 4L)
  expected <- python_table(sv$modality_shares(sv$modality_totals(full), cohort = TRUE))
  expect_identical(names(res$shares), c("modality", "event", "time", "share"))
  expect_identical(res$shares$modality, expected$modality)
  expect_equal(res$shares$share, expected$share, tolerance = 1e-12)
  expect_equal(res$shares$share[res$shares$modality == "clinical"] +
                 res$shares$share[res$shares$modality == "omics"], c(100, 100))
})
