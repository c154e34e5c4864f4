# A port of DVC's example-get-started: the params live in params.yaml, the steps in src/, a
# helper module (utils.py) beside them, and evaluate's scores are recorded as metrics, so
# `zenctl metrics show` and `zenctl metrics diff HEAD~1 HEAD` read them without re-running.

locals {
  p = yamldecode(file("params.yaml")) # read again on every plan
}

stack "local" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}
}

pipeline "get_started" {
  stack = stack.local

  step "prepare" {
    run     = "src.prepare:prepare"
    params  = local.p.prepare
    outputs = ["train", "test"]
  }

  step "featurize" {
    run     = "src.featurize:featurize"
    inputs  = { train = step.prepare.outputs.train, test = step.prepare.outputs.test }
    params  = local.p.featurize
    outputs = ["train", "test"]
  }

  step "train" {
    run    = "src.train:train"
    inputs = { features = step.featurize.outputs.train }
    params = local.p.train
  }

  step "evaluate" {
    run     = "src.evaluate:evaluate"
    inputs  = { model = step.train.outputs.output, features = step.featurize.outputs.test }
    outputs = ["scores", "plots"]
    metrics = ["scores"]
  }
}
