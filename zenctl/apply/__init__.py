"""Apply: walk the plan's graph and run the steps it says must run (the fifth stage)."""
