#' Is the Python package survinng_py available?
#'
#' @return (`logical(1)`) `TRUE` if reticulate's Python can import `survinng_py`.
#' @export
survinng_py_available <- function() {
  reticulate::py_module_available("survinng_py")
}

#' Install the Python side of survinngpy
#'
#' Creates (or reuses) a virtual environment and installs the CPU build of PyTorch
#' pinned as in the project README, then `survinng-py` with its pycox extra.
#'
#' @param envname (`character(1)`) Name of the virtual environment.
#' @param package (`character(1)`) What pip installs: a path to the survinng-py sources
#'   or a requirement string.
#' @param torch (`character(1)`) The torch requirement.
#' @return (`character(1)`) The environment's Python, invisibly; restart R and call
#'   `reticulate::use_virtualenv(envname)` before using the package.
#' @export
install_survinng_py <- function(envname = "r-survinng-py", package = "survinng-py[pycox]",
                                torch = "torch==2.13.0") {
  check_string(envname, "envname")
  check_string(package, "package")
  if (!reticulate::virtualenv_exists(envname)) reticulate::virtualenv_create(envname)
  reticulate::virtualenv_install(envname, torch, ignore_installed = FALSE)
  reticulate::virtualenv_install(envname, package, ignore_installed = FALSE)
  invisible(reticulate::virtualenv_python(envname))
}

# Abort unless Python and survinng_py can be used.
require_python <- function() {
  if (!survinng_py_available()) {
    cli::cli_abort(c(
      "The Python package {.pkg survinng_py} is not available to reticulate.",
      i = "Install it with {.run survinngpy::install_survinng_py()} or point {.envvar RETICULATE_PYTHON} at a Python that has it."
    ), class = c("survinngpy_error_python_missing", "survinngpy_error"))
  }
}

# Run `expr` (a call into Python); a Python error becomes one classed R error
# carrying the Python message, not a traceback dump.
call_python <- function(expr, arg_map = NULL) {
  tryCatch(expr, error = function(e) {
    msg <- python_message(e)
    for (py_arg in names(arg_map)) {
      msg <- gsub(paste0("`", py_arg, "`"), paste0("`", arg_map[[py_arg]], "`"), msg, fixed = TRUE)
    }
    cli::cli_abort(msg, class = c("survinngpy_error_python", "survinngpy_error"), call = NULL)
  })
}

python_message <- function(e) {
  py <- tryCatch(reticulate::py_last_error(), error = function(err) NULL)
  text <- if (!is.null(py) && nzchar(py$value %||% "")) py$value else conditionMessage(e)
  lines <- strsplit(text, "\n", fixed = TRUE)[[1]]
  lines <- lines[nzchar(trimws(lines))]
  sub("^.*(SurvinngError|Error|Exception): ", "", lines[length(lines)])
}

`%||%` <- function(a, b) if (is.null(a)) b else a
