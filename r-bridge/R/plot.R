#' Plot a survinngpy result
#'
#' survinng's plots, with ggplot2: `"attr"` (attribution over time per feature),
#' `"pred"` (the predicted target over time), `"contr"` (each feature's share of the
#' absolute attributions over time, IntGrad/GradSHAP) and `"force"` (stacked
#' contributions at `num_bars` time points, with the sum as a line). Facets per
#' instance, and per event for competing risks.
#'
#' @param x (`survinngpy_result`) A result of a single-input model.
#' @param type (`character(1)`) `"attr"`, `"pred"`, `"contr"` or `"force"`.
#' @param normalize (`character(1)`) For `"attr"`: `"none"`, `"abs"` (|v| / sum |v|) or
#'   `"rel"` (v / sum v) across features at each time.
#' @param add_comp (`character()` or `NULL`) For `"attr"` of IntGrad/GradSHAP results:
#'   any of `"pred"`, `"pred_ref"`, `"pred_diff"`, or `"all"`.
#' @param num_bars (`integer(1)`) For `"force"`: number of time points shown.
#' @param ... Unused.
#' @return (`ggplot`) The plot.
#' @export
plot.survinngpy_result <- function(x, ..., type = "attr", normalize = "none", add_comp = NULL,
                                   num_bars = 10) {
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    cli::cli_abort("Plots need the {.pkg ggplot2} package.",
                   class = c("survinngpy_error_missing_package", "survinngpy_error"))
  }
  check_string(type, "type", c("attr", "pred", "contr", "force"))
  if (length(x$res) != 1) abort_arg("x", "a result of a single-input model for plotting",
                                   paste(length(x$res), "inputs"))
  df <- as.data.frame(x)
  df$id <- factor(df$id, levels = unique(x$method_args$instance),
                  labels = paste("Instance ID:", unique(x$method_args$instance)))
  facets <- if (x$competing_risks) ggplot2::facet_wrap(~ id + event, scales = "free_x")
            else ggplot2::facet_wrap(~ id, scales = "free_x")
  name <- method_label(x)
  target <- x$method_args$target
  theme <- list(ggplot2::theme_minimal(base_size = 13), ggplot2::theme(legend.position = "bottom"))
  switch(type,
    pred = {
      rows <- df[!duplicated(df[, c("id", if (x$competing_risks) "event", "time")]), ]
      ggplot2::ggplot(rows, ggplot2::aes(x = .data$time, y = .data$pred, color = .data$id)) +
        ggplot2::geom_line() + facets + theme +
        ggplot2::labs(x = "Time", y = paste("Prediction:", target), color = "Instance")
    },
    attr = plot_attr(df, x, facets, theme, name, target, normalize, add_comp),
    contr = plot_contr(df, x, facets, theme, name),
    force = plot_force(df, x, facets, theme, name, check_count(num_bars, "num_bars")))
}

plot_attr <- function(df, x, facets, theme, name, target, normalize, add_comp) {
  check_string(normalize, "normalize", c("none", "abs", "rel"))
  if (!is.null(add_comp) && is.null(x$pred_diff)) {
    abort_arg("add_comp", "`NULL` for a result without `pred_diff` (only IntGrad and GradSHAP have it)",
              describe(add_comp))
  }
  if (normalize != "none") {
    group <- group_key(df)
    total <- stats::ave(if (normalize == "abs") abs(df$value) else df$value, group, FUN = sum)
    df$value <- (if (normalize == "abs") abs(df$value) else df$value) / total
  }
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$value)) +
    ggplot2::geom_hline(yintercept = 0) +
    ggplot2::geom_line(ggplot2::aes(color = .data$feature)) +
    ggplot2::geom_point(ggplot2::aes(color = .data$feature), size = 0.75) +
    facets + theme + ggplot2::scale_color_viridis_d() +
    ggplot2::labs(x = "Time", y = paste0("Attribution ", target, ": ", name), color = "Feature")
  if (!is.null(add_comp)) {
    comps <- if ("all" %in% add_comp) c("pred", "pred_ref", "pred_diff") else add_comp
    bad <- setdiff(comps, c("pred", "pred_ref", "pred_diff"))
    if (length(bad)) abort_arg("add_comp", 'any of "pred", "pred_ref", "pred_diff", "all"', describe(bad[1]))
    rows <- df[!duplicated(df[, c("id", if (x$competing_risks) "event", "time")]), ]
    rows$pred_ref <- rows$pred - rows$pred_diff
    curves <- do.call(rbind, lapply(comps, function(comp) {
      data.frame(rows[, c("id", if (x$competing_risks) "event", "time")], value = rows[[comp]],
                 comparison = comp)
    }))
    p <- p + ggplot2::geom_line(data = curves, ggplot2::aes(linetype = .data$comparison),
                                color = "grey40", linewidth = 1) +
      ggplot2::labs(linetype = "Comparison")
  }
  p
}

plot_contr <- function(df, x, facets, theme, name) {
  if (is.null(x$pred_diff)) {
    abort_arg("type", '"attr", "pred" or "force" for a method without `pred_diff`', '"contr"')
  }
  group <- group_key(df)
  df$ratio <- 100 * abs(df$value) / pmax(stats::ave(abs(df$value), group, FUN = sum), 1e-12)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$ratio, fill = .data$feature)) +
    ggplot2::geom_area(position = "stack", alpha = 0.6, color = "black", linewidth = 0.2) +
    facets + theme + ggplot2::scale_fill_viridis_d() +
    ggplot2::labs(x = "Time", y = paste("% Contribution:", name), fill = "Feature")
}

plot_force <- function(df, x, facets, theme, name, num_bars) {
  wanted <- seq(min(x$time), max(x$time), length.out = num_bars)
  chosen <- unique(x$time[vapply(wanted, function(t) which.min(abs(x$time - t)), integer(1))])
  group <- group_key(df)
  df$sum <- stats::ave(df$value, group, FUN = sum)
  bars <- df[df$time %in% chosen, ]
  width <- 0.6 * (if (length(chosen) > 1) min(diff(sort(chosen))) else 1)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time)) +
    ggplot2::geom_col(data = bars, ggplot2::aes(y = .data$value, fill = .data$feature,
                                                color = .data$feature),
                      position = "stack", alpha = 0.4, width = width) +
    ggplot2::geom_line(ggplot2::aes(y = .data$sum), linewidth = 1.25) +
    facets + theme + ggplot2::scale_fill_viridis_d() + ggplot2::scale_color_viridis_d() +
    ggplot2::labs(x = "Time", y = paste("Contribution:", name), fill = "Feature", color = "Feature")
}
