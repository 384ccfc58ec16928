#' Predict with an exported survival model through onnxruntime
#'
#' Runs a model exported by `survinng_py` (`survinng_py.export_onnx()`, a bundle's
#' `<target>.onnx`, or `survinng-py export`) with onnxruntime through reticulate: no
#' pycox and no fitted model object needed. The graph holds network and survival head;
#' its time grid, feature and event names travel in the file's metadata. Numbers cross
#' to Python as raw little-endian bytes (see [to_numpy()]), so this works with every
#' reticulate version. (The README shows the same in plain reticulate code that needs
#' only onnxruntime and numpy.)
#'
#' @param path (`character(1)`) An `.onnx` file written by `survinng_py`, or a bundle
#'   folder (then its `<target>.onnx` is used).
#' @param newdata (`data.frame` or `matrix`) Rows to predict. Columns are matched to the
#'   model's feature names; a data.frame is turned into the model matrix as
#'   survivalmodels does (`model.matrix(~ ., newdata)[, -1]`).
#' @param target (`character(1)`) Which graph of a bundle folder to run (`"survival"`,
#'   `"cif"`, ...); ignored for a file.
#' @return For one event, a matrix with one row per row of `newdata` and one column per
#'   time point (column names: the times); with competing events, an array
#'   `rows x times x events` (dimnames: times and event names).
#' @examplesIf survinng_py_available() && reticulate::py_module_available("pycox") && reticulate::py_module_available("onnxruntime")
#' # `dat`, `x` and `model`: a small DeepSurv model fitted with pycox (a few seconds)
#' source(system.file("examples", "deepsurv.R", package = "survinngpy"))
#' # a model bundle as survinng_py.save_model() or `survinng-py export` writes it
#' bundle <- file.path(tempdir(), "model_bundle")
#' sv <- reticulate::import("survinng_py")
#' invisible(sv$save_model(explain(model, dat)$py, bundle, dynamo = FALSE, overwrite = TRUE))
#' surv <- onnx_predict(bundle, dat[1:3, ])
#' matplot(as.numeric(colnames(surv)), t(surv), type = "s", xlab = "time", ylab = "S(t)")
#' @export
onnx_predict <- function(path, newdata, target = "survival") {
  check_string(path, "path")
  check_string(target, "target")
  require_python()
  if (!reticulate::py_module_available("onnxruntime")) {
    abort_survinngpy(paste("The Python package onnxruntime is not available to reticulate;",
                           "install it with pip install onnxruntime"), "python_missing")
  }
  file <- if (dir.exists(path)) file.path(path, paste0(target, ".onnx")) else path
  onnx <- reticulate::import("survinng_py.onnx_export", convert = FALSE)
  session <- call_python(onnx$onnx_session(file, "onnx_predict()"))
  meta <- reticulate::py_to_r(call_python(onnx$session_labels(session, file, "onnx_predict()")))
  shapes <- meta$input_shapes
  if (length(shapes) != 1 || length(shapes[[1]]) != 1 || is.null(meta$time)) {
    abort_arg("path", "a model with one tabular input and a survival head",
              paste0(length(shapes), " input(s), target ", meta$target))
  }
  xnames <- if (is.null(meta$feature_names)) paste0("X", seq_len(shapes[[1]][[1]])) else
    as.character(unlist(meta$feature_names[[1]]))
  x <- prepare_x(newdata, xnames, "newdata")$x
  feed <- reticulate::py_dict(meta$input_names[[1]], list(to_numpy(x)$astype(meta$dtype)),
                              convert = FALSE)
  out <- from_numpy(reticulate::py_get_item(call_python(session$run(NULL, feed)), 0L))
  time <- as.character(unlist(meta$time))
  events <- as.character(unlist(meta$event_names))
  if (length(events) == 1) {
    return(matrix(out[, 1, ], nrow = nrow(x), dimnames = list(rownames(newdata), time)))
  }
  out <- aperm(out, c(1, 3, 2))
  dimnames(out) <- list(rownames(newdata), time, events)
  out
}
