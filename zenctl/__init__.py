"""zenctl: Terraform's plan/apply for ML pipelines."""

__version__ = "0.1.0"
