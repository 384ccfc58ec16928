skip_if_no_survinng_py <- function() {
  skip_if_not(survinng_py_available() && reticulate::py_module_available("pycox"),
              "Python packages survinng_py and pycox are not available")
}

# Simulated data with a factor, and the survivalmodels-style model matrix.
sim_data <- function(n = 120, seed = 7) {
  set.seed(seed)
  df <- data.frame(age = rnorm(n), bmi = runif(n), grp = factor(sample(c("a", "b", "c"), n, TRUE)))
  rate <- exp(0.8 * df$age - 0.5 * (df$grp == "b"))
  t_event <- rexp(n, rate)
  t_cens <- rexp(n, 0.3)
  cause <- sample(1:2, n, TRUE)
  list(df = df, time = pmin(t_event, t_cens),
       status = ifelse(t_event <= t_cens, cause, 0))
}

models_env <- new.env()

# A pycox model fitted through reticulate, wrapped exactly as survivalmodels returns it.
survivalmodels_fit <- function(kind) {
  if (!is.null(models_env[[kind]])) return(models_env[[kind]])
  sim <- sim_data()
  x <- stats::model.matrix(~ ., sim$df)[, -1]
  fit_model <- reticulate::import_from_path("fit_models", path = test_path())$fit_model
  tx <- survinngpy:::to_python_array
  status <- if (kind == "deephit_cr") sim$status else as.numeric(sim$status > 0)
  model <- fit_model(kind, tx(x)$raw, tx(x)$dim, tx(sim$time)$raw, tx(status)$raw)
  fit <- structure(list(y = cbind(time = sim$time, status = status), x = x,
                        xnames = colnames(x), model = model, call = quote(deepsurv())),
                   name = kind, class = c(kind, "pycox", "survivalmodel"))
  models_env[[kind]] <- fit
  fit
}

# The Python result of the same call, as R arrays (survinng's axis order).
python_result <- function(exp, method, instance, ...) {
  sv <- reticulate::import("survinng_py")
  fn <- switch(method, grad = sv$surv_grad, smoothgrad = sv$surv_smoothgrad,
               intgrad = sv$surv_intgrad, gradshap = sv$surv_gradshap)
  res <- fn(exp$py, instance = as.list(as.integer(instance - 1)), ...)
  payload <- reticulate::import("survinng_py.r")$result_for_r(res)
  list(res = lapply(payload$res, survinngpy:::from_python_array),
       pred = survinngpy:::from_python_array(payload$pred),
       time = survinngpy:::from_python_array(payload$time))
}

# The error `object` raises: of `class`, one line, containing `message` literally.
expect_error_line <- function(object, class, message) {
  cnd <- expect_error(object, message, fixed = TRUE, class = class)
  expect_false(grepl("\n", conditionMessage(cnd), fixed = TRUE))
  invisible(cnd)
}

# Whether `x` holds anything that does not survive saveRDS() as data: an environment,
# a function, an external pointer (live Python objects are external pointers).
holds_reference <- function(x) {
  if (is.environment(x) || is.function(x) || typeof(x) == "externalptr") return(TRUE)
  if (is.list(x)) return(any(vapply(x, holds_reference, logical(1))))
  !is.null(attributes(x)) && any(vapply(attributes(x), holds_reference, logical(1)))
}

# What readRDS(saveRDS(x)) gives: Python objects inside are dead afterwards.
rds_round_trip <- function(x) {
  path <- tempfile(fileext = ".rds")
  on.exit(unlink(path))
  saveRDS(x, path)
  readRDS(path)
}
