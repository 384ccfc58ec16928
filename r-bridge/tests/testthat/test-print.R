# print() output, as snapshots. Printed numbers of fitted models depend on the
# machine's floating point, so they are masked there; a hand-made result with exact
# numbers covers their formatting.

mask_numbers <- function(lines) gsub("-?[0-9]+\\.[0-9]+(e-?[0-9]+)?", "<number>", lines)

test_that("explainers, restored explainers and extracted models print", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("coxtime")
  exp <- explain(fit, sim_data()$df)
  expect_snapshot(print(exp))
  expect_snapshot(print(rds_round_trip(exp)))
  expect_snapshot(print(extract_model(fit, include_data = TRUE)))
  expect_snapshot(print(explain(survivalmodels_fit("deephit_cr"), dtype = "double")))
})

test_that("results of every method print survinng's summary", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  expect_snapshot(print(surv_grad(exp, instance = c(3, 1))), transform = mask_numbers)
  expect_snapshot(print(surv_grad(exp, times_input = TRUE)), transform = mask_numbers)
  expect_snapshot(print(surv_smoothgrad(exp, n = 2, seed = 1)), transform = mask_numbers)
  expect_snapshot(print(surv_intgrad(exp, n = 2)), transform = mask_numbers)
  expect_snapshot(print(surv_gradSHAP(exp, n = 2, num_samples = 2, seed = 1)), transform = mask_numbers)
  exp_cr <- explain(survivalmodels_fit("deephit_cr"))
  expect_snapshot(print(surv_intgrad(exp_cr, target = "cif", instance = 1:2, n = 2)),
                  transform = mask_numbers)
})

test_that("printed numbers are the summaries of pred and pred_diff", {
  time <- c(1, 2)
  res <- structure(list(
    res = list(array(0, c(1, 2, 2))), time = time, competing_risks = FALSE,
    pred = matrix(c(0.75, 0.25), 1), pred_diff = matrix(c(-0.5, 0.125), 1),
    pred_diff_q1 = matrix(c(-1, 0), 1), pred_diff_q3 = matrix(c(0.5, 1), 1),
    model_class = "DeepSurv", method = "Surv_GradSHAP",
    method_args = list(target = "survival", instance = 7L, times_input = TRUE, n = 2L,
                       num_samples = 2L, dtype = "float")),
    labels = c("GradSHAP(t)", "GradSHAP"),
    class = c("survinngpy_result", "surv_result", "list"))
  expect_snapshot(print(res))
})
