# Conditional targets (`given`) and CoxTime's time input (`include_time`) through R.

test_that("a conditional target cuts the grid at `given` and equals the Python result", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  plain <- surv_grad(exp, instance = c(5, 2))
  s <- plain$time[10]
  res <- surv_grad(exp, target = "conditional_survival", given = s, instance = c(5, 2))
  py_res <- python_result(exp, "grad", c(5, 2), target = "conditional_survival", given = s)
  expect_identical(unname(res$res[[1]]), py_res$res[[1]])
  expect_identical(res$time, plain$time[plain$time >= s])
  expect_identical(res$method_args$given, s)
  expect_identical(res$method_args$target, "conditional_survival")
  expect_equal(unname(res$pred), unname(plain$pred[, -(1:9)] / plain$pred[, 10]),
               tolerance = 1e-6)
})

test_that("the conditional CIF of competing risks keeps one curve per event", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit_cr"))
  plain <- surv_grad(exp, target = "cif", instance = 1:2)
  cif <- plain$pred
  surv <- surv_grad(exp, target = "survival", instance = 1:2)$pred
  s <- plain$time[4]
  res <- surv_grad(exp, target = "conditional_cif", given = s, instance = 1:2)
  expect_identical(dimnames(res$res[[1]])[[3]], c("Event 1", "Event 2"))
  want <- (cif[, , -(1:3)] - c(cif[, , 4])) / surv[, 4]
  expect_equal(unname(res$pred), unname(want), tolerance = 1e-6)
})

test_that("include_time adds survinng's \"time\" feature to every gradient method", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("coxtime"), sim_data()$df)
  features <- c("age", "bmi", "grpb", "grpc", "time")
  cases <- list(list(surv_grad, "grad", list()),
                list(surv_smoothgrad, "smoothgrad", list(n = 3L, seed = 1L)),
                list(surv_intgrad, "intgrad", list(n = 4L)),
                list(surv_gradSHAP, "gradshap", list(n = 3L, num_samples = 2L, seed = 1L)))
  for (case in cases) {
    res <- do.call(case[[1]], c(list(exp, instance = c(5, 2), include_time = TRUE), case[[3]]))
    py_res <- do.call(python_result, c(list(exp, case[[2]], c(5, 2), include_time = TRUE),
                                       case[[3]]))
    expect_identical(unname(res$res[[1]]), py_res$res[[1]])
    expect_identical(dimnames(res$res[[1]])[[2]], features)
    expect_true(res$method_args$include_time)
    expect_identical(unname(attr(res, "variables"))[5], "time")
  }
  expect_identical(dimnames(combine_dummies(res)$res[[1]])[[2]], c("age", "bmi", "grp", "time"))
  expect_false(surv_grad(exp, instance = 1)$method_args$include_time)
})

test_that("bad `given` and `include_time` give one-line errors", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  expect_error_line(surv_grad(exp, given = 1), "survinngpy_error_python",
                    "`given` of surv_grad() must be left out unless the target is conditional")
  expect_error_line(surv_grad(exp, target = "conditional_survival"), "survinngpy_error_python",
                    "`given` of surv_grad() must be a time s for target 'conditional_survival'")
  expect_error_line(surv_grad(exp, target = "conditional_survival", given = 1e6),
                    "survinngpy_error_python", "`given` of surv_grad() must be a time from 0")
  expect_error_line(surv_grad(exp, target = "conditional_survival", given = "a"),
                    "survinngpy_error_argument", "`given` must be a finite number")
  expect_error_line(surv_grad(exp, include_time = TRUE), "survinngpy_error_python",
                    paste("`include_time` of surv_grad() must be used with a model whose",
                          "network takes time as an input (CoxTime); got a DeepSurv model"))
  expect_error_line(surv_grad(exp, include_time = NA), "survinngpy_error_argument",
                    "`include_time` must be `TRUE` or `FALSE`")
})
