# Numbers cross to Python as raw little-endian doubles plus dim, in R (column-major)
# order: exact, and independent of reticulate's numpy conversion (which reticulate 1.28
# cannot do for numpy >= 2).

to_python_array <- function(x) {
  x <- as.matrix(x)
  storage.mode(x) <- "double"
  list(raw = reticulate::r_to_py(writeBin(as.vector(x), raw(), endian = "little")),
       dim = as.list(as.integer(dim(x))))
}

from_python_array <- function(payload) {
  dim <- as.integer(unlist(payload$dim))
  values <- readBin(payload$raw, what = "double", n = prod(dim), size = 8, endian = "little")
  if (length(dim) <= 1) values else array(values, dim = dim)
}
