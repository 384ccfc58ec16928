temp_dir <- function() {
  dir <- tempfile("onnx")
  dir.create(dir)
  dir
}

skip_if_no_onnxruntime <- function() {
  skip_if_no_survinng_py()
  skip_if_not(reticulate::py_module_available("onnxruntime") &&
                reticulate::py_module_available("onnxscript"),
              "Python packages onnxruntime and onnxscript are not available")
}

# pycox's own prediction of a fitted model (computed in Python, returned as raw bytes);
# Cox baseline hazards on the training data, as survivalmodels' predict() computes them.
pycox_prediction <- function(model, x, what) {
  helpers <- reticulate::py_run_string(paste(
    "import copy, survinng_py.r",
    "def surv(m, x):",
    "    m = copy.copy(m)",
    "    m.compute_baseline_hazards()",
    "    return survinng_py.r.to_raw(m.predict_surv_df(x).to_numpy().T)",
    "def cif(m, x): return survinng_py.r.to_raw(m.predict_cif(x))", sep = "\n"))
  survinngpy:::from_python_array(helpers[[what]](model, to_numpy(x)$astype("float32")))
}

test_that("onnx_predict gives pycox's survival curves, with times as column names", {
  skip_if_no_onnxruntime()
  fit <- survivalmodels_fit("deepsurv")
  exp <- explain(fit)
  path <- file.path(temp_dir(), "survival.onnx")
  reticulate::import("survinng_py")$export_onnx(exp$py, path)
  newdata <- sim_data()$df[1:12, ]
  surv <- onnx_predict(path, newdata)
  x <- exp$x[1:12, ]
  expected <- pycox_prediction(fit$model, x, "surv")
  expect_equal(dim(surv), dim(expected))
  expect_equal(unname(surv), expected, tolerance = 1e-5)
  time <- from_numpy(exp$py$model$time)
  expect_identical(colnames(surv), as.character(time))
  expect_identical(rownames(surv), rownames(newdata))
  # the same numbers as Python's onnxruntime call, to the bit
  python <- from_numpy(reticulate::import("survinng_py")$predict_onnx(path, to_numpy(x)))
  expect_identical(unname(surv), python[, 1, ])
  # a matrix with the columns in another order is matched by name
  expect_identical(onnx_predict(path, x[, rev(colnames(x))]), onnx_predict(path, x))
})

test_that("competing risks give rows x times x events from a bundle folder", {
  skip_if_no_onnxruntime()
  fit <- survivalmodels_fit("deephit_cr")
  exp <- explain(fit)
  bundle <- file.path(temp_dir(), "bundle")
  reticulate::import("survinng_py")$save_model(exp$py, bundle, targets = list("cif"))
  cif <- onnx_predict(bundle, exp$x[1:9, ], target = "cif")
  expect_identical(dim(cif), c(9L, 8L, 2L))
  expect_identical(dimnames(cif)[[3]], c("event_1", "event_2"))
  expected <- pycox_prediction(fit$model, exp$x[1:9, ], "cif")  # (event, time, row)
  expect_equal(unname(cif), aperm(expected, c(3, 2, 1)), tolerance = 1e-5)
})

test_that("the plain reticulate snippet of the README reproduces onnx_predict", {
  skip_if_no_onnxruntime()
  fit <- survivalmodels_fit("deepsurv")
  exp <- explain(fit)
  path <- file.path(temp_dir(), "survival.onnx")
  reticulate::import("survinng_py")$export_onnx(exp$py, path)
  x <- exp$x[1:5, ]

  # --- README snippet (onnxruntime and numpy only) ---
  library(reticulate)
  ort <- import("onnxruntime", convert = FALSE)
  np <- import("numpy", convert = FALSE)
  session <- ort$InferenceSession(path, providers = list("CPUExecutionProvider"))
  labels <- py_to_r(session$get_modelmeta()$custom_metadata_map)[["survinng_py"]]
  meta <- import("json")$loads(labels)                    # time grid, names, dtype
  x <- x[, unlist(meta$feature_names[[1]])]               # numeric matrix, model's column order
  x_np <- np$frombuffer(writeBin(as.vector(t(x)), raw(), endian = "little"), dtype = "<f8")
  x_np <- x_np$reshape(nrow(x), ncol(x))$astype(meta$dtype)
  out <- py_get_item(session$run(NULL, py_dict(meta$input_names[[1]], list(x_np))), 0L)
  dims <- unlist(py_to_r(out$shape))                       # rows, events, times
  bytes <- import_builtins()$bytearray(np$ascontiguousarray(out, dtype = "<f8")$tobytes())
  pred <- aperm(array(readBin(bytes, "double", n = prod(dims)), rev(dims)))
  surv <- matrix(pred[, 1, ], nrow = dims[1], dimnames = list(NULL, unlist(meta$time)))
  # ---

  expect_identical(unname(surv), unname(onnx_predict(path, x)))
  expect_identical(colnames(surv), colnames(onnx_predict(path, x)))
})

test_that("onnx_predict refuses non-ONNX files and data without the model's columns", {
  skip_if_no_onnxruntime()
  fit <- survivalmodels_fit("deepsurv")
  exp <- explain(fit)
  dir <- temp_dir()
  csv <- file.path(dir, "rows.csv")
  writeLines("a,b\n1,2", csv)
  expect_error(onnx_predict(csv, exp$x), class = "survinngpy_error_python",
               regexp = "`path` of onnx_predict() must be an ONNX model file; got rows.csv",
               fixed = TRUE)
  path <- file.path(dir, "survival.onnx")
  reticulate::import("survinng_py")$export_onnx(exp$py, path)
  expect_error(onnx_predict(path, exp$x[, -1]), class = "survinngpy_error_argument",
               regexp = "missing age")
  expect_error(onnx_predict(dir, exp$x, target = "cif"), class = "survinngpy_error_python",
               regexp = "must be an existing ONNX file", fixed = TRUE)
})
