#' Write an interactive HTML report of a result
#'
#' One self-contained HTML file that opens offline in any browser, without R or Python:
#' the patient's predicted curve beside the cohort mean (and the reference curve of
#' IntGrad(t) and GradSHAP(t)), every feature's attribution over time, a waterfall at the
#' chosen time from the reference to the prediction with the completeness gap, the
#' cohort's mean |attribution| per feature and time, and the run's arguments, linked by a
#' patient selector, an event selector (competing risks) and a time slider. The page is
#' written by the Python function `survinng_py.report()`; patients are labelled by the
#' result's (1-based) instance numbers.
#'
#' @param res (`survinngpy_result`) A result of `surv_grad()`, `surv_smoothgrad()`,
#'   `surv_intgrad()`, `surv_gradSHAP()` or `surv_shap()`.
#' @param file (`character(1)`) The `.html` file to write.
#' @param title (`character(1)` or `NULL`) The page title (default: method and target).
#' @param max_instances (`integer(1)`) Results with more instances are refused.
#' @param overwrite (`logical(1)`) Replace an existing file.
#' @return `file`, invisibly.
#' @examplesIf survinng_py_available()
#' \dontrun{
#' res <- surv_gradSHAP(explain(fit), instance = 1:20)
#' report(res, "report.html")
#' }
#' @export
report <- function(res, file, title = NULL, max_instances = 200L, overwrite = FALSE) {
  if (!inherits(res, "survinngpy_result")) {
    abort_arg("res", "a survinngpy_result", paste("an object of class", class(res)[1]))
  }
  check_string(file, "file")
  if (!is.null(title)) check_string(title, "title")
  max_instances <- check_count(max_instances, "max_instances")
  check_flag(overwrite, "overwrite")
  require_python()
  call_python(
    survinng_py$report(python_result(res), file, title = title,
                       max_instances = as.integer(max_instances), overwrite = overwrite),
    arg_map = c(path = "file", result = "res")
  )
  invisible(file)
}

# The Python SurvResult of an R result: every array gets the event axis back (length 1
# without competing risks) and crosses as exact doubles; the reference prediction is
# pred - pred_diff.
python_result <- function(res) {
  competing <- isTRUE(res$competing_risks)
  with_event <- function(a) {
    if (competing) return(a)
    d <- dim(a)
    array(a, c(d[-length(d)], 1L, d[length(d)]))
  }
  arrays <- lapply(res$res, function(a) to_numpy(with_event(a)))
  events <- if (competing) dimnames(res$res[[1]])[[3]] else "event"
  preds <- list(pred = to_numpy(with_event(res$pred)))
  if (!is.null(res$pred_diff)) {
    preds$pred_diff <- to_numpy(with_event(res$pred_diff))
    preds$pred_ref <- to_numpy(with_event(res$pred - res$pred_diff))
  }
  args <- res$method_args[setdiff(names(res$method_args), "instance")]
  do.call(survinng_py$SurvResult, c(list(
    arrays,
    time = to_numpy(res$time),
    feature_names = lapply(res$res, function(a) as.list(dimnames(a)[[2]])),
    input_names = as.list(paste0("input_", seq_along(arrays))),
    event_names = as.list(events),
    instance = to_numpy(res$method_args$instance),
    method = res$method,
    model_class = res$model_class,
    target = res$method_args$target,
    args = args
  ), preds))
}
