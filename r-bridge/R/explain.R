#' Create an explainer for a deep survival model
#'
#' Wraps a fitted model so that its predictions can be explained with
#' [surv_grad()], [surv_smoothgrad()], [surv_intgrad()] and [surv_gradSHAP()].
#' The computation runs in the Python package `survinng_py`, on a private eval-mode
#' copy of the network: the fitted model is never changed.
#'
#' @param model A fitted `survivalmodels` model (`deepsurv()`, `coxtime()`,
#'   `deephit()`: a list of class `c("<type>", "pycox", "survivalmodel")` holding the
#'   live pycox model in `$model`), or a reticulate handle to a fitted pycox model.
#' @param data (`data.frame` or `matrix`) The rows that can be explained by `instance`
#'   and that serve as background data (SmoothGrad noise scale, IntGrad reference,
#'   GradSHAP pool). A data.frame is turned into the model matrix exactly as
#'   survivalmodels does (`model.matrix(~ ., data)[, -1]`, columns in the order of
#'   the fit's `xnames`). Default for survivalmodels fits: the training matrix `$x`.
#' @param dtype (`character(1)`) `"float"` (float32) or `"double"` (float64).
#' @param ... Unused.
#' @return (`survinngpy_explainer`) A list with the Python explainer (`py`), the
#'   feature names (`xnames`), the numeric data (`x`), `model_class`, the map from model
#'   matrix columns to original variables (`variables`) and a note on where Cox
#'   baseline hazards came from (`baseline_hazard`).
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # see vignette("survinngpy") for a complete example with a fitted model
#' @export
explain <- function(model, data = NULL, dtype = "float", ...) {
  UseMethod("explain")
}

#' @rdname explain
#' @export
explain.survivalmodel <- function(model, data = NULL, dtype = "float", ...) {
  if (!is.list(model) || is.null(model$model) || is.null(model$xnames)) {
    abort_arg("model", "a survivalmodels fit with `$model` (the pycox model) and `$xnames`",
              describe(model))
  }
  if (is.null(data)) data <- model$x
  new_explainer(model$model, data, as.character(model$xnames), dtype)
}

#' @rdname explain
#' @export
explain.python.builtin.object <- function(model, data = NULL, dtype = "float", ...) {
  if (is.null(data)) abort_arg("data", "given for a pycox model (a data.frame or a matrix)")
  names <- if (is.data.frame(data)) colnames(model_matrix(data)) else colnames(data)
  if (is.null(names)) names <- paste0("X", seq_len(ncol(data)))
  new_explainer(model, data, names, dtype)
}

#' @rdname explain
#' @export
explain.default <- function(model, data = NULL, dtype = "float", ...) {
  cli::cli_abort(c(
    "{.arg model} must be a survivalmodels fit ({.cls deepsurv}, {.cls coxtime}, {.cls deephit}) or a pycox model.",
    x = "Got an object of class {.cls {class(model)}}."
  ), class = c("survinngpy_error_model", "survinngpy_error"), call = NULL)
}

new_explainer <- function(py_model, data, xnames, dtype) {
  require_python()
  dtype <- check_string(dtype, "dtype", c("float", "double"))
  prepared <- prepare_x(data, xnames, "data")
  build <- function(dtype) {
    call_python(bridge$explainer_for_r(py_model, prepared$payload$raw, prepared$payload$dim,
                                       as.list(xnames), python_dtype(dtype)),
                arg_map = c(data = "data"))
  }
  built <- build(dtype)
  cache <- new.env(parent = emptyenv())
  assign(dtype, built[[1]], envir = cache)
  structure(list(py = built[[1]], cache = cache, build = build, dtype = dtype,
                 xnames = xnames, x = prepared$x, variables = prepared$variables,
                 model_class = built[[1]]$model$model_class,
                 baseline_hazard = built[[2]]),
            class = "survinngpy_explainer")
}

python_dtype <- function(dtype) if (dtype == "double") "float64" else "float32"

# The Python explainer for `dtype`, built once per dtype.
explainer_for_dtype <- function(exp, dtype) {
  if (!exists(dtype, envir = exp$cache, inherits = FALSE)) {
    assign(dtype, exp$build(dtype)[[1]], envir = exp$cache)
  }
  get(dtype, envir = exp$cache, inherits = FALSE)
}

# survivalmodels' covariate handling: model matrix without intercept.
model_matrix <- function(data) {
  mm <- stats::model.matrix(~ ., data)
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
    x <- model_matrix(data)
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
  cat("  Model class:         ", x$model_class, "\n")
  cat("  Instances:           ", nrow(x$x), "\n")
  cat("  Features:            ", length(x$xnames), "(", paste(utils::head(x$xnames, 5), collapse = ", "),
      if (length(x$xnames) > 5) ", ..." else "", ")\n")
  cat("  Precision:           ", x$dtype, "\n")
  if (x$model_class %in% c("DeepSurv", "CoxTime")) {
    cat("  Baseline hazards:    ", x$baseline_hazard, "\n")
  }
  invisible(x)
}
