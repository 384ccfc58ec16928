test_that("doubles cross to Python and back bit for bit", {
  skip_if_no_survinng_py()
  x <- matrix(c(0, -0, 1 / 3, pi, 1e-308, .Machine$double.xmax, -2.5, NaN, Inf, 7), 5, 2)
  payload <- survinngpy:::to_python_array(x)
  r <- reticulate::import("survinng_py.r")
  back <- survinngpy:::from_python_array(r$to_raw(r$from_raw(payload$raw, payload$dim)))
  expect_identical(back, unname(x))
  expect_identical(survinngpy:::from_python_array(r$to_raw(r$from_raw(payload$raw, payload$dim)$T)),
                   t(unname(x)))
})
