# Bad input gives one classed line that shows user text, feature names and Python
# messages literally (nothing in them is run as code or read as markup).

test_that("user strings and Python messages with braces are shown literally", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit"))
  cnd <- expect_error_line(
    surv_grad(exp, target = "{stop('boom')}"), "survinngpy_error_python",
    "`target` of surv_grad() for a DeepHit model must be one of 'survival', 'cif', 'pmf', 'logits'; got \"{stop('boom')}\"")
  expect_identical(cnd$python_type, "SurvinngError")
  expect_identical(cnd$python_message, conditionMessage(cnd))

  fit <- survivalmodels_fit("deepsurv")
  x <- fit$x
  colnames(x) <- c("{age}", "b{m}i", "grp{", "}")
  exp_braces <- explain(fit$model, x)
  expect_identical(dimnames(surv_grad(exp_braces)$res[[1]])[[2]], colnames(x))
  expect_error_line(surv_grad(exp_braces, newdata = x[, -1]), "survinngpy_error_argument",
                    "`newdata` must be columns matching the model's features ({age}, b{m}i, grp{, }); got missing {age}")

  raise <- reticulate::py_run_string(paste(
    "def multi_line():",
    "    raise ValueError('bad {x} value\\nsecond line {y}')", sep = "\n"))$multi_line
  cnd <- expect_error_line(survinngpy:::call_python(raise()), "survinngpy_error_python",
                           "ValueError: bad {x} value")
  expect_identical(cnd$python_message, "bad {x} value")
  expect_identical(cnd$python_type, "ValueError")
})

test_that("an explainer or fit restored with readRDS() gives one classed error everywhere", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  restored <- rds_round_trip(explain(fit))
  expect_output(print(restored), "Python object: +gone \\(restored from a file\\)")
  message <- "`exp`: this explainer was restored from a file and its Python object is gone; re-create it with explain()"
  for (method in list(surv_grad, surv_smoothgrad, surv_intgrad, surv_gradSHAP)) {
    expect_error_line(method(restored), "survinngpy_error_restored", message)
  }
  expect_error_line(extract_model(restored), "survinngpy_error_restored",
                    "`x`: this explainer was restored from a file and its Python object is gone")
  restored_fit <- rds_round_trip(fit)
  expect_error_line(explain(restored_fit), "survinngpy_error_restored",
                    "`model`: this is a survivalmodels fit restored from a file and its Python object is gone")
  expect_error_line(extract_model(restored_fit), "survinngpy_error_restored",
                    "`model`: this is a survivalmodels fit restored from a file")
  expect_error_line(explain(restored_fit$model, fit$x), "survinngpy_error_restored",
                    "`model`: this is a pycox model restored from a file")
})

test_that("extracted models: bad precision, missing data, changed or foreign files", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deephit")
  ext <- extract_model(fit)
  expect_error_line(explain(ext, data = fit$x, dtype = "double"), "survinngpy_error_argument",
                    "`dtype` must be \"float\", the precision the model was extracted in (extract_model(..., dtype = \"double\") keeps double); got \"double\"")
  exp <- explain(ext, data = fit$x)
  expect_error_line(surv_grad(exp, dtype = "double"), "survinngpy_error_argument",
                    "`dtype` must be \"float\", the precision the model was extracted in")
  expect_error_line(explain(ext), "survinngpy_error_argument",
                    "`data` must be given: the extracted model holds no data (extract_model(..., include_data = TRUE) keeps it)")
  changed <- ext
  changed$bundle$network.pt2[200] <- xor(changed$bundle$network.pt2[200], as.raw(1))
  expect_error_line(explain(changed, data = fit$x), "survinngpy_error_python",
                    "`model` of explain() must be an extracted model holding a bundle whose files are as written (sha256 in bundle.json); got network.pt2 has changed or is truncated")
  escaping <- ext
  names(escaping$bundle)[2] <- "../{network}.pt2"
  expect_error_line(explain(escaping, data = fit$x), "survinngpy_error_python",
                    "`model` of explain() must be an extracted model whose files have plain names; got '../{network}.pt2'")
  expect_error_line(explain(structure(list(bundle = list()), class = "survinngpy_extracted"), fit$x),
                    "survinngpy_error_argument",
                    "`model` must be an extract_model() result (a list with `bundle`, `xnames` and `dtype`)")
  survinng_payload <- structure(list(state_dict = list()), class = "extracted_survivalmodels_deepsurv")
  expect_error_line(explain(survinng_payload), "survinngpy_error_model",
                    "survinng's extract_model() output needs R torch; extract the fit with survinngpy::extract_model()")
})

test_that("bad arguments of explain() and extract_model() are named", {
  skip_if_no_survinng_py()
  fit <- survivalmodels_fit("deepsurv")
  expect_error_line(explain(fit, model_type = "deepsurv"), "survinngpy_error_argument",
                    "`...` must be empty for explain() of a survivalmodels fit; got `model_type`")
  expect_error_line(extract_model(lm(mpg ~ wt, mtcars)), "survinngpy_error_model",
                    "`x` must be a survivalmodels fit (deepsurv, coxtime, deephit), an explainer or a pycox model; got an object of class lm")
  expect_error_line(extract_model(fit, num_basehazard = 0), "survinngpy_error_argument",
                    "`num_basehazard` must be a whole number >= 1; got 0")
  expect_error_line(extract_model(fit$model), "survinngpy_error_argument",
                    "`data` must be given for a pycox model (a data.frame or a matrix)")
  one_level <- sim_data()$df
  one_level$grp <- factor(rep("a", nrow(one_level)))
  expect_error_line(explain(fit, one_level), "survinngpy_error_argument",
                    "`data` must be a data.frame that model.matrix(~ ., data) can expand; got contrasts can be applied only to factors with 2 or more levels")
})

test_that("bad plot and table arguments are named", {
  skip_if_no_survinng_py()
  exp <- explain(survivalmodels_fit("deephit"))
  grad <- surv_grad(exp, instance = 1:2)
  ig <- surv_intgrad(exp, instance = 1:2, n = 3)
  expect_error_line(plot(grad, type = "pred", normalize = "abs"), "survinngpy_error_argument",
                    "`...` must be arguments of plot_pred() (none); got `normalize`")
  expect_error_line(plot(ig, type = "force", 5), "survinngpy_error_argument",
                    "`...` must be arguments of plot_force() (num_bars); got an unnamed argument")
  expect_error_line(plot_contr(grad), "survinngpy_error_argument",
                    "`x` must be an IntGrad(t) or GradSHAP(t) result for contribution plots; got a Grad(t) result")
  expect_error_line(plot_attr(ig, normalize = "max"), "survinngpy_error_argument",
                    "`normalize` must be one of \"none\", \"abs\", \"rel\"; got \"max\"")
  expect_error_line(plot_attr(ig, add_comp = "{everything}"), "survinngpy_error_argument",
                    "`add_comp` must be `NULL` or any of \"pred\", \"pred_ref\", \"pred_diff\", \"all\"; got \"{everything}\"")
  expect_error_line(plot_force(ig, num_bars = 0), "survinngpy_error_argument",
                    "`num_bars` must be a whole number >= 1; got 0")
  expect_error_line(plot_pred(as.data.frame(ig)), "survinngpy_error_argument",
                    "`x` must be a result of surv_grad(), surv_smoothgrad(), surv_intgrad() or surv_gradSHAP(); got an object of class data.frame")
  skip_if_not_installed("data.table")
  expect_error_line(data.table::as.data.table(grad, stacked = TRUE), "survinngpy_error_argument",
                    "`stacked` must be `FALSE` for a result without `pred_diff`")
})

test_that("install_survinng_py() installs only from a source it is given", {
  expect_error_line(install_survinng_py(), "survinngpy_error_argument",
                    "`source` must be the path or URL of survinng-py's sources (it is not on PyPI)")
  expect_error_line(install_survinng_py("survinng-py"), "survinngpy_error_argument",
                    "`source` must be an existing folder or file of survinng-py's sources, or an https://, git+https:// or file:// URL; got \"survinng-py\"")
})

test_that("the declared Python requirements are survinng-py's own", {
  pyproject <- test_path("..", "..", "..", "pyproject.toml")
  skip_if_not(file.exists(pyproject), "not run from the survinng-py repository")
  text <- paste(readLines(pyproject), collapse = "\n")
  for (requirement in survinngpy:::python_requirements) {
    expect_true(grepl(paste0('"', requirement, '"'), text, fixed = TRUE), info = requirement)
  }
})

test_that("py_require() is asked for the published packages, and survinng-py from a named source", {
  withr::local_options(survinngpy.python_source = NULL)
  withr::local_envvar(SURVINNGPY_PYTHON_SOURCE = "")
  expect_identical(survinngpy:::declared_python_packages(), survinngpy:::python_requirements)
  folder <- tempfile("survinng-py")
  dir.create(folder)
  withr::local_envvar(SURVINNGPY_PYTHON_SOURCE = folder)
  expect_identical(survinngpy:::declared_python_packages(),
                   c(survinngpy:::python_requirements,
                     paste0("survinng-py[pycox,onnx] @ file://", normalizePath(folder))))
  withr::local_options(survinngpy.python_source = "git+https://example.org/s.git")
  expect_identical(utils::tail(survinngpy:::declared_python_packages(), 1),
                   "survinng-py[pycox,onnx] @ git+https://example.org/s.git")
})
