test_that("a survinng analysis script runs unchanged with survinngpy", {
  skip_if_no_survinng_py()
  skip_if_not_installed("callr")
  skip_if_not_installed("data.table")
  skip_if_not(nzchar(system.file(package = "survinngpy")), "survinngpy is not installed")
  env <- new.env()
  expect_output(source(test_path("scripts", "survinng_style.R"), local = env),
                "Method: +GradSHAP\\(t\\)")

  # what came back from the fitting process is plain data
  expect_s3_class(env$ext, "survinngpy_extracted")
  expect_false(holds_reference(env$ext))
  expect_identical(env$ext$xnames, c("age", "karno", "sexmale"))
  expect_identical(env$ext$model_class, "DeepSurv")

  # the explainer holds the test rows' model matrix; time and status are not features
  expected_x <- stats::model.matrix(~ ., env$test[, c("age", "karno", "sex")])[, -1]
  expect_identical(unname(env$explainer$x), unname(expected_x))

  # survinng's result structure and method defaults
  n_times <- env$ext$n_times
  defaults <- list(grad = list(method = "Surv_Gradient", times_input = FALSE),
                   sg = list(method = "Surv_SmoothGrad", times_input = FALSE, n = 10L, noise_level = 0.1),
                   gxi = list(method = "Surv_Gradient", times_input = TRUE),
                   ig = list(method = "Surv_IntGrad", times_input = TRUE, n = 10L),
                   shap = list(method = "Surv_GradSHAP", times_input = TRUE, n = 50L, num_samples = 10L))
  for (name in names(defaults)) {
    res <- env$results[[name]]
    expect_s3_class(res, c("survinngpy_result", "surv_result", "list"), exact = TRUE)
    expect_identical(res$method, defaults[[name]]$method)
    expect_identical(dim(res$res[[1]]), c(2L, 3L, n_times))
    expect_identical(dimnames(res$res[[1]])[[2]], env$ext$xnames)
    expect_identical(dim(res$pred), c(2L, n_times))
    expect_identical(res$method_args$instance, c(1L, 10L))
    expect_identical(res$method_args$target, "survival")
    expect_identical(res$method_args$dtype, "float")
    for (arg in setdiff(names(defaults[[name]]), "method")) {
      expect_identical(res$method_args[[arg]], defaults[[name]][[arg]], info = paste(name, arg))
    }
    expect_identical(is.null(res$pred_diff), name %in% c("grad", "sg", "gxi"))
  }
  expect_identical(env$shap_first$method_args$instance, 1L)
  expect_identical(dim(env$shap_first$pred_diff_q1), c(1L, n_times))

  # every plot is a ggplot that builds
  expect_length(env$plots, 11)
  for (p in env$plots) {
    expect_s3_class(p, "ggplot")
    expect_no_error(ggplot2::ggplot_build(p))
  }

  # tables: survinng's long layout, the same rows as data.frame and data.table
  for (name in names(env$results)) {
    frame <- env$frames[[name]]
    expect_identical(nrow(frame), length(env$results[[name]]$res[[1]]))
    expect_identical(names(frame)[1:5], c("id", "time", "feature", "value", "pred"))
    expect_s3_class(env$tables[[name]], "data.table")
    expect_identical(as.data.frame(env$tables[[name]]), frame)
  }
  expect_true(all(c("pred_ref", "cum_value", "cum_ref", "min_value") %in% names(env$stacked)))
})
