# A survinng analysis as survinng's README writes it (fit in a separate R process, bring
# back the extracted model, explain, plot), run with survinngpy in place of survinng.
library(survinngpy)
library(callr)

# Data: numeric covariates and a factor, with survival times
set.seed(42)
n <- 200
data <- data.frame(age = rnorm(n, 60, 8), karno = runif(n, 50, 100),
                   sex = factor(sample(c("female", "male"), n, replace = TRUE)))
t_event <- rexp(n, 0.2 * exp(0.05 * (data$age - 60) + 0.6 * (data$sex == "male")))
t_cens <- rexp(n, 0.1)
data$time <- pmin(t_event, t_cens)
data$status <- as.numeric(t_event <= t_cens)
train <- data[1:150, ]
test <- data[151:200, ]

# Train a DeepSurv model in another R process and extract it
ext <- callr::r(function(train) {
  library(survinngpy)
  # What survivalmodels::deepsurv(Surv(time, status) ~ ., data = train) fits and
  # returns: a pycox CoxPH on torchtuples' MLPVanilla, inside a list of class
  # c("deepsurv", "pycox", "survivalmodel") with the model matrix and its names.
  x <- model.matrix(~ ., train[, c("age", "karno", "sex")])[, -1]
  pycox <- reticulate::import("pycox.models")
  tt <- reticulate::import("torchtuples")
  reticulate::import("torch")$manual_seed(1L)
  net <- tt$practical$MLPVanilla(ncol(x), list(32L, 32L), 1L, batch_norm = TRUE, dropout = 0.1,
                                 output_bias = FALSE)
  model <- pycox$CoxPH(net, tt$optim$Adam(0.01))
  y <- reticulate::tuple(to_numpy(train$time)$astype("float32"),
                         to_numpy(train$status)$astype("float32"))
  invisible(model$fit(to_numpy(x)$astype("float32"), y, batch_size = 64L, epochs = 5L,
                      verbose = FALSE))
  fit <- structure(list(y = cbind(time = train$time, status = train$status), x = x,
                        xnames = colnames(x), model = model,
                        call = quote(deepsurv(Surv(time, status) ~ ., data = train))),
                   class = c("deepsurv", "pycox", "survivalmodel"))

  # Extract the model
  survinngpy::extract_model(fit)
}, args = list(train = train))

# Create explainer
explainer <- explain(ext, data = test)
print(explainer)

# Compute feature attributions with survinng's defaults
idx <- c(1, 10)
grad <- surv_grad(explainer, instance = idx)                       # Grad(t)
sg <- surv_smoothgrad(explainer, instance = idx)                   # SG(t)
gxi <- surv_grad(explainer, instance = idx, times_input = TRUE)    # GxI(t)
ig <- surv_intgrad(explainer, instance = idx)                      # IntGrad(t)
shap <- surv_gradSHAP(explainer, instance = idx)                   # GradSHAP(t)
shap_first <- surv_gradSHAP(explainer)                             # instance 1
print(shap)

# Plot results
plots <- list(
  plot(shap),
  plot(ig, type = "pred"),
  plot(shap, type = "contr"),
  plot(ig, type = "force"),
  plot_attr(ig, add_comp = "all"),
  plot_attr(shap, normalize = "abs"),
  plot_pred(grad),
  plot_contr(shap, aggregate = TRUE),
  plot_force(shap, num_bars = 5),
  plot(sg),
  plot(gxi)
)

# Results as tables
results <- list(grad = grad, sg = sg, gxi = gxi, ig = ig, shap = shap)
frames <- lapply(results, as.data.frame)
tables <- lapply(results, data.table::as.data.table)
stacked <- as.data.frame(shap, stacked = TRUE)
