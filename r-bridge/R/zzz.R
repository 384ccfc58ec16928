#' @importFrom rlang .data
NULL

# The Python core, imported lazily: loading the R package never starts Python.
survinng_py <- NULL
bridge <- NULL
bridge_unconverted <- NULL  # returns Python objects as they are (numpy arrays stay numpy)

.onLoad <- function(libname, pkgname) {
  survinng_py <<- reticulate::import("survinng_py", delay_load = TRUE)
  bridge <<- reticulate::import("survinng_py.r", delay_load = TRUE)
  bridge_unconverted <<- reticulate::import("survinng_py.r", delay_load = TRUE, convert = FALSE)
}
