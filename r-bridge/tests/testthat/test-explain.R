test_that("a survivalmodels Cox fit gets baseline hazards without changing the model", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  expect_false(reticulate::py_has_attr(fit$model, "baseline_hazards_"))
  was_training <- fit$model$net$training
  exp <- explain(fit)
  expect_s3_class(exp, "survinngpy_explainer")
  expect_match(exp$baseline_hazard, "training data")
  expect_false(reticulate::py_has_attr(fit$model, "baseline_hazards_"))
  expect_identical(fit$model$net$training, was_training)
  expect_identical(exp$xnames, c("age", "bmi", "grpb", "grpc"))
  expect_output(print(exp), "Model class: +DeepSurv")
  expect_match(attr(surv_grad(exp), "baseline_hazard"), "computed on the fit's training data")
})

test_that("data frames become survivalmodels' model matrix, matched by name", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deephit")
  sim <- sim_data()
  exp_df <- explain(fit, sim$df[, c("grp", "bmi", "age")])
  exp_mat <- explain(fit, fit$x)
  expect_identical(unname(exp_df$x), unname(exp_mat$x))
  expect_identical(unname(exp_df$variables), c("age", "bmi", "grp", "grp"))
  a <- surv_grad(exp_df, instance = 1:2)
  b <- surv_grad(exp_mat, instance = 1:2)
  expect_identical(a$res, b$res)
})

test_that("bad models and data give classed R errors", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deephit")
  sim <- sim_data()
  expect_error(explain(lm(mpg ~ wt, mtcars)), class = "survinngpy_error_model")
  expect_error(explain(fit, sim$df[, c("age", "bmi")]), class = "survinngpy_error_argument",
               regexp = "missing grpb, grpc")
  bad <- sim$df
  bad$age[3] <- NA
  expect_error(explain(fit, bad), class = "survinngpy_error_argument", regexp = "missing values")
  expect_error(explain(fit, "data.csv"), class = "survinngpy_error_argument",
               regexp = "a data.frame or a numeric matrix")
  expect_error(explain(fit, dtype = "half"), class = "survinngpy_error_argument",
               regexp = '"float", "double"')
})

test_that("a missing Python package is a clear R error", {
  skip_if_no_survinng_py()
  skip_if_not(nzchar(system.file(package = "survinngpy")), "survinngpy is not installed")
  bare <- Sys.which("python3")
  other <- "/usr/bin/python3"
  skip_if_not(file.exists(other), "no second Python without survinng_py")
  out <- suppressWarnings(system2(
    file.path(R.home("bin"), "Rscript"),
    c("-e", shQuote(paste(
      "library(survinngpy);",
      "r <- tryCatch(explain(structure(list(model = 1, xnames = 'a'), class = 'survivalmodel')),",
      "  survinngpy_error_python_missing = function(e) conditionMessage(e));",
      "cat(r)"))),
    env = paste0("RETICULATE_PYTHON=", other), stdout = TRUE, stderr = TRUE))
  expect_true(any(grepl("survinng_py.*is not available to reticulate", out)))
})
