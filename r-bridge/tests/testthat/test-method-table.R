# The R wrappers keep survinng's signatures; their options come from the Python method
# table, so each wrapper must offer every option the table lists, with its default.
test_that("every method of the table has its R wrapper with the table's options and defaults", {
  skip_if_no_survinng_py()
  table <- survinngpy:::method_table()
  wrapped <- Filter(function(m) !is.null(m$r_function) &&
                      exists(m$r_function, envir = asNamespace("survinngpy")), table)
  expect_setequal(vapply(wrapped, `[[`, "", "r_function"),
                  c("surv_grad", "surv_smoothgrad", "surv_intgrad", "surv_gradSHAP", "surv_shap",
                    "surv_hessian", "surv_inthess"))
  for (method in wrapped) {
    formals <- formals(get(method$r_function, envir = asNamespace("survinngpy")))
    for (option in method$options) {
      expect_true(option$name %in% names(formals), label = paste(method$r_function, option$name))
      expect_equal(eval(formals[[option$name]]), option$default,
                       label = paste0(method$r_function, "(", option$name, ")"))
    }
  }
})

test_that("result labels come from the method table", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  gxi <- surv_grad(exp, instance = 1:2, times_input = TRUE)
  expect_identical(survinngpy:::method_label(gxi), "GxI(t)")
  expect_identical(survinngpy:::method_label(gxi, short = FALSE), "Grad x Input")
})

test_that("surv_shap() gives SurvSHAP(t) values that sum to pred - pred_ref", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  res <- surv_shap(exp, instance = 1:2, num_background = 20, seed = 1)
  expect_identical(survinngpy:::method_label(res), "SurvSHAP(t)")
  total <- apply(res$res[[1]], c(1, 3), sum)
  expect_equal(total, res$pred_diff, tolerance = 1e-5, ignore_attr = TRUE)
  expect_identical(res, surv_shap(exp, instance = 1:2, num_background = 20, seed = 1))
})
