test_that("print, as.data.frame and plot work for every method", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit"))
  results <- list(surv_grad(exp, instance = 1:2), surv_smoothgrad(exp, instance = 1:2, n = 2, seed = 1),
                  surv_intgrad(exp, instance = 1:2, n = 3),
                  surv_gradSHAP(exp, instance = 1:2, n = 2, num_samples = 3, seed = 1))
  for (res in results) {
    expect_output(print(res), "Survival Attribution Result Summary")
    df <- as.data.frame(res)
    expect_identical(nrow(df), length(res$res[[1]]))
    expect_identical(names(df)[1:5], c("id", "time", "feature", "value", "pred"))
    row <- df[17, ]
    t_idx <- match(row$time, res$time)
    i_idx <- match(row$id, res$method_args$instance)
    expect_identical(row$value, res$res[[1]][i_idx, as.character(row$feature), t_idx])
    expect_identical(row$pred, unname(res$pred[i_idx, t_idx]))
    types <- if (is.null(res$pred_diff)) c("attr", "pred", "force") else c("attr", "pred", "contr", "force")
    for (type in types) expect_s3_class(plot(res, type = type), "ggplot")
  }
  expect_output(print(results[[4]]), "1st Quartile Diff")
  expect_s3_class(plot(results[[3]], add_comp = "all"), "ggplot")
  expect_error(plot(results[[1]], type = "contr"), class = "survinngpy_error_argument")
  expect_error(plot(results[[1]], add_comp = "pred"), class = "survinngpy_error_argument")
  expect_error(plot(results[[1]], type = "bars"), class = "survinngpy_error_argument")
})

test_that("as.data.frame follows survinng's order and stacks per instance and time", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit_cr"))
  res <- surv_intgrad(exp, instance = c(9, 4), target = "cif", n = 3)
  df <- as.data.frame(res)
  expect_identical(names(df), c("id", "event", "time", "feature", "value", "pred", "pred_diff", "method"))
  expect_false(is.unsorted(df$id))
  expect_identical(unique(df$method), "IntGrad (cif)")
  st <- as.data.frame(res, stacked = TRUE)
  one <- st[st$id == 4 & st$event == "Event 2" & st$time == res$time[3], ]
  # rows run from the most important feature, whose cumulated value is the total
  expect_equal(one$cum_value[1], sum(one$value))
  expect_equal(one$cum_ref[1] - one$pred_ref[1], sum(one$value))
  expect_equal(one$min_value[nrow(one)], one$pred_ref[1])
  expect_error(as.data.frame(surv_grad(exp), stacked = TRUE), class = "survinngpy_error_argument")
})

test_that("dummy columns can be summed back to their factor", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  exp <- explain(fit, sim_data()$df)
  res <- surv_gradSHAP(exp, instance = 1:3, n = 2, num_samples = 2, seed = 1)
  combined <- combine_dummies(res)
  expect_identical(dimnames(combined$res[[1]])[[2]], c("age", "bmi", "grp"))
  expect_equal(combined$res[[1]][, "grp", ], res$res[[1]][, "grpb", ] + res$res[[1]][, "grpc", ])
  expect_identical(combined$res[[1]][, "age", ], res$res[[1]][, "age", ])
})

test_that("plot_attr, plot_pred, plot_contr and plot_force have survinng's signatures", {
  expect_identical(formals(plot_attr), as.pairlist(alist(x = , normalize = "none", add_comp = NULL)))
  expect_identical(formals(plot_pred), as.pairlist(alist(x = )))
  expect_identical(formals(plot_contr), as.pairlist(alist(x = , aggregate = FALSE)))
  expect_identical(formals(plot_force), as.pairlist(alist(x = , num_bars = 10)))
  expect_identical(formals(survinngpy:::plot.survinngpy_result),
                   as.pairlist(alist(x = , ... = , type = "attr")))
})

test_that("the plots draw the normalized, aggregated and selected values", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit"))
  shap <- surv_gradSHAP(exp, instance = c(6, 2, 9), n = 2, num_samples = 3, seed = 3)
  df <- as.data.frame(shap)
  per_point <- function(d, v) tapply(v, list(as.character(d$id), d$time), sum)

  normalized <- plot_attr(shap, normalize = "abs")$data
  expect_equal(as.vector(per_point(normalized, normalized$value)), rep(1, 3 * length(shap$time)))
  relative <- plot(shap, normalize = "rel")$data
  expect_equal(as.vector(per_point(relative, relative$value)), rep(1, 3 * length(shap$time)))

  expect_identical(plot(shap, type = "contr")$data, plot_contr(shap)$data)
  global <- plot_contr(shap, aggregate = TRUE)$data
  expect_identical(levels(global$id), "Global")
  mean_abs <- tapply(abs(df$value), list(df$time, df$feature), mean)
  expect_equal(global$value, mean_abs[cbind(as.character(global$time), as.character(global$feature))])
  expect_equal(as.vector(tapply(global$ratio, global$time, sum)), rep(100, length(shap$time)))

  force <- plot_force(shap, num_bars = 3)
  bars <- force$layers[[1]]$data
  expect_identical(sort(unique(bars$time)),
                   shap$time[c(1, which.min(abs(shap$time - mean(range(shap$time)))), length(shap$time))])
  expect_identical(levels(plot_pred(shap)$data$id), paste("Instance ID:", c(6, 2, 9)))
})

test_that("as.data.table gives the as.data.frame rows", {
  skip_if_no_survinng_py()
  skip_if_not_installed("data.table")
  exp <- explain(survivalmodels_fit("deephit_cr"))
  res <- surv_intgrad(exp, instance = c(9, 4), target = "cif", n = 3)
  dt <- data.table::as.data.table(res)
  expect_s3_class(dt, "data.table")
  expect_identical(as.data.frame(dt), as.data.frame(res))
  expect_identical(as.data.frame(data.table::as.data.table(res, stacked = TRUE)),
                   as.data.frame(res, stacked = TRUE))
})
