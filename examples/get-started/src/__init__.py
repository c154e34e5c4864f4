"""The steps of the get-started pipeline, one module each, as DVC's src/ folder."""
