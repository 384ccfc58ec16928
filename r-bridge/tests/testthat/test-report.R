# The page's data block: base64 little-endian floats, read back in R.
report_payload <- function(file) {
  text <- paste(readLines(file, warn = FALSE), collapse = "\n")
  block <- regmatches(text, regexpr('<script type="application/json" id="survinng-data">.*?</script>', text, perl = TRUE))
  block <- sub("^<script[^>]*>", "", sub("</script>$", "", block))
  jsonlite::fromJSON(block, simplifyVector = FALSE)
}

unpack <- function(packed) {
  raw <- jsonlite::base64_dec(packed$b64)
  size <- if (packed$dtype == "f4") 4 else 8
  values <- readBin(raw, "double", n = length(raw) / size, size = size, endian = "little")
  shape <- unlist(packed$shape)
  if (length(shape) == 1) return(values)
  # row-major in the page, column-major in R
  aperm(array(values, rev(shape)), rev(seq_along(shape)))
}

test_that("report() writes the result's numbers and refuses to overwrite", {
  skip_if_no_survinng_py()
  skip_if_not_installed("jsonlite")
  exp <- explain(survivalmodels_fit("deephit_cr"))
  res <- surv_intgrad(exp, instance = c(4, 9, 2), target = "cif", n = 3)
  file <- tempfile(fileext = ".html")
  expect_identical(report(res, file, title = "Three patients"), file)
  page <- report_payload(file)
  expect_identical(page$title, "Three patients")
  shown <- page$results[[1]]
  expect_identical(unlist(shown$instances), c(4L, 9L, 2L))
  expect_identical(unlist(shown$events), c("Event 1", "Event 2"))
  expect_identical(unlist(shown$players), dimnames(res$res[[1]])[[2]])
  values <- unpack(shown$values)  # instance, feature, event, time
  expect_identical(values, unname(res$res[[1]]))
  expect_identical(unpack(shown$pred), unname(res$pred))
  expect_identical(unpack(shown$pred_diff), unname(res$pred_diff))
  expect_identical(unpack(shown$time), res$time)
  before <- readLines(file)
  expect_error_line(report(res, file), "survinngpy_error_python",
                    "`file` of report() must be a file that does not exist yet (pass overwrite=True to replace it)")
  expect_identical(readLines(file), before)
  expect_identical(report(res, file, overwrite = TRUE), file)
})

test_that("report() checks its arguments in R and in Python", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deepsurv"))
  res <- surv_grad(exp, instance = 1:3)
  file <- tempfile(fileext = ".html")
  expect_error_line(report(list(), file), "survinngpy_error_argument",
                    "`res` must be a survinngpy_result; got an object of class list")
  expect_error_line(report(res, 3), "survinngpy_error_argument", "`file` must be a single string")
  expect_error_line(report(res, file, max_instances = 2), "survinngpy_error_python",
                    "`res` of report() must be a result of at most max_instances=2 instances")
  expect_false(file.exists(file))
  report(res, file)
  expect_identical(unlist(report_payload(file)$results[[1]]$events), "event")
})
