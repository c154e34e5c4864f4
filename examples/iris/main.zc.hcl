# The iris example: load a CSV, split it, profile it, train a classifier, evaluate it, and
# serve the model over HTTP. Two stacks; `--var stack=gpu` switches the whole pipeline.

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

variable "stack" {
  type        = string
  default     = "laptop"
  description = "Which stack runs the pipeline: laptop or gpu"
}

variable "port" {
  type        = number
  default     = 8765
  description = "Port of the model server on 127.0.0.1 (0: any free port)"
}

# Everything on this machine; training runs in its own process, CPU only.
stack "laptop" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}

  training "local" {
    env     = { OMP_NUM_THREADS = "2" }
    timeout = "10m"
  }

  serving "local" {
    port = var.port
  }
}

# The same, with the training process given one GPU (fails clearly where there is none).
stack "gpu" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}

  training "local" {
    gpus    = 1
    timeout = "30m"
  }

  serving "local" {
    port = var.port
  }
}

pipeline "iris" {
  stack = var.stack

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
    on     = "training"
  }

  step "evaluate" {
    run    = "steps.model:evaluate"
    inputs = { model = step.train.outputs.output, test = step.split.outputs.test }
  }

  deployment "iris" {
    model   = step.train.outputs.output
    serving = "local"
  }
}
