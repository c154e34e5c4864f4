"""Rendering at the edge: plans, diagnostics, progress and graphs as text for people."""
