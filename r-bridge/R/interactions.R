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
#' \eqn{\partial^2 S / \partial x_1 \partial x_2 = S''(g) a'(x_1) b'(x_2)}).
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
                         batch_size = NULL, dtype = NULL, newdata = NULL) {
  run_method(exp, "Surv_Hessian", environment())
}

#' @rdname surv_hessian
#' @export
surv_inthess <- function(exp, target = "survival", instance = 1, n = 10, x_ref = NULL,
                         batch_size = NULL, dtype = NULL, newdata = NULL) {
  run_method(exp, "Surv_IntHessian", environment())
}
