"""How relbuild touches the machine: child processes (`proc`, the one
subprocess helper) and their environments, atomic writes, signals, the build
sandbox, git, the source's revision and epoch, bounded reading of hostile
JSON, and the terminal (rich console and build progress).

The bottom layer: it imports nothing of relbuild but `errors`.
"""
