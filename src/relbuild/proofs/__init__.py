"""Proofs about builds: `relbuild repro` (two builds under varied
conditions), `verify --rebuild`, comparing two dist folders bit for bit,
explaining why two artifacts differ, and `relbuild diff` of two releases.

Sits above the pipeline and verify, which it drives.
"""
