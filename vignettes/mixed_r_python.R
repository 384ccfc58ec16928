# Mixed R/Python analysis with survinngpy (the R bridge of survinng-py).
#
# Run from the repository root after `bash .ci/install`:
#   RETICULATE_PYTHON=$(python3 -c 'import sys; print(sys.executable)') Rscript vignettes/mixed_r_python.R
# It writes vignettes/figures/r_*.png.
library(survinngpy)
library(ggplot2)
dir.create("vignettes/figures", showWarnings = FALSE)

## 1. A model fitted in Python, explained and plotted from R --------------------------
py <- reticulate::py_run_file("vignettes/fit_in_python.py", convert = FALSE)  # model, x_test
x_test <- from_numpy(py$x_test)        # exact, whatever reticulate's numpy support
colnames(x_test) <- c("x1", "x2", "x3")
exp <- explain(py$model, x_test)       # a reticulate handle to the pycox model
print(exp)

grad <- surv_grad(exp, instance = c(13, 287))
print(grad)
ggsave("vignettes/figures/r_grad.png", plot(grad), width = 9, height = 4, dpi = 90)

shap <- surv_gradSHAP(exp, instance = c(13, 287), n = 50, num_samples = 50, seed = 1)
ggsave("vignettes/figures/r_gradshap_contr.png", plot(shap, type = "contr"),
       width = 9, height = 4, dpi = 90)
ggsave("vignettes/figures/r_gradshap_force.png", plot(shap, type = "force"),
       width = 9, height = 4, dpi = 90)
# x3 has no effect in the simulation: its mean |GradSHAP(t)| is the smallest
df <- as.data.frame(shap)
print(sort(tapply(abs(df$value), df$feature, mean), decreasing = TRUE))

## 2. A survivalmodels-shaped fit (what deepsurv() returns), with a factor -------------
# survivalmodels itself cannot be installed here; its fit is a list holding the live pycox
# model in $model, the model matrix in $x and its column names in $xnames.
set.seed(3)
n <- 400
dat <- data.frame(age = rnorm(n), stage = factor(sample(c("I", "II", "III"), n, TRUE)))
time <- rexp(n, exp(0.7 * dat$age + 0.8 * (dat$stage == "III")))
status <- as.numeric(time < 2)
time <- pmin(time, 2)
x <- model.matrix(~ ., dat)[, -1]
pycox <- reticulate::import("pycox.models")
tt <- reticulate::import("torchtuples")
net <- tt$practical$MLPVanilla(ncol(x), list(16L, 16L), 1L, batch_norm = TRUE, dropout = 0.1,
                               output_bias = FALSE)
cox <- pycox$CoxPH(net, tt$optim$Adam(0.01))
target <- reticulate::tuple(to_numpy(time)$astype("float32"), to_numpy(status)$astype("float32"))
invisible(cox$fit(to_numpy(x)$astype("float32"), target, batch_size = 64L, epochs = 20L,
                  verbose = FALSE))
fit <- structure(list(y = cbind(time, status), x = x, xnames = colnames(x), model = cox,
                      call = quote(deepsurv(Surv(time, status) ~ .))),
                 class = c("deepsurv", "pycox", "survivalmodel"))

exp_cox <- explain(fit, dat)           # baseline hazards computed as survivalmodels does
print(exp_cox)
ig <- surv_intgrad(exp_cox, instance = 1:2, n = 50)
by_variable <- combine_dummies(ig)     # stageII + stageIII -> stage
print(dimnames(by_variable$res[[1]])[[2]])
ggsave("vignettes/figures/r_intgrad_by_variable.png", plot(by_variable, add_comp = "all"),
       width = 9, height = 4, dpi = 90)

## 3. A result made in Python, read in R without Python --------------------------------
res_py <- reticulate::import("survinng_py")$surv_grad(exp$py, instance = list(0L, 1L))
path <- tempfile(fileext = ".rds")
reticulate::import("survinng_py.r")$save_rds(res_py, path)  # needs rpy2 in that Python
from_rds <- readRDS(path)              # plain R list of class surv_result
stopifnot(identical(dim(from_rds$res[[1]]), dim(grad$res[[1]])))
cat("Done: figures in vignettes/figures/\n")
