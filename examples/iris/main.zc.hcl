# The iris example: load a CSV, split it, profile it, train a classifier, evaluate it.
# No stack block: zenctl uses its embedded default (SQLite, local artifacts, local processes).

variable "test_size" {
  type        = number
  default     = 0.2
  description = "Fraction of rows held out for evaluation"
}

variable "C" {
  type        = number
  default     = 1.0
  description = "Inverse regularization strength of the logistic regression"
}

variable "seed" {
  type        = number
  default     = 42
  description = "Random seed of the train/test split"
}

pipeline "iris" {
  source "raw" {
    path = "data/iris.csv"
  }

  step "load" {
    run    = "steps.data:load"
    inputs = { raw = source.raw }
  }

  step "split" {
    run     = "steps.data:split"
    inputs  = { frame = step.load.outputs.output }
    params  = { test_size = var.test_size, seed = var.seed }
    outputs = ["train", "test"]
  }

  step "profile" {
    run    = "steps.data:profile"
    inputs = { frame = step.load.outputs.output }
  }

  step "train" {
    run    = "steps.model:train"
    inputs = { train = step.split.outputs.train }
    params = { C = var.C, max_iter = 200 }
  }

  step "evaluate" {
    run    = "steps.model:evaluate"
    inputs = { model = step.train.outputs.output, test = step.split.outputs.test }
  }
}
