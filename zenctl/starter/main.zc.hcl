# A starter pipeline: `zenctl plan` shows what will run, `zenctl apply` runs it.
variable "count" {
  type        = number
  default     = 100
  description = "How many numbers to generate"
}

pipeline "starter" {
  step "generate" {
    run    = "starter_steps:generate"
    params = { count = var.count, seed = 7 }
  }

  step "summarize" {
    run    = "starter_steps:summarize"
    inputs = { numbers = step.generate.outputs.output }
  }
}
