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

test_that("to_numpy and from_numpy round trip arrays exactly", {
  skip_if_no_survinng_py()
  a <- array(c(1 / 3, -0, 1e300, NaN, -Inf, 2:8 / 9), dim = c(2, 3, 2))
  np <- to_numpy(a)
  expect_true(inherits(np, "python.builtin.object"))
  expect_identical(reticulate::py_str(np$shape), "(2, 3, 2)")
  expect_identical(from_numpy(np), a)
  expect_identical(from_numpy(to_numpy(c(1.5, 2))), c(1.5, 2))
  expect_error(to_numpy("a"), class = "survinngpy_error_argument")
})
