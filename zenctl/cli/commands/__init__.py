"""The commands, one module per command or family (`state ...`, `workspace ...`): each parses
its options, calls the application layer (zenctl/application/) and prints what it returns.

Every command takes the invocation (zenctl/cli/context.py) from its click context; heavy
modules are imported inside the commands, so `zenctl --help` stays fast.
"""
