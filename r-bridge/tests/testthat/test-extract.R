target_for <- function(kind) if (kind == "deephit_cr") "cif" else "survival"

for (kind in c("deepsurv", "coxtime", "deephit", "deephit_cr")) {
  test_that(paste("an extracted model, saved and read back, explains as the fit:", kind), {
    skip_if_no_survinng_py()
    fit <- survivalmodels_fit(kind)
    ext <- rds_round_trip(extract_model(fit))
    expect_s3_class(ext, "survinngpy_extracted")
    expect_false(holds_reference(ext))
    expect_identical(names(ext$bundle), c("bundle.json", "network.pt2", "survival.onnx"))
    expect_null(ext$data)
    from_fit <- explain(fit)
    from_ext <- explain(ext, data = fit$x)
    expect_identical(from_ext$model_class, from_fit$model_class)
    expect_identical(ext$n_times, length(surv_grad(from_fit)$time))
    for (method in list(surv_grad, surv_intgrad)) {
      a <- method(from_fit, target = target_for(kind), instance = c(4, 1))
      b <- method(from_ext, target = target_for(kind), instance = c(4, 1))
      # the fit's MLP takes the closed-form layer derivatives, the extracted network
      # (an exported program) autograd's: the same numbers up to float32 rounding
      expect_equal(b$res, a$res, tolerance = 1e-6)
      expect_identical(b$pred, a$pred)
      expect_identical(b$time, a$time)
    }
  })
}

test_that("a model fitted and extracted in another R process explains as it did there", {
  skip_if_no_survinng_py()
  skip_if_not_installed("callr")
  skip_if_not(nzchar(system.file(package = "survinngpy")), "survinngpy is not installed")
  sim <- sim_data()
  x <- stats::model.matrix(~ ., sim$df)[, -1]
  there <- callr::r(function(dir, x, time, status) {
    library(survinngpy)
    tx <- survinngpy:::to_python_array
    fit_model <- reticulate::import_from_path("fit_models", path = dir)$fit_model
    model <- fit_model("coxtime", tx(x)$raw, tx(x)$dim, tx(time)$raw, tx(status)$raw)
    fit <- structure(list(x = x, xnames = colnames(x), model = model),
                     class = c("coxtime", "pycox", "survivalmodel"))
    list(ext = extract_model(fit, include_data = TRUE),
         res = surv_gradSHAP(explain(fit), instance = c(2, 7), n = 4, num_samples = 3, seed = 9))
  }, args = list(dir = normalizePath(test_path()), x = x, time = sim$time,
                 status = as.numeric(sim$status > 0)))
  expect_false(holds_reference(there$ext))
  expect_identical(there$ext$data, x)
  here <- surv_gradSHAP(explain(there$ext), instance = c(2, 7), n = 4, num_samples = 3, seed = 9)
  expect_identical(here$res, there$res$res)
  expect_identical(here$pred, there$res$pred)
  expect_identical(here$pred_diff, there$res$pred_diff)
  expect_identical(here$time, there$res$time)
})

test_that("explainers and pycox models extract too; kept data keeps its variables", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  sim <- sim_data()
  exp <- explain(fit, sim$df)
  from_exp <- rds_round_trip(extract_model(exp, include_data = TRUE))
  expect_identical(from_exp$data, exp$x)
  again <- explain(from_exp)
  res <- surv_intgrad(again, instance = 1:2)
  expect_identical(res$res, surv_intgrad(exp, instance = 1:2)$res)
  expect_identical(dimnames(combine_dummies(res)$res[[1]])[[2]], c("age", "bmi", "grp"))
  from_pycox <- extract_model(fit$model, data = fit$x)
  expect_identical(surv_grad(explain(from_pycox, data = fit$x), instance = 3)$res,
                   surv_grad(explain(fit), instance = 3)$res)
  # a data.frame with more columns (time, status) is matched to the features by name
  expect_identical(unname(explain(from_exp, data = cbind(sim$df, time = sim$time))$x), unname(exp$x))
})

test_that("num_basehazard estimates the baseline on a subsample, without touching the fit", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  full <- extract_model(fit)
  sub <- extract_model(fit, num_basehazard = 30)
  expect_identical(full$n_times, 120L)  # one time per distinct training duration
  expect_lte(sub$n_times, 30L)
  expect_match(sub$baseline_hazard, "computed on 30 random rows", fixed = TRUE)
  expect_identical(extract_model(fit, num_basehazard = 1000)$n_times, 120L)  # capped at all rows
  expect_false(reticulate::py_has_attr(fit$model, "baseline_hazards_"))
})

test_that("path writes the extracted model with saveRDS, never over an existing file", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deephit")
  path <- tempfile(fileext = ".rds")
  ext <- extract_model(fit, path = path)
  expect_identical(readRDS(path), ext)
  expect_error_line(extract_model(fit, path = path), "survinngpy_error_argument",
                    "`path` must be a file that does not exist yet (pass overwrite = TRUE to replace it)")
  expect_identical(readRDS(path), ext)
  kept <- extract_model(fit, path = path, include_data = TRUE, overwrite = TRUE)
  expect_identical(readRDS(path), kept)
  expect_identical(list.files(dirname(path), pattern = "^\\.survinngpy-"), character())
})
