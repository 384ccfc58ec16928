library(testthat)
library(survinngpy)

test_check("survinngpy")
