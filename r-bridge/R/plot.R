#' Plot a survinngpy result
#'
#' survinng's plots, with ggplot2 and survinng's signatures: `plot_attr()`
#' (attribution over time per feature), `plot_pred()` (the predicted target over
#' time), `plot_contr()` (each feature's share of the absolute attributions over time;
#' IntGrad(t) and GradSHAP(t) results) and `plot_force()` (stacked contributions at
#' `num_bars` time points, with their sum as a line). `plot()` calls the one named by
#' `type`, passing `...` on. Panels per instance, and per event for competing risks.
#'
#' @param x (`survinngpy_result`) A result of a single-input model.
#' @param ... Arguments of the plot function chosen by `type` (e.g. `normalize`,
#'   `add_comp` for `"attr"`); anything else is an error.
#' @param type (`character(1)`) `"attr"` (default), `"pred"`, `"contr"` or `"force"`.
#' @param normalize (`character(1)`) `"none"` (default), `"abs"` (|v| / sum |v|) or
#'   `"rel"` (v / sum v) across features at each time and instance.
#' @param add_comp (`character()` or `NULL`) Comparison curves for IntGrad(t) and
#'   GradSHAP(t) results: any of `"pred"`, `"pred_ref"` (`pred - pred_diff`),
#'   `"pred_diff"`, or `"all"`.
#' @param aggregate (`logical(1)`) `plot_contr()`: one panel ("Global") of the mean
#'   absolute attributions over the instances instead of one panel per instance.
#' @param num_bars (`integer(1)`) `plot_force()`: number of time points with bars (the
#'   nearest grid points to equally spaced times).
#' @return (`ggplot`) The plot.
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox") && requireNamespace("ggplot2", quietly = TRUE)
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' shap <- surv_gradSHAP(explain(model, dat), instance = 1:2, n = 5, num_samples = 10,
#'                       seed = 1)
#' plot(shap)
#' plot_contr(shap, aggregate = TRUE)
#' plot(shap, type = "force", num_bars = 5)
#' @export
plot.survinngpy_result <- function(x, ..., type = "attr") {
  check_string(type, "type", c("attr", "pred", "contr", "force"))
  fn <- switch(type, attr = plot_attr, pred = plot_pred, contr = plot_contr, force = plot_force)
  check_plot_args(names(list(...)) %||% rep("", ...length()), fn, type)
  fn(x, ...)
}

#' @rdname plot.survinngpy_result
#' @export
plot_attr <- function(x, normalize = "none", add_comp = NULL) {
  df <- plot_data(x)
  check_string(normalize, "normalize", c("none", "abs", "rel"))
  comps <- comparison_curves(x, add_comp)
  if (normalize != "none") {
    if (length(comps) > 0) {
      rlang::warn("Normalized attributions are not on the scale of the comparison curves.",
                  class = "survinngpy_warning")
    }
    v <- if (normalize == "abs") abs(df$value) else df$value
    df$value <- v / stats::ave(v, group_key(df), FUN = sum)
  }
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$value)) +
    ggplot2::geom_hline(yintercept = 0) +
    ggplot2::geom_line(ggplot2::aes(color = .data$feature), na.rm = TRUE) +
    ggplot2::geom_point(ggplot2::aes(color = .data$feature), size = 0.75, na.rm = TRUE) +
    plot_facets(x) + plot_theme(16) + ggplot2::scale_color_viridis_d() +
    ggplot2::labs(x = "Time", y = paste0("Attribution ", x$method_args$target, ": ", method_label(x)),
                  color = "Feature")
  if (length(comps) == 0) return(p)
  rows <- prediction_rows(df, x)
  rows$pred_ref <- rows$pred - rows$pred_diff
  curves <- do.call(rbind, lapply(comps, function(comp) {
    data.frame(rows[, prediction_keys(x)], value = rows[[comp]], comparison = comp)
  }))
  p + ggplot2::geom_line(data = curves, ggplot2::aes(linetype = .data$comparison),
                         color = "grey40", linewidth = 1) +
    ggplot2::labs(linetype = "Comparison")
}

#' @rdname plot.survinngpy_result
#' @export
plot_pred <- function(x) {
  rows <- prediction_rows(plot_data(x), x)
  p <- ggplot2::ggplot(rows, ggplot2::aes(x = .data$time, y = .data$pred, color = .data$id)) +
    ggplot2::geom_line() + plot_theme(16) +
    ggplot2::labs(x = "Time", y = paste("Prediction:", x$method_args$target), color = "Instance")
  if (x$competing_risks) p <- p + ggplot2::facet_wrap(~ event)
  p
}

#' @rdname plot.survinngpy_result
#' @export
plot_contr <- function(x, aggregate = FALSE) {
  df <- plot_data(x)
  check_flag(aggregate, "aggregate")
  if (is.null(x$pred_diff)) {
    abort_arg("x", "an IntGrad(t) or GradSHAP(t) result for contribution plots",
              paste("a", method_label(x), "result"))
  }
  if (aggregate) {
    keys <- c("time", if (x$competing_risks) "event", "feature")
    df <- stats::aggregate(list(value = abs(df$value)), df[keys], FUN = mean)
    df$id <- factor("Global")
  }
  df$ratio <- 100 * abs(df$value) / pmax(stats::ave(abs(df$value), group_key(df), FUN = sum), 1e-12)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$ratio, fill = .data$feature)) +
    ggplot2::geom_area(position = "stack", alpha = 0.6, color = "black", linewidth = 0.2) +
    plot_facets(x) + plot_theme(16) + ggplot2::scale_fill_viridis_d() +
    ggplot2::labs(x = "Time", y = paste("% Contribution:", method_label(x)), fill = "Feature")
}

#' @rdname plot.survinngpy_result
#' @export
plot_force <- function(x, num_bars = 10) {
  df <- plot_data(x)
  num_bars <- check_count(num_bars, "num_bars")
  wanted <- seq(min(x$time), max(x$time), length.out = num_bars)
  chosen <- unique(x$time[vapply(wanted, function(t) which.min(abs(x$time - t)), integer(1))])
  df$sum <- stats::ave(df$value, group_key(df), FUN = sum)
  bars <- df[df$time %in% chosen, ]
  width <- 0.6 * (if (length(chosen) > 1) min(diff(sort(chosen))) else 1)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time)) +
    ggplot2::geom_col(data = bars, ggplot2::aes(y = .data$value, fill = .data$feature,
                                                color = .data$feature),
                      position = "stack", alpha = 0.4, width = width) +
    ggplot2::geom_line(ggplot2::aes(y = .data$sum), linewidth = 1.25) +
    plot_facets(x) + plot_theme(13) + ggplot2::scale_fill_viridis_d() +
    ggplot2::scale_color_viridis_d() +
    ggplot2::labs(x = "Time", y = paste("Contribution:", method_label(x)), fill = "Feature",
                  color = "Feature")
}

# The long data of a plottable result, with instance labels as panel titles.
plot_data <- function(x) {
  if (!inherits(x, "survinngpy_result")) {
    abort_arg("x", "a result of surv_grad(), surv_smoothgrad(), surv_intgrad() or surv_gradSHAP()",
              paste("an object of class", class(x)[1]))
  }
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    abort_survinngpy("Plots need the R package ggplot2; install it with install.packages(\"ggplot2\")",
                     "missing_package")
  }
  if (length(x$res) != 1) {
    abort_arg("x", "a result of a single-input model for plotting", paste(length(x$res), "inputs"))
  }
  df <- as.data.frame(x)
  ids <- unique(x$method_args$instance)
  df$id <- factor(df$id, levels = ids, labels = paste("Instance ID:", ids))
  df
}

check_plot_args <- function(given, fn, type) {
  allowed <- setdiff(names(formals(fn)), "x")
  bad <- given[!nzchar(given) | !given %in% allowed]
  if (length(bad) > 0) {
    shown <- ifelse(nzchar(bad), paste0("`", bad, "`"), "an unnamed argument")
    abort_arg("...", paste0("arguments of plot_", type, "() (",
                            if (length(allowed)) paste(allowed, collapse = ", ") else "none", ")"),
              paste(shown, collapse = ", "))
  }
}

comparison_curves <- function(x, add_comp) {
  if (is.null(add_comp)) return(character())
  choices <- c("pred", "pred_ref", "pred_diff")
  if (!is.character(add_comp) || length(add_comp) == 0 || anyNA(add_comp) ||
      !all(add_comp %in% c(choices, "all"))) {
    abort_arg("add_comp", paste0("`NULL` or any of ", quoted(c(choices, "all"))), describe(add_comp))
  }
  if (is.null(x$pred_diff)) {
    abort_arg("add_comp", "`NULL` for a result without `pred_diff` (only IntGrad and GradSHAP have it)",
              describe(add_comp))
  }
  if ("all" %in% add_comp) choices else unique(add_comp)
}

prediction_keys <- function(x) c("id", if (x$competing_risks) "event", "time")

# One row per (instance, [event,] time): the predictions.
prediction_rows <- function(df, x) df[!duplicated(df[, prediction_keys(x)]), ]

plot_facets <- function(x) {
  if (x$competing_risks) ggplot2::facet_wrap(~ id + event, scales = "free_x")
  else ggplot2::facet_wrap(~ id, scales = "free_x")
}

plot_theme <- function(base_size) {
  list(ggplot2::theme_minimal(base_size = base_size), ggplot2::theme(legend.position = "bottom"))
}
