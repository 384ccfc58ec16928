# Numbers cross to Python as raw little-endian doubles plus dim, in R (column-major)
# order: exact, and independent of reticulate's numpy conversion (which reticulate 1.28
# cannot do for numpy >= 2).

to_python_array <- function(x) {
  dims <- if (is.null(dim(x))) length(x) else dim(x)
  list(raw = reticulate::r_to_py(writeBin(as.double(x), raw(), endian = "little")),
       dim = as.list(as.integer(dims)))
}

from_python_array <- function(payload) {
  dim <- as.integer(unlist(payload$dim))
  values <- readBin(payload$raw, what = "double", n = prod(dim), size = 8, endian = "little")
  if (length(dim) <= 1) values else array(values, dim = dim)
}

#' Move numeric arrays between R and numpy, exactly
#'
#' `to_numpy()` gives a numpy float64 array of an R vector, matrix or array;
#' `from_numpy()` gives the R array of a numpy array (or anything `numpy.asarray()`
#' accepts). Both go through raw little-endian bytes, so they are exact and work with
#' every reticulate version, also where reticulate cannot convert numpy >= 2 arrays.
#'
#' @param x (`numeric`) An R vector, matrix or array (no `NA`s in integer input).
#' @param array A numpy array (a reticulate Python object).
#' @return `to_numpy()`: a numpy array (Python object) with `dim(x)`;
#'   `from_numpy()`: an R numeric vector (1-D) or array.
#' @examplesIf survinng_py_available()
#' a <- to_numpy(matrix(1:6 / 7, 2))
#' identical(from_numpy(a), matrix(1:6 / 7, 2))
#' @export
to_numpy <- function(x) {
  if (!is.numeric(x) && !is.logical(x)) abort_arg("x", "numeric", describe(x))
  require_python()
  payload <- to_python_array(x)
  bridge_unconverted$from_raw(payload$raw, payload$dim)
}

#' @rdname to_numpy
#' @export
from_numpy <- function(array) {
  require_python()
  from_python_array(call_python(bridge$to_raw(array)))
}
