# Hessian(t) and Integrated Hessians(t) through the bridge: the same numbers as Python,
# with the two feature axes named.
python_pairs <- function(exp, fn, instance, ...) {
  sv <- reticulate::import("survinng_py")
  res <- sv[[fn]](exp$py, instance = as.list(as.integer(instance - 1)), ...)
  payload <- reticulate::import("survinng_py.r")$result_for_r(res)
  list(res = survinngpy:::from_python_array(payload$res[[1]]),
       pred_diff = if (!is.null(payload$pred_diff)) survinngpy:::from_python_array(payload$pred_diff))
}

for (kind in c("deepsurv", "coxtime", "deephit_cr")) {
  test_that(paste("surv_hessian() and surv_inthess() equal the Python results:", kind), {
    skip_if_no_survinng_py()
    exp <- explain(survivalmodels_fit(kind))
    target <- if (kind == "deephit_cr") "cif" else "survival"
    hess <- surv_hessian(exp, target = target, instance = c(4, 1), times_input = TRUE)
    py <- python_pairs(exp, "surv_hessian", c(4, 1), target = target, times_input = TRUE)
    expect_identical(unname(hess$res[[1]]), py$res)
    expect_identical(dimnames(hess$res[[1]])[2:3], list(exp$xnames, exp$xnames))
    expect_identical(hess$res[[1]], aperm(hess$res[[1]], c(1, 3, 2, seq_along(dim(py$res))[-(1:3)])))
    ih <- surv_inthess(exp, target = target, instance = c(4, 1), n = 3L)
    py <- python_pairs(exp, "surv_inthess", c(4, 1), target = target, n = 3L)
    expect_identical(unname(ih$res[[1]]), py$res)
    expect_identical(unname(ih$pred_diff), py$pred_diff)
    expect_identical(ih$method, "Surv_IntHessian")
    expect_identical(ih$method_args$n, 3L)
  })
}

test_that("interaction plots draw the result's matrix and its largest pairs", {
  skip_if_no_survinng_py()
  skip_if_not_installed("ggplot2")
  exp <- explain(survivalmodels_fit("deephit_cr"))
  ih <- surv_inthess(exp, target = "cif", instance = c(3, 6), n = 3L)
  a <- ih$res[[1]]
  heat <- plot_interactions(ih, times = ih$time[c(2, 5)], instance = 2, event = 2)
  expect_s3_class(heat, "ggplot")
  cells <- heat$data[heat$data$time == levels(heat$data$time)[2], ]
  expect_identical(cells$value, as.vector(a[2, , , 2, 5]))
  pairs <- plot_pairs(ih, top_k = 2, instance = 1, event = 1)
  m <- a[1, , , 1, ]
  upper <- which(upper.tri(m[, , 1]), arr.ind = TRUE)
  peak <- apply(upper, 1, function(ij) max(abs(m[ij[1], ij[2], ])))
  top <- upper[which.max(peak), ]
  expect_identical(levels(pairs$data$pair)[1], paste0(exp$xnames[top[1]], ":", exp$xnames[top[2]]))
  expect_identical(pairs$data$value[seq_along(ih$time)], unname(m[top[1], top[2], ]))
  expect_error(plot_pairs(surv_grad(exp, instance = 1)), "surv_hessian() or surv_inthess()",
               fixed = TRUE)
})

test_that("as.data.frame() of a pair result has one row per (id, pair, [event,] time)", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit_cr"))
  hess <- surv_hessian(exp, target = "cif", instance = c(2, 7))
  df <- as.data.frame(hess)
  a <- hess$res[[1]]
  expect_identical(nrow(df), length(a))
  row <- df[df$id == 7 & df$feature_i == "age" & df$feature_j == "bmi" & df$event == "Event 2", ]
  expect_identical(row$value, unname(a[2, "age", "bmi", "Event 2", ]))
  expect_identical(as.character(row$feature[1]), "age:bmi")
  expect_identical(row$pred, unname(hess$pred[2, "Event 2", ]))
})

test_that("surv_hessian(include_time = TRUE) pairs CoxTime's time as the last feature", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("coxtime"))
  hess <- surv_hessian(exp, instance = c(2, 1), include_time = TRUE)
  py <- python_pairs(exp, "surv_hessian", c(2, 1), include_time = TRUE)
  expect_identical(unname(hess$res[[1]]), py$res)
  expect_identical(dimnames(hess$res[[1]])[2:3], rep(list(c(exp$xnames, "time")), 2))
  expect_true(hess$method_args$include_time)
})
