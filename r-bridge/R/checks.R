# Errors and argument checks. Every error is one line of plain text, raised with
# rlang::abort() (never through a cli/glue template), so user strings, feature names
# and Python messages appear literally, whatever braces or markup they hold.

abort_survinngpy <- function(message, kind, ...) {
  rlang::abort(one_line(message), class = c(paste0("survinngpy_error_", kind), "survinngpy_error"),
               call = NULL, ...)
}

# "`<arg>` must be <rule>; got <got>": a classed error naming the argument.
abort_arg <- function(arg, rule, got = NULL) {
  got_text <- if (is.null(got)) "" else paste0("; got ", got)
  abort_survinngpy(paste0("`", arg, "` must be ", rule, got_text), "argument", argument = arg)
}

one_line <- function(text) {
  gsub("[\r\n]+", " ", paste(text, collapse = " "))
}

# A value as shown in messages: strings quoted and escaped, long text shortened.
describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.atomic(x) && length(x) == 1) {
    text <- if (is.character(x) && !is.na(x)) encodeString(x, quote = '"') else format(x)
    return(if (nchar(text) > 60) paste0(substr(text, 1, 57), "...") else text)
  }
  paste0("a ", class(x)[1], " of length ", length(x))
}

# Several names, quoted, for messages.
quoted <- function(x) paste0('"', x, '"', collapse = ", ")

check_string <- function(x, arg, choices = NULL) {
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    abort_arg(arg, "a single string", describe(x))
  }
  if (!is.null(choices) && !x %in% choices) {
    abort_arg(arg, paste0("one of ", quoted(choices)), describe(x))
  }
  x
}

check_flag <- function(x, arg) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) abort_arg(arg, "`TRUE` or `FALSE`", describe(x))
  x
}

check_count <- function(x, arg, minimum = 1, null_ok = FALSE) {
  if (is.null(x) && null_ok) return(NULL)
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x != round(x) || x < minimum) {
    abort_arg(arg, paste0("a whole number >= ", minimum), describe(x))
  }
  as.integer(x)
}

check_number <- function(x, arg, minimum = 0) {
  if (!is.numeric(x) || length(x) != 1 || !is.finite(x) || x < minimum) {
    abort_arg(arg, paste0("a finite number >= ", minimum), describe(x))
  }
  as.double(x)
}

check_instance <- function(instance, n) {
  if (!is.numeric(instance) || length(instance) == 0 || anyNA(instance) ||
      any(instance != round(instance)) || any(instance < 1) || any(instance > n)) {
    abort_arg("instance", paste0("whole numbers between 1 and ", n, " (rows of the explainer data)"),
              describe(instance))
  }
  as.integer(instance)
}

# `...` of a function that takes no further arguments: a misspelt or foreign argument
# (e.g. survinng's `model_type` for a fitted model) is an error, never ignored.
check_dots_empty <- function(..., where) {
  if (...length() == 0) return(invisible())
  given <- names(list(...)) %||% rep("", ...length())
  shown <- ifelse(nzchar(given), paste0("`", given, "`"), "an unnamed argument")
  abort_arg("...", paste0("empty for ", where), paste(shown, collapse = ", "))
}

# The explainer every method takes: of our class, with its Python object alive.
check_explainer <- function(exp, arg = "exp") {
  if (!inherits(exp, "survinngpy_explainer")) {
    abort_arg(arg, "an explainer from `explain()`", paste0("an object of class ", class(exp)[1]))
  }
  if (python_object_gone(exp$py)) {
    abort_survinngpy(paste0(
      "`", arg, "`: this explainer was restored from a file and its Python object is gone; ",
      "re-create it with explain(), or keep the model with extract_model() and explain() that"),
      "restored")
  }
  exp
}

python_object_gone <- function(x) {
  inherits(x, "python.builtin.object") && reticulate::py_is_null_xptr(x)
}

`%||%` <- function(a, b) if (is.null(a)) b else a
