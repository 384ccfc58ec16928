#' Compare attribution methods on the same instances
#'
#' One row per pair of results: how far the methods agree on which features matter,
#' and how well each adds up to the prediction it explains. Each result's importance
#' of a feature is its mean absolute attribution over instances, events and time points
#' (the global ranking); per time point, over instances and events; per instance, over
#' events and time points. Rank agreement is Spearman's correlation (`NA` where a
#' ranking is constant). Computed by the Python core (`survinng_py.compare`).
#'
#' @param ... (`survinngpy_result`) At least two results for the same instances,
#'   features, target, events and time grid, e.g. [surv_shap()] and [surv_gradSHAP()]
#'   of one explainer.
#' @param names (`character()` or `NULL`) One distinct name per result; `NULL` uses the
#'   methods' labels, numbered where they repeat.
#' @return (`survinngpy_compare`, a `data.frame`) Columns `method_a`, `method_b`,
#'   `spearman_global` (global rankings), `spearman_time_mean` (mean over time points
#'   of the rankings per time point), `instance_spearman_mean` (mean over instances of
#'   the rankings per instance), `top1_agreement` (share of instances whose most
#'   important feature is the same) and `local_accuracy_a`, `local_accuracy_b` (the
#'   local accuracy of each result; `NA` for methods without `pred_diff`).
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # exp <- explain(fit)
#' # compare(surv_shap(exp, instance = 1:10), surv_gradSHAP(exp, instance = 1:10))
#' @export
compare <- function(..., names = NULL) {
  results <- list(...)
  if (length(results) < 2) {
    abort_arg("...", "at least two survinngpy results", paste(length(results), "given"))
  }
  for (k in seq_along(results)) {
    if (!inherits(results[[k]], "survinngpy_result")) {
      abort_arg(paste0("..", k), "a survinngpy result (from surv_shap(), surv_gradSHAP(), ...)",
                paste("an object of class", class(results[[k]])[1]))
    }
  }
  if (!is.null(names) && (!is.character(names) || anyNA(names))) {
    abort_arg("names", "a character vector (one name per result)", describe(names))
  }
  require_python()
  table <- call_python(bridge$compare_for_r(lapply(results, result_payload),
                                            if (!is.null(names)) as.list(names)),
                       arg_map = c(results = "..."))
  out <- as.data.frame(lapply(table, function(column) unlist(lapply(column, function(v) {
    if (is.null(v)) NA else v
  }))), stringsAsFactors = FALSE)
  structure(out, class = c("survinngpy_compare", "data.frame"))
}

# A result's arrays and labels as compare_for_r() reads them.
result_payload <- function(x) {
  events <- if (x$competing_risks) dimnames(x$pred)[[2]] else "event"
  list(values = lapply(x$res, to_python_array),
       pred = to_python_array(x$pred),
       pred_diff = if (!is.null(x$pred_diff)) to_python_array(x$pred_diff),
       time = to_python_array(x$time),
       competing_risks = x$competing_risks,
       feature_names = lapply(x$res, function(a) as.list(dimnames(a)[[2]])),
       event_names = as.list(events),
       instance = as.list(as.integer(x$method_args$instance)),
       method = x$method, model_class = x$model_class,
       target = x$method_args$target,
       args = list(times_input = isTRUE(x$method_args$times_input)))
}

#' @export
print.survinngpy_compare <- function(x, digits = 3, ...) {
  cat("Agreement of attribution methods (", nrow(x), " pair", if (nrow(x) != 1) "s",
      ")\n", sep = "")
  shown <- as.data.frame(x)
  class(shown) <- "data.frame"
  numeric <- vapply(shown, is.numeric, logical(1))
  shown[numeric] <- lapply(shown[numeric], signif, digits = digits)
  print(shown, row.names = FALSE, ...)
  invisible(x)
}
