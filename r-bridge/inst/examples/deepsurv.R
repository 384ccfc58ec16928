# The small model of the examples: a DeepSurv (pycox CoxPH) network fitted through
# reticulate on simulated data (a few seconds on a CPU). Defines `dat` (a data.frame
# with a factor), `x` (its model matrix, as survivalmodels builds it) and `model` (the
# fitted pycox model).
set.seed(1)
n <- 200
dat <- data.frame(age = rnorm(n), bmi = rnorm(n),
                  stage = factor(sample(c("I", "II", "III"), n, TRUE)))
time <- rexp(n, exp(0.8 * dat$age + 0.7 * (dat$stage == "III")))
status <- as.numeric(time < 2)
time <- pmin(time, 2)
x <- stats::model.matrix(~ ., dat)[, -1]
pycox <- reticulate::import("pycox.models")
tt <- reticulate::import("torchtuples")
invisible(reticulate::import("torch")$manual_seed(1L))
model <- pycox$CoxPH(tt$practical$MLPVanilla(ncol(x), list(16L), 1L, output_bias = FALSE),
                     tt$optim$Adam(0.01))
float32 <- function(v) to_numpy(v)$astype("float32")
invisible(model$fit(float32(x), reticulate::tuple(float32(time), float32(status)),
                    batch_size = 64L, epochs = 5L, verbose = FALSE))
invisible(model$compute_baseline_hazards())
