#' Create an explainer for a deep survival model
#'
#' Wraps a fitted model so that its predictions can be explained with
#' [surv_grad()], [surv_smoothgrad()], [surv_intgrad()] and [surv_gradSHAP()], as in
#' survinng. The computation runs in the Python package `survinng_py`, on a private
#' eval-mode copy of the network: the fitted model is never changed.
#'
#' An explainer holds a live Python object: it does not survive `saveRDS()` or the
#' end of the R session (using a restored one is an error of class
#' `survinngpy_error_restored`). To keep a model, or to fit it in another R process
#' (survinng's `callr::r()` pattern), use [extract_model()] and `explain()` its
#' result.
#'
#' @param model A fitted `survivalmodels` model (`deepsurv()`, `coxtime()`,
#'   `deephit()`: a list of class `c("<type>", "pycox", "survivalmodel")` holding the
#'   live pycox model in `$model`), the result of [extract_model()], or a reticulate
#'   handle to a fitted pycox model or to a fitted scikit-survival estimator (e.g.
#'   `RandomSurvivalForest`, `CoxPHSurvivalAnalysis`; explained on its `unique_times_`
#'   grid by [surv_shap()] only, as it has no gradients).
#' @param data (`data.frame` or `matrix`) The rows that can be explained by `instance`
#'   and that serve as background data (SmoothGrad noise scale, IntGrad reference,
#'   GradSHAP pool). A data.frame is turned into the model matrix exactly as
#'   survivalmodels does (`model.matrix(~ ., data)[, -1]`); columns are matched to the
#'   model's features by name, others (e.g. `time`, `status`) are left out. Default
#'   for survivalmodels fits: the training matrix `$x`; for extracted models: the data
#'   kept by `extract_model(include_data = TRUE)`.
#' @param dtype (`character(1)`) `"float"` (float32) or `"double"` (float64). An
#'   extracted model has the precision it was extracted in (the default, `NULL`).
#' @param ... Must be empty (survinng's arguments for R torch modules, such as
#'   `model_type`, do not apply to fitted models).
#' @return (`survinngpy_explainer`) A list with the Python explainer (`py`), the
#'   feature names (`xnames`), the numeric data (`x`), `model_class`, `dtype`, the map
#'   from model matrix columns to original variables (`variables`) and a note on where
#'   Cox baseline hazards came from (`baseline_hazard`).
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' exp <- explain(model, dat)  # the data.frame becomes the model matrix
#' exp
#' # see vignette("mixed-r-python") for survivalmodels fits and models fitted in Python
#' @export
explain <- function(model, data = NULL, ...) {
  UseMethod("explain")
}

#' @rdname explain
#' @export
explain.survivalmodel <- function(model, data = NULL, dtype = "float", ...) {
  check_dots_empty(..., where = "explain() of a survivalmodels fit")
  py_model <- check_survivalmodel(model)
  pycox_explainer(py_model, data %||% model$x, as.character(model$xnames), dtype)
}

#' @rdname explain
#' @export
explain.python.builtin.object <- function(model, data = NULL, dtype = "float", ...) {
  check_dots_empty(..., where = "explain() of a pycox model")
  if (is.null(data)) abort_arg("data", "given for a pycox model (a data.frame or a matrix)")
  check_live_model(model)
  names <- if (is.data.frame(data)) colnames(model_matrix(data, "data")) else colnames(data)
  if (is.null(names)) names <- paste0("X", seq_len(ncol(data)))
  if (is_sksurv(model)) return(sksurv_explainer(model, data, names, dtype))
  pycox_explainer(model, data, names, dtype)
}

#' @rdname explain
#' @export
explain.survinngpy_extracted <- function(model, data = NULL, dtype = NULL, ...) {
  check_dots_empty(..., where = "explain() of an extracted model")
  check_extracted(model)
  saved <- dtype_name(model$dtype)
  dtype <- if (is.null(dtype)) saved else check_string(dtype, "dtype", c("float", "double"))
  if (is.null(data)) {
    if (is.null(model$data)) {
      abort_arg("data", paste("given: the extracted model holds no data",
                              "(extract_model(..., include_data = TRUE) keeps it)"))
    }
    data <- model$data
  }
  build <- function(payload, dtype) {
    if (dtype != saved) {
      abort_arg("dtype", paste0('"', saved, '", the precision the model was extracted in ',
                                '(extract_model(..., dtype = "', dtype, '") keeps ', dtype, ")"),
                describe(dtype))
    }
    py <- call_python(bridge$explainer_from_bundle(reticulate::r_to_py(model$bundle), payload$raw,
                                                   payload$dim))
    list(py, model$baseline_hazard)
  }
  exp <- new_explainer(build, data, model$xnames, dtype)
  if (!is.data.frame(data) && !is.null(model$variables)) exp$variables <- model$variables
  exp
}

#' @rdname explain
#' @export
explain.default <- function(model, data = NULL, ...) {
  hint <- if (any(startsWith(class(model), "extracted_survivalmodels_"))) {
    " (survinng's extract_model() output needs R torch; extract the fit with survinngpy::extract_model())"
  } else ""
  abort_survinngpy(paste0(
    "`model` must be a survivalmodels fit (deepsurv, coxtime, deephit), an extract_model() ",
    "result or a pycox model; got an object of class ", paste(class(model), collapse = "/"), hint),
    "model")
}

check_survivalmodel <- function(model) {
  if (!is.list(model) || is.null(model$model) || is.null(model$xnames)) {
    abort_arg("model", "a survivalmodels fit with `$model` (the pycox model) and `$xnames`",
              describe(model))
  }
  require_python()
  if (!inherits(model$model, "python.builtin.object")) {
    abort_arg("model", "a survivalmodels fit whose `$model` is a pycox model (a Python object)",
              paste0("an object of class ", class(model$model)[1]))
  }
  check_live_model(model$model, "a survivalmodels fit")
  model$model
}

# A fitted model read back with readRDS() has lost its Python object.
check_live_model <- function(py_model, what = "a pycox model") {
  if (python_object_gone(py_model)) {
    abort_survinngpy(paste0(
      "`model`: this is ", what, " restored from a file and its Python object is gone; ",
      "fit it again, or extract_model() it in the R session that fitted it and explain() that"),
      "restored")
  }
  py_model
}

pycox_explainer <- function(py_model, data, xnames, dtype, baseline_sample = NULL) {
  dtype <- check_string(dtype, "dtype", c("float", "double"))
  build <- function(payload, dtype) {
    call_python(bridge$explainer_for_r(py_model, payload$raw, payload$dim, as.list(xnames),
                                       python_dtype(dtype), baseline_sample = baseline_sample),
                arg_map = c(data = "data"))
  }
  new_explainer(build, data, xnames, dtype)
}

# `build(payload, dtype)` returns the Python explainer and the baseline-hazard note; it
# runs again for every other dtype a method asks for.
new_explainer <- function(build, data, xnames, dtype) {
  require_python()
  prepared <- prepare_x(data, xnames, "data")
  built <- build(prepared$payload, dtype)
  cache <- new.env(parent = emptyenv())
  assign(dtype, built[[1]], envir = cache)
  structure(list(py = built[[1]], cache = cache,
                 build = function(dtype) build(prepared$payload, dtype), dtype = dtype,
                 xnames = xnames, x = prepared$x, variables = prepared$variables,
                 model_class = built[[1]]$model$model_class,
                 baseline_hazard = built[[2]]),
            class = "survinngpy_explainer")
}

python_dtype <- function(dtype) if (dtype == "double") "float64" else "float32"
dtype_name <- function(python_dtype) if (python_dtype == "float64") "double" else "float"

# The Python explainer for `dtype`, built once per dtype.
explainer_for_dtype <- function(exp, dtype) {
  if (!exists(dtype, envir = exp$cache, inherits = FALSE)) {
    assign(dtype, exp$build(dtype)[[1]], envir = exp$cache)
  }
  get(dtype, envir = exp$cache, inherits = FALSE)
}

# survivalmodels' covariate handling: model matrix without intercept.
model_matrix <- function(data, arg) {
  mm <- tryCatch(stats::model.matrix(~ ., data), error = function(e) {
    abort_arg(arg, "a data.frame that model.matrix(~ ., data) can expand", first_line(conditionMessage(e)))
  })
  assign <- attr(mm, "assign")[-1]
  labels <- attr(stats::terms(~ ., data = data), "term.labels")
  out <- mm[, -1, drop = FALSE]
  attr(out, "variables") <- stats::setNames(labels[assign], colnames(out))
  out
}

# Numeric model matrix in the column order `xnames`, its Python payload, and the map
# from each column to its original variable.
prepare_x <- function(data, xnames, arg) {
  if (!is.data.frame(data) && !is.matrix(data)) {
    abort_arg(arg, "a data.frame or a numeric matrix", describe(data))
  }
  if (anyNA(data)) abort_arg(arg, "free of missing values", "NA values")
  if (is.data.frame(data)) {
    x <- model_matrix(data, arg)
    variables <- attr(x, "variables")
  } else {
    if (!is.numeric(data)) abort_arg(arg, "numeric", paste0("a ", typeof(data), " matrix"))
    x <- data
    if (is.null(colnames(x)) && ncol(x) == length(xnames)) colnames(x) <- xnames
    variables <- stats::setNames(colnames(x), colnames(x))
  }
  missing <- setdiff(xnames, colnames(x))
  if (length(missing) > 0) {
    abort_arg(arg, paste0("columns matching the model's features (",
                          paste(xnames, collapse = ", "), ")"),
              paste0("missing ", paste(missing, collapse = ", ")))
  }
  x <- x[, xnames, drop = FALSE]
  if (any(!is.finite(x))) abort_arg(arg, "finite numbers", "non-finite values")
  list(x = x, payload = to_python_array(x), variables = variables[xnames])
}

#' @export
print.survinngpy_explainer <- function(x, ...) {
  cat("survinngpy explainer\n")
  cat("  Model class:          ", x$model_class, "\n", sep = "")
  cat("  Instances:            ", nrow(x$x), "\n", sep = "")
  cat("  Features:             ", length(x$xnames), " (", paste(utils::head(x$xnames, 5), collapse = ", "),
      if (length(x$xnames) > 5) ", ..." else "", ")\n", sep = "")
  cat("  Precision:            ", x$dtype, "\n", sep = "")
  if (x$model_class %in% c("DeepSurv", "CoxTime")) {
    cat("  Baseline hazards:     ", x$baseline_hazard, "\n", sep = "")
  }
  if (python_object_gone(x$py)) {
    cat("  Python object:        gone (restored from a file); re-create the explainer with explain()\n")
  }
  invisible(x)
}
