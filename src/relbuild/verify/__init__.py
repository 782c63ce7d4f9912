"""Reading a release back: `relbuild verify` (the folder walk, the checks
of what it read, the supply-chain files), the smoke tests of `relbuild
test`, `relbuild size`, the inventory of `relbuild manifest`, and signing a
verified dist.

May import the layers below the pipeline (attest, binaries, release,
config, system); never builds.
"""
