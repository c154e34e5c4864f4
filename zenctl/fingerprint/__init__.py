"""Fingerprints: what makes a step cached (the third stage). See specs/caching.md."""
