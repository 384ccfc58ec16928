#' Gradient-based explanations of survival predictions over time
#'
#' survinng's methods, computed by the Python core: `surv_grad()` gives Grad(t)
#' (GxI(t) with `times_input = TRUE`), `surv_smoothgrad()` SmoothGrad(t)/SGxI(t),
#' `surv_intgrad()` IntGrad(t) and `surv_gradSHAP()` GradSHAP(t). Every time point of
#' the model's grid is explained at once.
#'
#' @param exp (`survinngpy_explainer`) From [explain()].
#' @param target (`character(1)`) `"survival"`, `"cum_hazard"` or `"hazard"` (DeepSurv,
#'   CoxTime); `"survival"`, `"cif"` or `"pmf"` (DeepHit); the network output itself,
#'   `"log_risk"` (DeepSurv, the same at every time) or `"logits"` (DeepHit, MTLR);
#'   `"conditional_survival"` (every model) or `"conditional_cif"` (DeepHit) with `given`.
#' @param instance (`integer()`) 1-based rows of the explainer data to explain.
#' @param times_input (`logical(1)`) Multiply the gradients by the input
#'   (`x - reference` for IntGrad(t) and GradSHAP(t)).
#' @param batch_size (`integer(1)` or `NULL`) Points per batch (instance rows times
#'   replicates; unlike survinng, CoxTime's time rows are not counted). `NULL` sizes
#'   batches from a memory budget. Results do not depend on it.
#' @param dtype (`character(1)` or `NULL`) `"float"` or `"double"`; `NULL` keeps the
#'   explainer's.
#' @param newdata (`data.frame`, `matrix` or `NULL`) Rows to explain instead of
#'   `instance`, converted like the explainer data.
#' @param n (`integer(1)`) Noisy copies (SmoothGrad), integration points (IntGrad) or
#'   samples per reference (GradSHAP).
#' @param noise_level (`numeric(1)`) SmoothGrad noise sd relative to each feature's sd.
#' @param x_ref (`data.frame`, `matrix` or `NULL`) IntGrad reference: one row, or one
#'   row per instance; `NULL` is the column means of the explainer data.
#' @param num_samples (`integer(1)`) GradSHAP references drawn from `data_ref`.
#' @param data_ref (`data.frame`, `matrix` or `NULL`) GradSHAP reference pool; `NULL`
#'   is the explainer data.
#' @param replace (`logical(1)`) Draw GradSHAP references with replacement.
#' @param stratified (`logical(1)`) Draw each GradSHAP reference's `n` path positions
#'   one in each of `n` equal parts of \eqn{[0, 1)} (unbiased, smaller integration
#'   error); `FALSE` draws them independently from \eqn{U(0, 1)} as survinng does.
#' @param seed (`integer(1)` or `NULL`) Seed of the random draws (Python's generator).
#' @param include_time (`logical(1)`) CoxTime only: also attribute the time the network
#'   takes as its last input (the effect of shifting every time it sees together, the
#'   baseline hazard held fixed), reported as an extra last feature `"time"`, as
#'   survinng does. With `times_input`, Grad(t) and SmoothGrad(t) multiply it by the
#'   network's time at each grid point; IntGrad(t) and GradSHAP(t) give it no
#'   attribution (the time does not move on the path from the reference).
#' @param given (`numeric(1)` or `NULL`) The time \eqn{s} of a conditional target:
#'   `"conditional_survival"` explains \eqn{S(t \mid T > s) = S(t)/S(s)},
#'   `"conditional_cif"` the probability of each event by \eqn{t} given no event by
#'   \eqn{s}, \eqn{(F_k(t) - F_k(s))/S(s)}; the time axis keeps the times
#'   \eqn{t \ge s}.
#' @return (`survinngpy_result`, also a `surv_result`) A list with `res` (one array per
#'   input, `(instance, feature, [event,] time)`), `time`, `competing_risks`, `pred`,
#'   `pred_diff`, `pred_diff_q1`, `pred_diff_q3` (where the method has them),
#'   `model_class`, `method` and `method_args`, as survinng returns. Attributes:
#'   `variables` (the original variable of each feature, see [combine_dummies()]) and,
#'   for Cox models, `baseline_hazard` (where the baseline hazards came from).
#' @references Langbein, Koenen, Wright (2025). Gradient-based Explanations for Deep
#'   Learning Survival Models. ICML.
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' exp <- explain(model, dat)
#' grad <- surv_grad(exp, instance = 1:2)
#' grad
#' gxi <- surv_grad(exp, instance = 1:2, times_input = TRUE)
#' ig <- surv_intgrad(exp, instance = 1:2, n = 20)
#' shap <- surv_gradSHAP(exp, instance = 1:2, n = 5, num_samples = 10, seed = 1)
#' sg <- surv_smoothgrad(exp, instance = 1, n = 10, seed = 1)
#' @export
surv_grad <- function(exp, target = "survival", instance = 1, times_input = FALSE,
                      batch_size = NULL, dtype = NULL, include_time = FALSE, newdata = NULL,
                      given = NULL) {
  run_method(exp, "Surv_Gradient", environment())
}

#' @rdname surv_grad
#' @export
surv_smoothgrad <- function(exp, target = "survival", instance = 1, times_input = FALSE,
                            batch_size = NULL, n = 10, noise_level = 0.1, dtype = NULL,
                            include_time = FALSE, newdata = NULL, seed = NULL, given = NULL) {
  run_method(exp, "Surv_SmoothGrad", environment())
}

#' @rdname surv_grad
#' @export
surv_intgrad <- function(exp, target = "survival", instance = 1, times_input = TRUE,
                         batch_size = NULL, n = 10, x_ref = NULL, dtype = NULL,
                         include_time = FALSE, newdata = NULL, given = NULL) {
  run_method(exp, "Surv_IntGrad", environment())
}

#' @rdname surv_grad
#' @export
surv_gradSHAP <- function(exp, target = "survival", instance = 1, times_input = TRUE,
                          batch_size = NULL, n = 50, num_samples = 10, data_ref = NULL,
                          dtype = NULL, replace = TRUE, include_time = FALSE,
                          stratified = TRUE, newdata = NULL, seed = NULL, given = NULL) {
  run_method(exp, "Surv_GradSHAP", environment())
}

#' SurvSHAP(t): model-agnostic Shapley values over time
#'
#' Shapley values of the features for the whole survival curve at once (Krzyziński et
#' al., "SurvSHAP(t): Time-dependent explanations of machine learning survival models",
#' Knowledge-Based Systems 2023), computed by the Python core from predictions only:
#' exactly over all coalitions for up to 12 features, by Kernel SHAP with
#' `num_coalitions` sampled coalitions above that. Values sum to `pred - pred_ref`
#' (`pred_ref` is the mean prediction over the background rows).
#'
#' @inheritParams surv_grad
#' @param background (`data.frame`, `matrix` or `NULL`) Background rows; `NULL` uses the
#'   explainer data.
#' @param num_background (`integer(1)`) Background rows drawn from `background`.
#' @param num_coalitions (`integer(1)` or `NULL`) Sampled coalitions (Kernel SHAP);
#'   `NULL` enumerates all coalitions for up to 12 features.
#' @param groups (named `list` of `character()` or `NULL`) Players made of several
#'   columns, e.g. `list(grp = c("grpb", "grpc"))` for a factor's dummies; columns in no
#'   group stay players of their own. The result has one feature per player.
#' @param new_observation,N,output_type survex's names (`predict_parts(type =
#'   "survshap")`) for `newdata`, `num_background` and `target` (`"survival"`, or
#'   `"chf"` for `"cum_hazard"`); give either name, not both.
#' @return (`survinngpy_result`) As [surv_grad()], with `pred_diff`.
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' shap <- surv_shap(explain(model, dat), instance = 1:2, seed = 1)
#' shap
#' @export
surv_shap <- function(exp, target = "survival", instance = 1, background = NULL,
                      num_background = 100, num_coalitions = NULL, batch_size = NULL,
                      dtype = NULL, newdata = NULL, seed = NULL, groups = NULL,
                      new_observation = NULL, N = NULL, output_type = NULL,
                      given = NULL) {
  survex_name <- function(value, name, ours, given) {
    if (given) abort_arg(name, paste0("left out when `", ours, "` is given (survex's name for it)"))
    value
  }
  if (!is.null(new_observation)) {
    newdata <- survex_name(new_observation, "new_observation", "newdata", !is.null(newdata))
  }
  if (!is.null(N)) num_background <- survex_name(N, "N", "num_background", !missing(num_background))
  if (!is.null(output_type)) {
    output_type <- check_string(output_type, "output_type", c("survival", "chf"))
    target <- survex_name(c(survival = "survival", chf = "cum_hazard")[[output_type]],
                          "output_type", "target", !missing(target))
  }
  run_method(exp, "Surv_SHAP", environment(), list(groups = check_groups(groups)))
}

# Players of surv_shap(): a named list of column names, as Python's dict of lists.
check_groups <- function(groups) {
  if (is.null(groups)) return(NULL)
  if (!is.list(groups) || length(groups) == 0 || is.null(names(groups)) ||
      any(!nzchar(names(groups))) ||
      !all(vapply(groups, function(g) is.character(g) && length(g) > 0 && !anyNA(g), logical(1)))) {
    abort_arg("groups", "a named list of column names (one character vector per group)",
              describe(groups))
  }
  lapply(groups, as.list)
}

# The Python method table (survinng_py.methods.describe()): the options each method
# takes, their types and defaults. Read once per session.
method_table <- function() {
  if (is.null(bridge_state$methods)) {
    table <- call_python(bridge$describe())
    bridge_state$methods <- stats::setNames(table, vapply(table, `[[`, "", "id"))
  }
  bridge_state$methods
}

# The options of `method` taken from the wrapper's frame `env` and checked by the type
# the method table gives them.
method_options <- function(method, env, exp) {
  options <- method_table()[[method]]$options
  values <- lapply(options, function(option) {
    name <- option$name
    value <- get(name, envir = env, inherits = FALSE)
    switch(option$type,
           bool = check_flag(value, name),
           int = check_count(value, name, minimum = if (isTRUE(option$seed)) 0 else 1,
                             null_ok = is.null(option$default)),
           float = if (is.null(value) && is.null(option$default)) NULL else check_number(value, name),
           str = check_string(value, name),
           rows = reference_rows(value, exp, name))
  })
  stats::setNames(values, vapply(options, `[[`, "", "name"))
}

reference_rows <- function(value, exp, arg) {
  if (is.null(value)) return(NULL)
  prepare_x(value, exp$xnames, arg)$payload
}

# The one call path of every method: checks in R, the computation in Python, and the
# answer converted to survinng's surv_result.
run_method <- function(exp, method, env, extra = list()) {
  check_explainer(exp)
  target <- check_string(env$target, "target")
  instance <- env$instance
  newdata <- env$newdata
  dtype <- if (is.null(env$dtype)) exp$dtype else check_string(env$dtype, "dtype", c("float", "double"))
  args <- method_options(method, env, exp)
  args$target <- target
  args <- c(args[!vapply(args, is.null, logical(1))], extra)
  if (is.null(newdata)) {
    instance <- check_instance(instance, nrow(exp$x))
    py_exp <- explainer_for_dtype(exp, dtype)
    payload <- call_python(bridge$run_for_r(py_exp, method, instance = as.list(instance - 1L),
                                            args = args))
    ids <- instance
  } else {
    rows <- prepare_x(newdata, exp$xnames, "newdata")
    py_exp <- explainer_for_dtype(exp, dtype)
    payload <- call_python(bridge$run_for_r(py_exp, method, newdata_raw = rows$payload$raw,
                                            newdata_dim = rows$payload$dim, args = args),
                           arg_map = c(x = "newdata"))
    ids <- seq_len(nrow(rows$x))
  }
  as_surv_result(payload, ids, exp, dtype)
}

as_surv_result <- function(payload, ids, exp, dtype) {
  time <- from_python_array(payload$time)
  time_names <- as.character(time)
  events <- if (isTRUE(payload$competing_risks)) paste("Event", seq_along(payload$event_names))
  labelled <- function(p) {
    a <- from_python_array(p)
    dimnames(a) <- c(list(NULL), if (!is.null(events)) list(events), list(time_names))
    a
  }
  # exp$xnames, or the players of groups; second-order results pair them: two axes
  pairs <- payload$feature_pairs
  features <- if (is.null(pairs)) unlist(payload$feature_names) else
    unique(vapply(pairs[[1]], function(pair) pair[[1]], ""))
  feature_axes <- rep(list(features), if (is.null(pairs)) 1 else 2)
  res <- lapply(payload$res, function(p) {
    a <- from_python_array(p)
    dimnames(a) <- c(list(NULL), feature_axes, if (!is.null(events)) list(events),
                     list(time_names))
    a
  })
  args <- payload$args
  with_time <- isTRUE(args$include_time)  # CoxTime's time: the last feature, "time"
  if (payload$model_class == "CoxTime") args$include_time <- with_time  # as survinng records
  method_args <- c(list(target = payload$target, instance = ids),
                   args[intersect(c("times_input", "include_time", "n", "noise_level",
                                    "num_samples", "given"), names(args))],
                   list(dtype = dtype))
  out <- list(res = res, time = time, competing_risks = isTRUE(payload$competing_risks),
              pred = labelled(payload$pred))
  for (field in c("pred_diff", "pred_diff_q1", "pred_diff_q3")) {
    if (!is.null(payload[[field]])) out[[field]] <- labelled(payload[[field]])
  }
  out$model_class <- payload$model_class
  out$method <- payload$method
  out$method_args <- method_args
  attr(out, "labels") <- unlist(payload$labels)
  own_features <- c(unname(exp$xnames), if (with_time) "time")
  attr(out, "variables") <- if (identical(features, own_features)) {
    c(exp$variables, if (with_time) c(time = "time"))
  } else stats::setNames(features, features)
  if (out$model_class %in% c("DeepSurv", "CoxTime")) attr(out, "baseline_hazard") <- exp$baseline_hazard
  structure(out, class = c("survinngpy_result", "surv_result", "list"))
}

#' Sum the attributions of dummy columns back to their original variables
#'
#' Attributions of the model-matrix columns that come from one factor (treatment
#' dummies, polynomial contrasts) are added up, which is exact for the additive
#' methods (GxI(t), IntGrad(t), GradSHAP(t)).
#'
#' @param x (`survinngpy_result`) A result for an explainer built from a data.frame.
#' @return (`survinngpy_result`) The same result with one feature per original variable.
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' ig <- surv_intgrad(explain(model, dat), instance = 1:2, n = 20)
#' dimnames(ig$res[[1]])[[2]]  # stageII and stageIII, the dummies of `stage`
#' dimnames(combine_dummies(ig)$res[[1]])[[2]]
#' @export
combine_dummies <- function(x) {
  if (!inherits(x, "survinngpy_result")) abort_arg("x", "a survinngpy_result", paste("an object of class", class(x)[1]))
  variables <- attr(x, "variables")
  groups <- unique(variables)
  x$res <- lapply(x$res, function(a) {
    d <- dim(a)
    flat <- matrix(aperm(a, c(2, 1, seq_along(d)[-(1:2)])), nrow = d[2])
    summed <- rowsum(flat, factor(variables, levels = groups), reorder = TRUE)
    out <- aperm(array(summed, dim = c(length(groups), d[1], d[-(1:2)])),
                 c(2, 1, seq_along(d)[-(1:2)]))
    dimnames(out) <- c(list(NULL, groups), dimnames(a)[-(1:2)])
    out
  })
  attr(x, "variables") <- stats::setNames(groups, groups)
  x
}
