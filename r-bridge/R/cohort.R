#' Explain every row of a Parquet dataset into a folder of Parquet parts
#'
#' Calls `survinng_py.explain_dataset()`: the rows of `source` are explained part by
#' part (at most `rows_per_task` rows each) and written as `part-*.parquet` files in the
#' exchange schema, with a manifest (`_survinng.json`) and the cohort summaries, so the
#' full result is never held in memory. Every row gets the numbers of one call of the
#' method on all rows (the same draws; each part equals the method on its rows bit for
#' bit, the joined parts one call on all rows up to the last bit of float64 rounding), in
#' this process or on a Dask cluster (`scheduler`). Read the parts with
#' `arrow::open_dataset(out)` (or the files `part-*.parquet`), DuckDB or polars.
#'
#' @param model (`character(1)` or `survinngpy_explainer`) A model bundle folder
#'   (written by `survinng_py.save_model()` or `survinng-py export`) or an explainer from
#'   [explain()].
#' @param source (`character`) A Parquet file, a folder or a glob of Parquet files whose
#'   columns are named like the model's features (for a model of several inputs, the
#'   features of every input).
#' @param out (`character(1)`) The output folder (must not exist, unless `overwrite` or
#'   `resume`).
#' @param method (`character(1)`) `"grad"`, `"intgrad"`, `"gradshap"` or `"smoothgrad"`.
#' @param target (`character(1)`) Survival target, e.g. `"survival"` or `"cif"`.
#' @param rows_per_task (`integer(1)`) Most rows per part.
#' @param scheduler (`character(1)` or `NULL`) Address of a Dask scheduler
#'   (`"tcp://host:8786"`); `NULL` computes in this R session's Python.
#' @param layout (`character(1)`) `"long"` or `"wide"` part files.
#' @param overwrite,resume (`logical(1)`) Replace an earlier output folder, or continue an
#'   interrupted run into it.
#' @param seed (`integer(1)` or `NULL`) Seed of GradSHAP's and SmoothGrad's draws (drawn
#'   once and recorded in the manifest when `NULL`).
#' @param ... Options of the method, e.g. `n = 20`, `times_input = FALSE`.
#' @return (`list`) `path` (the output folder), `n_rows`, `n_parts`, `importance` (a
#'   data.frame `input, feature, event, time, mean_abs`: the mean absolute attribution
#'   over all rows), `prediction` (a data.frame `event, time, mean_pred`) and `shares`
#'   (for a model of several inputs, the cohort modality shares: a data.frame
#'   `modality, event, time, share` in percent; `NULL` for one input).
#' @examples
#' # not run: needs a model bundle and a folder of Parquet files of rows
#' \dontrun{
#' res <- explain_dataset("model_bundle", "cohort/", "attributions", method = "gradshap",
#'                        seed = 1, n = 10)
#' head(res$importance)
#' }
#' @export
explain_dataset <- function(model, source, out, method = "grad", target = "survival",
                            rows_per_task = 10000L, scheduler = NULL, layout = "long",
                            overwrite = FALSE, resume = FALSE, seed = NULL, ...) {
  require_python()
  if (inherits(model, "survinngpy_explainer")) {
    model <- check_explainer(model, "model")$py
  } else {
    check_string(model, "model")
  }
  if (!is.character(source) || length(source) < 1 || anyNA(source)) {
    abort_arg("source", "a Parquet file, folder or glob (character)", describe(source))
  }
  check_string(out, "out")
  check_string(method, "method")
  check_string(target, "target")
  check_string(layout, "layout", c("long", "wide"))
  check_flag(overwrite, "overwrite")
  check_flag(resume, "resume")
  options <- dataset_options(method, list(...))
  client <- NULL
  if (!is.null(scheduler)) {
    check_string(scheduler, "scheduler")
    if (!reticulate::py_module_available("distributed")) {
      abort_survinngpy(paste("The Python package distributed is not available to reticulate;",
                             'install it with pip install "survinng-py[dask]"'),
                       "python_missing")
    }
    client <- call_python(reticulate::import("distributed")$Client(scheduler))
    on.exit(client$close(), add = TRUE)
  }
  cohort <- reticulate::import("survinng_py.cohort", convert = FALSE)
  result <- call_python(do.call(cohort$explain_dataset, c(
    list(model, if (length(source) == 1) source else as.list(source), out, method = method,
         target = target, client = client, rows_per_task = check_count(rows_per_task,
                                                                       "rows_per_task"),
         layout = layout, overwrite = overwrite, resume = resume,
         seed = check_count(seed, "seed", minimum = 0, null_ok = TRUE)),
    options)))
  list(path = normalizePath(out), n_rows = as.integer(reticulate::py_to_r(result$n_rows)),
       n_parts = as.integer(reticulate::py_to_r(result$n_parts)),
       importance = python_table(result$importance),
       prediction = python_table(result$prediction),
       shares = if (inherits(result$shares, "python.builtin.NoneType")) NULL
                else python_table(result$shares))
}

# A small pandas table as a data.frame, column by column (plain lists: no pandas
# conversion needed in reticulate).
python_table <- function(frame) {
  columns <- reticulate::py_to_r(frame$to_dict("list"))
  as.data.frame(lapply(columns, unlist), stringsAsFactors = FALSE)
}

# The method's options in `values`, converted by the type the method table gives them
# (whole numbers become Python ints); names it does not take are left to Python to refuse.
dataset_options <- function(method, values) {
  entry <- Filter(function(m) identical(m$name, method), method_table())
  options <- if (length(entry) == 1) entry[[1]]$options else list()
  if (length(values) > 0 && (is.null(names(values)) || any(!nzchar(names(values))))) {
    abort_arg("...", "named options of the method", describe(values))
  }
  for (name in names(values)) {
    option <- Filter(function(o) identical(o$name, name), options)
    type <- if (length(option) == 1) option[[1]]$type else ""
    values[[name]] <- switch(type,
                             bool = check_flag(values[[name]], name),
                             int = check_count(values[[name]], name),
                             float = check_number(values[[name]], name),
                             str = check_string(values[[name]], name),
                             values[[name]])
  }
  values
}
