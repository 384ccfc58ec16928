#' @importFrom rlang .data
NULL

# The Python core, imported lazily: loading the R package never starts Python.
survinng_py <- NULL
bridge <- NULL
bridge_unconverted <- NULL  # returns Python objects as they are (numpy arrays stay numpy)
bridge_state <- new.env(parent = emptyenv())  # what is read from Python once per session

.onLoad <- function(libname, pkgname) {
  survinng_py <<- reticulate::import("survinng_py", delay_load = TRUE)
  bridge <<- reticulate::import("survinng_py.r", delay_load = TRUE)
  bridge_unconverted <<- reticulate::import("survinng_py.r", delay_load = TRUE, convert = FALSE)
  if (utils::packageVersion("reticulate") >= "1.41") {
    # A declaration only: a Python already chosen and started (RETICULATE_PYTHON,
    # use_python(), another package) keeps its own packages, and loading goes on.
    py_require <- getExportedValue("reticulate", "py_require")
    tryCatch(py_require(declared_python_packages()), error = function(e) NULL)
  }
}
