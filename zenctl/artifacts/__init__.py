"""Artifacts: step outputs, content-addressed, stored by the stack's artifact store."""
