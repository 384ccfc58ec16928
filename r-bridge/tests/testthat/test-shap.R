# SurvSHAP(t) of models without gradients (a scikit-survival estimator made in R through
# reticulate) and the comparison of methods in one table.

sksurv_fit <- function(kind) {
  skip_if_not(reticulate::py_module_available("sksurv"), "scikit-survival is not available")
  sim <- sim_data()
  df <- sim$df[c("age", "bmi")]
  y <- reticulate::import("sksurv.util")$Surv$from_arrays(event = sim$status > 0, time = sim$time)
  model <- switch(kind,
    rsf = reticulate::import("sksurv.ensemble", convert = FALSE)$RandomSurvivalForest(
      n_estimators = 10L, min_samples_leaf = 5L, random_state = 0L),
    cox = reticulate::import("sksurv.linear_model", convert = FALSE)$CoxPHSurvivalAnalysis())
  list(model = model$fit(df, y), df = df)
}

test_that("a scikit-survival estimator made in R is explained by surv_shap() on its own grid", {
  skip_if_no_survinng_py()
  for (kind in c("rsf", "cox")) {
    fit <- sksurv_fit(kind)
    # columns in another order than the fit's: matched to the estimator's names
    exp <- explain(fit$model, fit$df[c("bmi", "age")], dtype = "double")
    expect_identical(exp$model_class, "SkSurv")
    expect_identical(exp$xnames, c("age", "bmi"))
    res <- surv_shap(exp, instance = 1:3, num_background = 20, seed = 1)
    own <- from_numpy(fit$model$predict_survival_function(fit$df[1:3, ], return_array = TRUE))
    expect_identical(unname(res$pred), own)
    expect_identical(res$time, from_numpy(fit$model$unique_times_))
    expect_identical(dimnames(res$res[[1]])[[2]], c("age", "bmi"))
    total <- apply(res$res[[1]], c(1, 3), sum)
    expect_equal(total, res$pred_diff, tolerance = 1e-12, ignore_attr = TRUE)
    chf <- surv_shap(exp, instance = 1:3, num_background = 20, seed = 1, output_type = "chf")
    own <- from_numpy(fit$model$predict_cumulative_hazard_function(fit$df[1:3, ],
                                                                  return_array = TRUE))
    expect_identical(unname(chf$pred), own)
    expect_error_line(surv_grad(exp, instance = 1), "survinngpy_error_python",
                      paste0("of surv_grad() must be a model with gradients (explain this one ",
                             "with surv_shap(), which only predicts); got a SkSurv model"))
  }
})

test_that("compare() gives the Python core's table, one row per pair, and prints it", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"), dtype = "double")  # exact in both
  shap <- surv_shap(exp, instance = 1:6, num_background = 20, seed = 1)
  gradshap <- surv_gradSHAP(exp, instance = 1:6, seed = 2)
  grad <- surv_grad(exp, instance = 1:6)
  table <- compare(shap, gradshap, grad)
  expect_s3_class(table, "data.frame")
  expect_identical(table$method_a, c("SurvSHAP(t)", "SurvSHAP(t)", "GradSHAP(t)"))
  expect_identical(table$method_b, c("GradSHAP(t)", "Grad(t)", "Grad(t)"))
  expect_true(is.na(table$local_accuracy_b[2]))  # Grad(t) has no pred_diff
  # the same results compared in Python
  sv <- reticulate::import("survinng_py")
  py <- sv$compare(sv$surv_shap(exp$py, instance = as.list(0:5), num_background = 20L, seed = 1L),
                   sv$surv_gradshap(exp$py, instance = as.list(0:5), seed = 2L))
  for (column in c("spearman_global", "spearman_time_mean", "instance_spearman_mean",
                   "top1_agreement", "local_accuracy_a", "local_accuracy_b")) {
    expect_identical(table[[column]][1], py[[column]]$tolist()[[1]], label = column)
  }
  expect_identical(compare(shap, shap, names = c("a", "b"))$spearman_global, 1)
  expect_output(print(table), "Agreement of attribution methods (3 pairs)", fixed = TRUE)
  expect_error_line(compare(shap), "survinngpy_error_argument",
                    "`...` must be at least two survinngpy results; got 1 given")
  expect_error_line(compare(shap, 1), "survinngpy_error_argument",
                    "`..2` must be a survinngpy result (from surv_shap(), surv_gradSHAP(), ...); got an object of class numeric")
  expect_error_line(compare(shap, surv_grad(exp, instance = 1:5)), "survinngpy_error_python",
                    "must be a result with the instances of results[0]; got other instances")
})

test_that("surv_shap() takes survex's argument names for the same explanation", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  rows <- exp$x[3:4, ]
  ours <- surv_shap(exp, newdata = rows, num_background = 20, target = "cum_hazard", seed = 1)
  survex <- surv_shap(exp, new_observation = rows, N = 20, output_type = "chf", seed = 1)
  expect_identical(survex, ours)
  expect_error_line(surv_shap(exp, newdata = rows, new_observation = rows),
                    "survinngpy_error_argument",
                    "`new_observation` must be left out when `newdata` is given (survex's name for it)")
  expect_error_line(surv_shap(exp, num_background = 10, N = 20), "survinngpy_error_argument",
                    "`N` must be left out when `num_background` is given (survex's name for it)")
  expect_error_line(surv_shap(exp, output_type = "risk"), "survinngpy_error_argument",
                    "`output_type` must be one of")
})

test_that("surv_shap() takes groups of columns as players, as the Python core does", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"), dtype = "double")
  res <- surv_shap(exp, instance = 1:3, num_background = 20, seed = 1,
                   groups = list(grp = c("grpb", "grpc")))
  expect_identical(dimnames(res$res[[1]])[[2]], c("age", "bmi", "grp"))
  expect_identical(unname(attr(res, "variables")), c("age", "bmi", "grp"))
  total <- apply(res$res[[1]], c(1, 3), sum)
  expect_equal(total, res$pred_diff, tolerance = 1e-12, ignore_attr = TRUE)
  sv <- reticulate::import("survinng_py")
  py <- sv$surv_shap(exp$py, instance = as.list(0:2), num_background = 20L, seed = 1L,
                     groups = reticulate::dict(grp = list("grpb", "grpc")))
  payload <- reticulate::import("survinng_py.r")$result_for_r(py)
  expect_identical(unname(res$res[[1]]), survinngpy:::from_python_array(payload$res[[1]]))
  # a one-column group is a list of one name, not a string
  one <- surv_shap(exp, instance = 1, num_background = 20, seed = 1, groups = list(a = "age"))
  expect_identical(dimnames(one$res[[1]])[[2]], c("a", "bmi", "grpb", "grpc"))
  expect_error_line(surv_shap(exp, groups = list("age")), "survinngpy_error_argument",
                    "`groups` must be a named list of column names (one character vector per group)")
  expect_error_line(surv_shap(exp, groups = list(g = "nope")), "survinngpy_error_python",
                    "`groups['g']` of surv_shap() must be a column name (4 columns); got 'nope'")
})
