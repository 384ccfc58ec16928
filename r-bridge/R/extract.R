#' Extract a fitted model as a plain R object
#'
#' survinng's way to carry a fit out of the R process that made it: fit inside
#' `callr::r()` and return `extract_model(fit)`, then [explain()] the result in any
#' later R session. The result holds the model bundle of `survinng_py` (see
#' `survinng_py.save_model()`: the network as a `torch.export` program, the survival
#' head's parameters, the time grid and an ONNX graph, with the sha256 of every file)
#' as raw vectors, plus a description: no live Python object, so it survives
#' `saveRDS()`/`readRDS()` and process boundaries. `explain()` writes the bundle to a
#' temporary folder, checks and loads it (nothing is unpickled); its explanations are
#' those of the fitted model.
#'
#' Cox models get their baseline hazards as survivalmodels' `predict()` computes them,
#' on the fit's training data (all rows unless `num_basehazard` is given).
#' Extraction needs the Python package `onnx`.
#'
#' @param x A fitted `survivalmodels` model (`deepsurv()`, `coxtime()`, `deephit()`),
#'   an explainer from [explain()], or a reticulate handle to a fitted pycox model
#'   (then `data` is needed).
#' @param path (`character(1)` or `NULL`) If given, the result is also written there
#'   with `saveRDS()` (never over an existing file unless `overwrite = TRUE`).
#' @param num_basehazard (`integer(1)` or `NULL`) Cox models: estimate the baseline
#'   hazards on a random subsample of this many training rows (survinng's default was
#'   200; pycox's `sample`, drawn by numpy's global generator). `NULL` (default) uses
#'   all training rows, as survivalmodels' `predict()` does.
#' @param data (`data.frame` or `matrix`) The rows that fix the feature names and
#'   trace the network: needed for pycox models; survivalmodels fits default to their
#'   training matrix `$x`.
#' @param include_data (`logical(1)`) Keep the explainer data (`data`), so that
#'   `explain()` needs none (default `FALSE`, as survinng).
#' @param dtype (`character(1)`) `"float"` or `"double"`: the precision of the extracted
#'   network (explainers keep theirs).
#' @param overwrite (`logical(1)`) Replace an existing file at `path`.
#' @param ... Must be empty.
#' @return (`survinngpy_extracted`) A list: `bundle` (named list of raw vectors, one
#'   per file of the bundle), `xnames`, `model_class`, `source` (the pycox class),
#'   `dtype`, `n_times`, `targets`, `baseline_hazard` (where Cox baseline hazards came
#'   from), `data` and `variables` (with `include_data = TRUE`) and `versions` (of the
#'   Python packages it was written with).
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox") && reticulate::py_module_available("onnx")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' ext <- extract_model(model, data = dat, include_data = TRUE)
#' path <- tempfile(fileext = ".rds")
#' saveRDS(ext, path)  # plain R data: no live Python object inside
#' exp <- explain(readRDS(path))
#' surv_grad(exp, instance = 1)
#' # survinng's pattern: fit in another R process and return the extracted model
#' # ext <- callr::r(function(train) {
#' #   fit <- survivalmodels::deepsurv(survival::Surv(time, status) ~ ., data = train)
#' #   survinngpy::extract_model(fit)
#' # }, args = list(train = train))
#' @export
extract_model <- function(x, path = NULL, num_basehazard = NULL, ...) {
  UseMethod("extract_model")
}

#' @rdname extract_model
#' @export
extract_model.survivalmodel <- function(x, path = NULL, num_basehazard = NULL, data = NULL,
                                        include_data = FALSE, dtype = "float",
                                        overwrite = FALSE, ...) {
  check_dots_empty(..., where = "extract_model() of a survivalmodels fit")
  check_output(path, overwrite)
  py_model <- check_survivalmodel(x)
  sample <- check_count(num_basehazard, "num_basehazard", null_ok = TRUE)
  if (!is.null(sample)) sample <- min(sample, nrow(x$x))  # as survinng
  exp <- pycox_explainer(py_model, data %||% x$x, as.character(x$xnames), dtype,
                         baseline_sample = sample)
  extract_explainer(exp, path, include_data, overwrite)
}

#' @rdname extract_model
#' @export
extract_model.python.builtin.object <- function(x, path = NULL, num_basehazard = NULL, data = NULL,
                                                include_data = FALSE, dtype = "float",
                                                overwrite = FALSE, ...) {
  check_dots_empty(..., where = "extract_model() of a pycox model")
  check_output(path, overwrite)
  if (!is.null(num_basehazard)) {
    abort_arg("num_basehazard", "`NULL` for a pycox model (its baseline hazards are used as they are)",
              describe(num_basehazard))
  }
  exp <- explain(x, data, dtype = dtype)
  extract_explainer(exp, path, include_data, overwrite)
}

#' @rdname extract_model
#' @export
extract_model.survinngpy_explainer <- function(x, path = NULL, num_basehazard = NULL,
                                               include_data = FALSE, overwrite = FALSE, ...) {
  check_dots_empty(..., where = "extract_model() of an explainer")
  check_output(path, overwrite)
  if (!is.null(num_basehazard)) {
    abort_arg("num_basehazard", "`NULL` for an explainer (its baseline hazards are set)",
              describe(num_basehazard))
  }
  check_explainer(x, "x")
  extract_explainer(x, path, include_data, overwrite)
}

#' @rdname extract_model
#' @export
extract_model.default <- function(x, path = NULL, num_basehazard = NULL, ...) {
  abort_survinngpy(paste0(
    "`x` must be a survivalmodels fit (deepsurv, coxtime, deephit), an explainer or a pycox ",
    "model; got an object of class ", paste(class(x), collapse = "/")), "model")
}

check_output <- function(path, overwrite) {
  check_flag(overwrite, "overwrite")
  if (is.null(path)) return(invisible())
  check_string(path, "path")
  if (file.exists(path) && !overwrite) {
    abort_arg("path", "a file that does not exist yet (pass overwrite = TRUE to replace it)",
              describe(path))
  }
  if (!dir.exists(dirname(path))) abort_arg("path", "a file in an existing folder", describe(path))
}

extract_explainer <- function(exp, path, include_data, overwrite) {
  check_flag(include_data, "include_data")
  bundle <- call_python(bridge$bundle_for_r(exp$py))
  out <- structure(list(
    bundle = bundle$files,
    xnames = exp$xnames, model_class = bundle$model_class, source = bundle$source,
    dtype = bundle$dtype, n_times = as.integer(bundle$n_times),
    targets = as.character(unlist(bundle$targets)), baseline_hazard = exp$baseline_hazard,
    data = if (include_data) exp$x, variables = if (include_data) exp$variables,
    versions = bundle$versions), class = "survinngpy_extracted")
  if (!is.null(path)) save_new_rds(out, path, overwrite)
  out
}

# saveRDS() to a temporary file in the same folder, published by a hard link (a new
# file: fails if one appeared meanwhile) or a rename (overwrite): readers see the old
# file or the new one, never a partial write.
save_new_rds <- function(object, path, overwrite) {
  tmp <- tempfile(".survinngpy-", tmpdir = dirname(path), fileext = ".rds")
  on.exit(unlink(tmp), add = TRUE)
  saveRDS(object, tmp)
  published <- if (overwrite) file.rename(tmp, path) else suppressWarnings(file.link(tmp, path))
  if (!published) {
    abort_arg("path", if (overwrite) "a file that can be written" else
      "a file that does not exist yet (pass overwrite = TRUE to replace it)", describe(path))
  }
  invisible(path)
}

check_extracted <- function(model) {
  ok <- is.list(model) && is.list(model$bundle) && length(model$bundle) > 0 &&
    !is.null(names(model$bundle)) && all(vapply(model$bundle, is.raw, logical(1))) &&
    is.character(model$xnames) && is.character(model$dtype) && length(model$dtype) == 1 &&
    model$dtype %in% c("float32", "float64")
  if (!ok) {
    abort_arg("model", "an extract_model() result (a list with `bundle`, `xnames` and `dtype`)",
              "a list without them")
  }
  model
}

#' @export
print.survinngpy_extracted <- function(x, ...) {
  cat("survinngpy extracted model (explain() it in any R session)\n")
  cat("  Model class:          ", x$model_class, " (pycox ", x$source, ")\n", sep = "")
  cat("  Features:             ", length(x$xnames), " (", paste(utils::head(x$xnames, 5), collapse = ", "),
      if (length(x$xnames) > 5) ", ..." else "", ")\n", sep = "")
  cat("  Time points:          ", x$n_times, "\n", sep = "")
  cat("  Targets:              ", paste(x$targets, collapse = ", "), "\n", sep = "")
  cat("  Precision:            ", dtype_name(x$dtype), "\n", sep = "")
  if (x$model_class %in% c("DeepSurv", "CoxTime")) {
    cat("  Baseline hazards:     ", x$baseline_hazard, "\n", sep = "")
  }
  cat("  Data kept:            ", if (is.null(x$data)) "no" else paste(nrow(x$data), "rows"), "\n", sep = "")
  invisible(x)
}
