"""A user's project before a build: `relbuild init` (a starting
toolchains.toml read from the tree) and `relbuild doctor` (are the pinned
toolchains and every target's needs on this machine).
"""
