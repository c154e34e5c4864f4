# The same pipeline on Google Cloud: Beam on Dataflow, artifacts in Cloud Storage.
# Switch the pipeline to it with `stack = stack.gcp` in main.zc.hcl. See docs/gcp.md for the
# permissions it needs; the Beam worker also needs `pip install apache-beam[gcp]`.

variable "gcp_project" {
  type    = string
  default = "my-project"
}

variable "gcp_region" {
  type    = string
  default = "europe-west1"
}

variable "bucket" {
  type    = string
  default = "my-zenctl-bucket"
}

stack "gcp" {
  orchestrator "local" {}
  metadata_store "sqlite" { path = ".zenctl/gcp-metadata.db" }

  artifact_store "gcs" {
    bucket = var.bucket
    prefix = "zenctl/houses"
  }

  processing "beam" {
    runner = "DataflowRunner"
    options = {
      project         = var.gcp_project
      region          = var.gcp_region
      temp_location   = "gs://${var.bucket}/dataflow/tmp"
      max_num_workers = 4
    }
  }
}
