#' Time-resolved feature interactions: Hessian(t) and Integrated Hessians(t)
#'
#' Second-order explanations computed by the Python core, for every time point of the
#' model's grid at once. `surv_hessian()` gives the second derivatives of the target
#' with respect to every pair of features (multiplied by \eqn{x_i x_j} with
#' `times_input = TRUE`); `surv_inthess()` gives Integrated Hessians (Janizek, Sturmfels
#' and Lee, "Explaining explanations: axiomatic feature interactions for deep networks",
#' JMLR 2021): the interaction \eqn{\Gamma_{ij}(t)} of features i and j, with the main
#' effects on the diagonal. Each row of \eqn{\Gamma} sums to IntGrad(t) with the same
#' reference and `n` (up to O(1/n)), so all entries sum to `pred_diff`.
#'
#' A non-linear survival head creates interactions even between features that the
#' network keeps apart (a Cox model with additive log-risk has
#' \eqn{\partial^2 S / \partial x_1 \partial x_2 = S''(g) a'(x_1) b'(x_2)}); the targets
#' `"log_risk"` (DeepSurv) and `"logits"` (DeepHit, MTLR) explain the network alone.
#'
#' With `include_time = TRUE` (CoxTime, `surv_hessian()` only) the time the network sees
#' is one more, last feature `"time"`, paired with the others.
#'
#' @inheritParams surv_grad
#' @param times_input (`logical(1)`) Multiply entry (i, j) by \eqn{x_i x_j}.
#' @param n (`integer(1)`) Steps per path integral (the double sum has \eqn{n^2} terms).
#' @param x_ref (`data.frame`, `matrix` or `NULL`) Reference: one row, or one row per
#'   instance; `NULL` is the column means of the explainer data.
#' @return (`survinngpy_result`) As [surv_grad()], with `res[[1]]` of dimensions
#'   `(instance, feature, feature, [event,] time)`, symmetric in the two feature axes;
#'   `surv_inthess()` also has `pred_diff`.
#' @export
surv_hessian <- function(exp, target = "survival", instance = 1, times_input = FALSE,
                         batch_size = NULL, dtype = NULL, include_time = FALSE, newdata = NULL,
                         given = NULL) {
  run_method(exp, "Surv_Hessian", environment())
}

#' @rdname surv_hessian
#' @export
surv_inthess <- function(exp, target = "survival", instance = 1, n = 10, x_ref = NULL,
                         batch_size = NULL, dtype = NULL, newdata = NULL, given = NULL) {
  run_method(exp, "Surv_IntHessian", environment())
}

#' Plot feature interactions over time
#'
#' `plot_interactions()` draws the (feature, feature) matrix of a [surv_hessian()] or
#' [surv_inthess()] result as heatmaps at chosen times, on one diverging colour scale
#' centred at 0; `plot_pairs()` draws the `top_k` pairs (ranked by their largest
#' absolute value over time) as curves over time.
#'
#' @param x (`survinngpy_result`) From [surv_hessian()] or [surv_inthess()].
#' @param times (`numeric()` or `NULL`) Times to show (the nearest grid points);
#'   `NULL` is 1/4, 1/2 and 3/4 of the time range.
#' @param instance (`integer(1)`) Position of the instance in the result.
#' @param event (`integer(1)`) Position of the event (competing risks).
#' @param top_k (`integer(1)`) Number of pairs drawn.
#' @param main_effects (`logical(1)`) Rank the diagonal along with the pairs.
#' @return (`ggplot`) The plot.
#' @export
plot_interactions <- function(x, times = NULL, instance = 1, event = 1) {
  m <- pair_matrix(x, instance, event)
  if (is.null(times)) times <- stats::quantile(range(x$time), c(0.25, 0.5, 0.75), names = FALSE)
  if (!is.numeric(times) || length(times) == 0 || any(!is.finite(times))) {
    abort_arg("times", "a non-empty vector of finite times", times)
  }
  picks <- unique(vapply(times, function(t) which.min(abs(x$time - t)), integer(1)))
  names <- dimnames(x$res[[1]])[[2]]
  df <- do.call(rbind, lapply(picks, function(t) {
    data.frame(feature_i = factor(rep(names, times = length(names)), levels = rev(names)),
               feature_j = factor(rep(names, each = length(names)), levels = names),
               value = as.vector(m[, , t]), time = paste("t =", signif(x$time[t], 4)))
  }))
  df$time <- factor(df$time, levels = unique(df$time))
  limit <- max(abs(df$value), .Machine$double.xmin)
  ggplot2::ggplot(df, ggplot2::aes(x = .data$feature_j, y = .data$feature_i, fill = .data$value)) +
    ggplot2::geom_tile() + ggplot2::facet_wrap(~ time) +
    ggplot2::scale_fill_distiller(palette = "RdBu", limits = c(-limit, limit)) +
    plot_theme(13) + ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 90)) +
    ggplot2::labs(x = NULL, y = NULL, fill = method_label(x))
}

#' @rdname plot_interactions
#' @export
plot_pairs <- function(x, top_k = 5, instance = 1, event = 1, main_effects = FALSE) {
  m <- pair_matrix(x, instance, event)
  top_k <- check_count(top_k, "top_k")
  check_flag(main_effects, "main_effects")
  names <- dimnames(x$res[[1]])[[2]]
  p <- length(names)
  pairs <- which(if (main_effects) upper.tri(diag(p), diag = TRUE) else upper.tri(diag(p)),
                 arr.ind = TRUE)
  pairs <- pairs[order(pairs[, "row"], pairs[, "col"]), , drop = FALSE]
  peak <- apply(pairs, 1, function(ij) max(abs(m[ij[1], ij[2], ])))
  best <- pairs[order(-peak)[seq_len(min(top_k, nrow(pairs)))], , drop = FALSE]
  df <- do.call(rbind, lapply(seq_len(nrow(best)), function(r) {
    data.frame(time = x$time, value = m[best[r, 1], best[r, 2], ],
               pair = paste0(names[best[r, 1]], ":", names[best[r, 2]]))
  }))
  df$pair <- factor(df$pair, levels = unique(df$pair))
  ggplot2::ggplot(df, ggplot2::aes(x = .data$time, y = .data$value, color = .data$pair)) +
    ggplot2::geom_hline(yintercept = 0) + ggplot2::geom_line() + plot_theme(13) +
    ggplot2::labs(x = "Time", y = paste0(method_label(x), " of ", x$method_args$target),
                  color = "Pair")
}

# The (feature, feature, time) matrix of one instance and event of a second-order result.
pair_matrix <- function(x, instance, event) {
  if (!inherits(x, "survinngpy_result") || length(dim(x$res[[1]])) != 4 + x$competing_risks) {
    abort_arg("x", "a result of surv_hessian() or surv_inthess()",
              if (inherits(x, "survinngpy_result")) paste("a", method_label(x), "result")
              else paste("an object of class", class(x)[1]))
  }
  if (!requireNamespace("ggplot2", quietly = TRUE)) {
    abort_survinngpy("Plots need the R package ggplot2; install it with install.packages(\"ggplot2\")",
                     "missing_package")
  }
  a <- x$res[[1]]
  instance <- check_count(instance, "instance")
  if (instance > dim(a)[1]) abort_arg("instance", paste("a position up to", dim(a)[1]), instance)
  if (!x$competing_risks) return(array(a[instance, , , ], dim(a)[2:4]))
  event <- check_count(event, "event")
  if (event > dim(a)[4]) abort_arg("event", paste("a position up to", dim(a)[4]), event)
  array(a[instance, , , event, ], dim(a)[c(2, 3, 5)])
}
