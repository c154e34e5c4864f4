# The pull-request example: a small scikit-learn pipeline whose artifacts and state live in the
# team's Cloud Storage bucket, so that every CI job and every laptop share one history with no
# database server to run. zenctl.yml beside this file is the GitHub Actions workflow that plans
# it on each pull request and applies the reviewed plan on merge (docs/ci.md).

variable "bucket" {
  type        = string
  description = "The team's Cloud Storage bucket, for artifacts and state (ZENCTL_VAR_bucket)"
}

variable "C" {
  type        = number
  default     = 1.0
  description = "Inverse regularization strength of the logistic regression"
}

stack "team" {
  orchestrator "local" {}

  artifact_store "gcs" {
    bucket = var.bucket
    prefix = "zenctl/ci-example/artifacts"
  }

  metadata_store "gcs" {
    bucket = var.bucket
    prefix = "zenctl/ci-example/state"
  }
}

pipeline "wine" {
  stack = stack.team

  step "load" {
    run = "steps.wine:load"
  }

  step "split" {
    run     = "steps.wine:split"
    inputs  = { frame = step.load.outputs.output }
    params  = { test_size = 0.25, seed = 7 }
    outputs = ["train", "test"]
  }

  step "train" {
    run    = "steps.wine:train"
    inputs = { train = step.split.outputs.train }
    params = { C = var.C }
  }

  step "evaluate" {
    run    = "steps.wine:evaluate"
    inputs = { model = step.train.outputs.output, test = step.split.outputs.test }
  }
}
