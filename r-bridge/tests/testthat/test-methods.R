methods_cases <- list(
  list(name = "grad", fn = surv_grad, args = list(times_input = TRUE), py = list(times_input = TRUE)),
  list(name = "smoothgrad", fn = surv_smoothgrad, args = list(n = 3L, seed = 4L),
       py = list(n = 3L, seed = 4L)),
  list(name = "intgrad", fn = surv_intgrad, args = list(n = 4L), py = list(n = 4L)),
  list(name = "gradshap", fn = surv_gradSHAP, args = list(n = 3L, num_samples = 4L, seed = 2L),
       py = list(n = 3L, num_samples = 4L, seed = 2L)),
  list(name = "gradshap", fn = surv_gradSHAP,
       args = list(n = 3L, num_samples = 2L, seed = 5L, stratified = FALSE),
       py = list(n = 3L, num_samples = 2L, seed = 5L, stratified = FALSE))
)

for (kind in c("deepsurv", "coxtime", "deephit", "deephit_cr")) {
  test_that(paste("R results equal the Python results exactly:", kind), {
    skip_if_no_survinng_py()
    fit <- survivalmodels_fit(kind)
    exp <- explain(fit)
    for (case in methods_cases) {
      target <- if (kind == "deephit_cr") "cif" else "survival"
      r_res <- do.call(case$fn, c(list(exp, target = target, instance = c(5, 2)), case$args))
      py_res <- do.call(python_result, c(list(exp, case$name, c(5, 2), target = target), case$py))
      expect_s3_class(r_res, c("survinngpy_result", "surv_result", "list"), exact = TRUE)
      expect_identical(unname(r_res$res[[1]]), py_res$res[[1]])
      expect_identical(unname(r_res$pred), py_res$pred)
      expect_identical(r_res$time, py_res$time)
      expect_identical(dimnames(r_res$res[[1]])[[2]], c("age", "bmi", "grpb", "grpc"))
      expect_identical(dimnames(r_res$res[[1]])[[length(dim(r_res$res[[1]]))]],
                       as.character(r_res$time))
      expect_identical(r_res$method_args$instance, c(5L, 2L))
      expect_identical(r_res$competing_risks, kind == "deephit_cr")
      if (kind == "deephit_cr") {
        expect_identical(dimnames(r_res$res[[1]])[[3]], c("Event 1", "Event 2"))
      }
    }
  })
}

test_that("newdata explains the same rows as instance", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("coxtime")
  exp <- explain(fit, sim_data()$df)
  by_instance <- surv_intgrad(exp, instance = c(3, 8), n = 5)
  by_newdata <- surv_intgrad(exp, newdata = sim_data()$df[c(3, 8), ], n = 5)
  expect_identical(unname(by_newdata$res[[1]]), unname(by_instance$res[[1]]))
  expect_identical(by_newdata$pred_diff, by_instance$pred_diff)
  expect_identical(by_newdata$method_args$instance, 1:2)
})

test_that("dtype double and method defaults follow survinng", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  res <- surv_intgrad(exp, instance = 1, dtype = "double")
  expect_identical(res$method_args$dtype, "double")
  expect_identical(res$method_args$n, 10L)
  expect_true(res$method_args$times_input)
  gap <- apply(res$res[[1]], c(1, 3), sum) - res$pred_diff
  expect_lt(max(abs(gap)), 0.05)
  expect_identical(res$method, "Surv_IntGrad")
  expect_identical(res$model_class, "DeepSurv")
})

test_that("bad method arguments give classed R errors naming the argument", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit"))
  expect_error(surv_grad(exp, instance = 500), class = "survinngpy_error_argument",
               regexp = "instance")
  expect_error(surv_grad(exp, instance = 1.5), class = "survinngpy_error_argument")
  expect_error(surv_smoothgrad(exp, n = 0), class = "survinngpy_error_argument", regexp = "`n`")
  expect_error(surv_smoothgrad(exp, noise_level = -1), class = "survinngpy_error_argument",
               regexp = "noise_level")
  expect_error(surv_grad(exp, target = "hazard"), class = "survinngpy_error_python",
               regexp = "`target` of surv_grad\\(\\) for a DeepHit model must be one of")
  bad <- sim_data()$df[1:2, ]
  names(bad)[1] <- "Age"
  expect_error(surv_grad(exp, newdata = bad), class = "survinngpy_error_argument",
               regexp = "newdata")
  bad <- sim_data()$df[1:2, ]
  bad$bmi <- c("x", "y")
  expect_error(surv_grad(exp, newdata = bad), class = "survinngpy_error_argument",
               regexp = "newdata")
  expect_error(surv_grad(list()), class = "survinngpy_error_argument", regexp = "exp")
  expect_error(surv_gradSHAP(exp, stratified = NA), class = "survinngpy_error_argument",
               regexp = "stratified")
  expect_error(surv_gradSHAP(exp, num_samples = 500, replace = FALSE),
               class = "survinngpy_error_python", regexp = "num_samples")
})
