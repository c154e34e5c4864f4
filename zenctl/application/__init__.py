"""The application layer: what a command does, over the stages, with no terminal in sight.

The command line (zenctl/cli/) parses arguments, asks and prints; it calls this layer, which
loads the project (project.py: config, variables, stacks and state, loaded the same way for
every command) and runs the stages (config → graph → fingerprint → plan → apply → state) for
it: planning, saved plans (saved_plans.py), drift, an apply from start to end (apply.py).
Nothing here reads argv or writes to a console, so a second command in one process starts from
nothing of the first. The stages never import this layer: what one needs of the project, it
names (zenctl/apply/resources.py's `Project` protocol).
"""
