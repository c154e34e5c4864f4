"""Plan: diff the fingerprinted config against state (the fourth stage)."""
