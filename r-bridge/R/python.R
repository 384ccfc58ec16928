#' Is the Python package survinng_py available?
#'
#' @return (`logical(1)`) `TRUE` if reticulate's Python can import `survinng_py`.
#' @examples
#' survinng_py_available()
#' @export
survinng_py_available <- function() {
  reticulate::py_module_available("survinng_py")
}

# The published Python packages the bridge uses (as in survinng-py's pyproject.toml:
# its dependencies, the pycox extra, and onnx/onnxruntime for extract_model() and
# onnx_predict()).
python_requirements <- c("torch>=2.13", "numpy>=1.24", "pandas>=2.0", "tqdm>=4.60",
                         "pyarrow>=14", "pycox>=0.3.0", "torchtuples>=0.2.2", "onnx>=1.15",
                         "onnxruntime>=1.17")

#' Install the Python side of survinngpy
#'
#' Creates (or reuses) a virtual environment and installs `survinng-py` with its
#' `pycox` and `onnx` extras from `source`. survinng-py is not published on PyPI, so
#' there is no default: pass the path of its source folder (the folder holding
#' `pyproject.toml`), a wheel or source archive, or a URL pip understands (e.g.
#' `git+https://...`) that you trust. Its published dependencies (torch, pycox,
#' numpy, pandas, pyarrow, onnx, ...) come from PyPI.
#'
#' With reticulate >= 1.41 no installation is needed when survinng-py is found by
#' reticulate's own environment: the package declares its Python requirements with
#' `reticulate::py_require()` when loaded, including survinng-py itself when the
#' option `survinngpy.python_source` (or the environment variable
#' `SURVINNGPY_PYTHON_SOURCE`) names its source as above.
#'
#' @param source (`character(1)`) A local folder, wheel or archive of survinng-py, or a
#'   URL (`https://`, `git+https://`, `file://`).
#' @param envname (`character(1)`) Name of the virtual environment.
#' @param torch (`character(1)`) The torch requirement, installed first (PyPI's default
#'   build; pass e.g. a local wheel's path for another one).
#' @return (`character(1)`) The environment's Python, invisibly; restart R and call
#'   `reticulate::use_virtualenv(envname)` before using the package.
#' @examples
#' # not run: creates a virtual environment and installs packages from the internet
#' \dontrun{
#' install_survinng_py("~/src/survinng-py")
#' }
#' @export
install_survinng_py <- function(source, envname = "r-survinng-py", torch = "torch==2.13.0") {
  if (missing(source)) {
    abort_arg("source", "the path or URL of survinng-py's sources (it is not on PyPI)")
  }
  requirement <- python_source_requirement(source, "source")
  check_string(envname, "envname")
  check_string(torch, "torch")
  if (!reticulate::virtualenv_exists(envname)) reticulate::virtualenv_create(envname)
  reticulate::virtualenv_install(envname, torch, ignore_installed = FALSE)
  reticulate::virtualenv_install(envname, requirement, ignore_installed = FALSE)
  invisible(reticulate::virtualenv_python(envname))
}

# survinng-py from `source` (folder, file or URL) as a PEP 508 direct reference with
# the extras the bridge uses.
python_source_requirement <- function(source, arg) {
  check_string(source, arg)
  if (grepl("^(git\\+)?(https|file)://", source)) {
    url <- source
  } else if (file.exists(source)) {
    url <- paste0("file://", normalizePath(source, winslash = "/"))
  } else {
    abort_arg(arg, "an existing folder or file of survinng-py's sources, or an https://, git+https:// or file:// URL",
              describe(source))
  }
  paste0("survinng-py[pycox,onnx] @ ", url)
}

# Declared with reticulate::py_require() when the package loads (reticulate >= 1.41):
# an R user whose reticulate manages the Python environment needs no manual setup.
# survinng-py itself only when its source is named (it is not on PyPI).
declared_python_packages <- function() {
  source <- getOption("survinngpy.python_source", Sys.getenv("SURVINNGPY_PYTHON_SOURCE"))
  c(python_requirements,
    if (nzchar(source)) python_source_requirement(source, "survinngpy.python_source"))
}

# Abort unless Python and survinng_py can be used.
require_python <- function() {
  if (!survinng_py_available()) {
    abort_survinngpy(paste(
      "The Python package survinng_py is not available to reticulate;",
      "install it with survinngpy::install_survinng_py(<path or URL of its sources>)",
      "or point RETICULATE_PYTHON at a Python that has it"), "python_missing")
  }
}

# Run `expr` (a call into Python); a Python error becomes one classed R error whose
# message is the Python message's first line, shown literally and also kept as data
# (`python_type`, `python_message`). `arg_map` renames Python argument names in it.
# Our own errors raised while evaluating `expr` pass unchanged.
call_python <- function(expr, arg_map = NULL) {
  tryCatch(expr, survinngpy_error = function(e) stop(e), error = function(e) {
    py <- python_error(e)
    msg <- if (py$type %in% c("SurvinngError", "")) py$message else paste0(py$type, ": ", py$message)
    for (py_arg in names(arg_map)) {
      msg <- gsub(paste0("`", py_arg, "`"), paste0("`", arg_map[[py_arg]], "`"), msg, fixed = TRUE)
    }
    abort_survinngpy(msg, "python", python_type = py$type, python_message = py$message)
  })
}

# The Python exception behind an R error from reticulate: its type and the first line
# of its message (reticulate's last error, when it is the one raised).
python_error <- function(e) {
  r_text <- conditionMessage(e)
  py <- tryCatch(reticulate::py_last_error(), error = function(err) NULL)
  value <- first_line(py$value %||% "")
  if (nzchar(value) && grepl(value, r_text, fixed = TRUE)) {
    return(list(type = py$type %||% "", message = value))
  }
  list(type = "", message = first_line(r_text))
}

first_line <- function(text) {
  lines <- strsplit(paste(text, collapse = "\n"), "\n", fixed = TRUE)[[1]]
  lines <- trimws(lines[nzchar(trimws(lines))])
  if (length(lines) == 0) "" else lines[1]
}
