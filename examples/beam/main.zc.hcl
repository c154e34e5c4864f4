# Beam preprocessing feeding scikit-learn. The Beam step runs on the stack's processing
# component: in-process here (FnApiRunner), on Dataflow with the "gcp" stack (gcp.zc.hcl).

variable "test_percent" {
  type        = number
  default     = 25
  description = "Percentage of rows held out for evaluation"
}

variable "C" {
  type        = number
  default     = 1.0
  description = "Inverse regularization strength of the logistic regression"
}

stack "local" {
  orchestrator "local" {}
  artifact_store "local" { path = ".zenctl/artifacts" }
  metadata_store "sqlite" { path = ".zenctl/metadata.db" }
  processing "beam" { runner = "FnApiRunner" }
}

pipeline "houses" {
  stack = stack.local # stack.gcp to run on Dataflow and store artifacts in GCS

  source "raw" {
    path = "data/houses.csv"
  }

  step "preprocess" {
    run     = "steps.preprocess:preprocess"
    inputs  = { lines = source.raw }
    params  = { test_percent = var.test_percent }
    outputs = ["train", "test"]
    on      = "processing"
  }

  step "train" {
    run    = "steps.model:train"
    inputs = { train = step.preprocess.outputs.train }
    params = { C = var.C }
  }

  step "evaluate" {
    run    = "steps.model:evaluate"
    inputs = { model = step.train.outputs.output, test = step.preprocess.outputs.test }
  }
}
