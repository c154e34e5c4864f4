"""The provider protocol and the registry that finds providers through entry points."""
