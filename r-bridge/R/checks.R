# Argument checks: one classed error naming the argument and what was expected.

abort_arg <- function(arg, rule, got = NULL) {
  got_text <- if (is.null(got)) "" else paste0("; got ", got)
  cli::cli_abort(paste0("{.arg ", arg, "} must be ", rule, got_text),
                 class = c("survinngpy_error_argument", "survinngpy_error"), call = NULL)
}

describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.atomic(x) && length(x) == 1) return(paste0("`", format(x), "`"))
  paste0("a ", class(x)[1], " of length ", length(x))
}

check_string <- function(x, arg, choices = NULL) {
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    abort_arg(arg, "a single string", describe(x))
  }
  if (!is.null(choices) && !x %in% choices) {
    abort_arg(arg, paste0("one of ", paste0('"', choices, '"', collapse = ", ")), describe(x))
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
