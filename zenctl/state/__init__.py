"""State: the metadata store of runs, step executions, artifacts and lineage."""
