# The method's display label ("GxI(t)"; long: "Grad x Input"), as the Python method
# table gave it when the result was made.
method_label <- function(x, short = TRUE) {
  labels <- attr(x, "labels")
  if (length(labels) != 2) return(x$method)
  labels[[if (short) 1 else 2]]
}

#' @export
print.survinngpy_result <- function(x, ...) {
  line <- strrep("-", 60)
  cat(line, "\nSurvival Attribution Result Summary\n", line, "\n", sep = "")
  cat("Model class:           ", x$model_class, "\n")
  cat("Method:                ", method_label(x), "\n")
  cat("Target:                ", x$method_args$target, "\n")
  cat("Instance:              ", paste(x$method_args$instance, collapse = " "), "\n")
  cat("Number of timepoints:  ", length(x$time), "\n")
  cat("Competing risks:       ", if (x$competing_risks) "Yes" else "No", "\n")
  if (!is.null(attr(x, "baseline_hazard"))) cat("Baseline hazards:      ", attr(x, "baseline_hazard"), "\n")
  cat(line, "\nPrediction Summary\n", sep = "")
  cat("  Mean:                ", format(mean(x$pred)), "\n")
  cat("  Range:                [", format(min(x$pred)), ", ", format(max(x$pred)), "]\n", sep = "")
  if (!is.null(x$pred_diff)) {
    cat("Difference from Reference Predictions\n")
    cat("  Mean:                ", format(mean(x$pred_diff)), "\n")
    cat("  Range:                [", format(min(x$pred_diff)), ", ", format(max(x$pred_diff)), "]\n", sep = "")
    if (!is.null(x$pred_diff_q1)) {
      cat("  1st Quartile Diff:   ", format(mean(x$pred_diff_q1)), "\n")
      cat("  3rd Quartile Diff:   ", format(mean(x$pred_diff_q3)), "\n")
    }
  }
  cat(line, "\nEnd of Summary\n", line, "\n", sep = "")
  invisible(x)
}

#' Attributions as a long data frame
#'
#' survinng's layout: columns `id, [event,] time, feature, value, pred, [pred_diff,
#' pred_diff_q1, pred_diff_q3,] method`, sorted by id, event, time and feature (one
#' data frame per input; a list of them, named `Input_Layer_<k>`, for several inputs).
#'
#' @param x (`survinngpy_result`) A result.
#' @param row.names,optional Ignored (for the generic).
#' @param stacked (`logical(1)`) Add the columns of stacked contribution plots
#'   (`pred_ref`, `cum_value`, `cum_ref`, `min_value`; needs `pred_diff`), cumulated
#'   per instance, event and time.
#' @param ... Unused.
#' @return (`data.frame`, `data.table`) or a list of them.
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' grad <- surv_grad(explain(model, dat), instance = 1:2)
#' head(as.data.frame(grad))
#' @export
as.data.frame.survinngpy_result <- function(x, row.names = NULL, optional = FALSE, ...,
                                            stacked = FALSE) {
  check_flag(stacked, "stacked")
  if (stacked && is.null(x$pred_diff)) {
    abort_arg("stacked", "`FALSE` for a result without `pred_diff` (only IntGrad and GradSHAP have it)",
              "`TRUE`")
  }
  frames <- lapply(x$res, function(a) long_frame(x, a, stacked))
  if (length(frames) == 1) frames[[1]] else stats::setNames(frames, paste0("Input_Layer_", seq_along(frames)))
}

#' @rdname as.data.frame.survinngpy_result
#' @param keep.rownames Ignored (for the generic).
#' @details `as.data.table()` (registered when data.table is loaded) gives the same
#'   table as a `data.table` (a list of them for several inputs).
#' @usage \method{as.data.table}{survinngpy_result}(x, keep.rownames = FALSE, ..., stacked = FALSE)
#' @exportS3Method data.table::as.data.table
as.data.table.survinngpy_result <- function(x, keep.rownames = FALSE, ..., stacked = FALSE) {
  frames <- as.data.frame(x, stacked = stacked)
  if (is.data.frame(frames)) data.table::as.data.table(frames) else
    lapply(frames, data.table::as.data.table)
}

long_frame <- function(x, a, stacked) {
  d <- dim(a)
  has_event <- x$competing_risks
  pairs <- length(d) == 4 + has_event  # second-order results: two feature axes
  axes <- list(id = x$method_args$instance, feature = seq_len(d[2]))
  if (pairs) axes$feature_j <- seq_len(d[3])
  event_axis <- 3 + pairs
  if (has_event) axes$event <- seq_len(d[event_axis])
  axes$time <- seq_along(x$time)
  grid <- expand.grid(axes, KEEP.OUT.ATTRS = FALSE)  # first axis fastest, as R arrays
  pred_index <- as.matrix(grid[, c("id", if (has_event) "event", "time")])
  pred_index[, 1] <- rep(seq_len(d[1]), length.out = nrow(grid))
  df <- data.frame(id = grid$id)
  events <- dimnames(a)[[event_axis]]
  if (has_event) df$event <- factor(events[grid$event], levels = events)
  df$time <- x$time[grid$time]
  feature_names <- dimnames(a)[[2]] %||% paste0("X", seq_len(d[2]))
  if (pairs) {  # "a:b" labels in row-major order, and each side of the pair
    labels <- paste0(rep(feature_names, each = d[2]), ":", rep(feature_names, times = d[2]))
    df$feature <- factor(paste0(feature_names[grid$feature], ":", feature_names[grid$feature_j]),
                         levels = labels)
    df$feature_i <- factor(feature_names[grid$feature], levels = feature_names)
    df$feature_j <- factor(feature_names[grid$feature_j], levels = feature_names)
  } else {
    df$feature <- factor(feature_names[grid$feature], levels = feature_names)
  }
  df$value <- as.vector(a)
  for (field in c("pred", "pred_diff", "pred_diff_q1", "pred_diff_q3")) {
    if (!is.null(x[[field]])) df[[field]] <- x[[field]][pred_index]
  }
  df$method <- paste0(method_label(x, short = FALSE), " (", x$method_args$target, ")")
  df <- df[order(df$id, if (has_event) df$event else df$id, df$time, df$feature), ]
  rownames(df) <- NULL
  if (stacked) df <- stack_contributions(df, has_event)
  df
}

stack_contributions <- function(df, has_event) {
  importance <- tapply(abs(df$value), df$feature, mean)
  ranked <- names(sort(importance, decreasing = TRUE))
  df$feature <- factor(df$feature, levels = ranked)
  df$pred_ref <- df$pred - df$pred_diff
  df <- df[order(group_key(df), -as.integer(df$feature)), ]  # least important first
  group <- group_key(df)
  df$cum_value <- stats::ave(df$value, group, FUN = cumsum)
  df$cum_ref <- df$cum_value + df$pred_ref
  df$min_value <- stats::ave(df$cum_ref, group, FUN = function(v) c(NA, v[-length(v)]))
  df$min_value[is.na(df$min_value)] <- df$pred_ref[is.na(df$min_value)]
  df <- df[order(df$time, df$id, as.integer(df$feature)), ]
  rownames(df) <- NULL
  df
}

# One level per (instance, [event,] time): the unit within which features are compared.
group_key <- function(df) {
  interaction(df$id, if (!is.null(df$event)) df$event else df$id, df$time, drop = TRUE)
}
