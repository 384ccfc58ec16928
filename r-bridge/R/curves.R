# Models known only by their survival curves, held by Python: a fitted scikit-survival
# estimator (created in R through reticulate). Explained with surv_shap(), which only
# predicts; the gradient methods refuse them.

# Whether `py_model` is a fitted scikit-survival estimator.
is_sksurv <- function(py_model) {
  reticulate::py_has_attr(py_model, "predict_survival_function") &&
    reticulate::py_has_attr(py_model, "unique_times_")
}

# An explainer of a scikit-survival estimator on its `unique_times_` grid. Its features
# are the estimator's `feature_names_in_` when it was fitted on a table (the data's
# columns are matched to them by name), else the data's columns.
sksurv_explainer <- function(py_model, data, xnames, dtype) {
  dtype <- check_string(dtype, "dtype", c("float", "double"))
  if (reticulate::py_has_attr(py_model, "feature_names_in_")) {
    fitted <- reticulate::py_get_attr(py_model, "feature_names_in_")$tolist()
    xnames <- as.character(unlist(if (inherits(fitted, "python.builtin.object")) {
      reticulate::py_to_r(fitted)
    } else fitted))
  }
  build <- function(payload, dtype) {
    rows <- bridge_unconverted$from_raw(payload$raw, payload$dim)
    py <- call_python(survinng_py$explain(py_model, rows, model_type = "sksurv",
                                          dtype = python_dtype(dtype),
                                          feature_names = as.list(xnames)),
                      arg_map = c(data = "data"))
    list(py, "")
  }
  new_explainer(build, data, xnames, dtype)
}
