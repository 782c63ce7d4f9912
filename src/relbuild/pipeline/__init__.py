"""The build pipeline: `relbuild build` as a list of named stages over one
state (stages.py), in this order: gather (toolchains, source, backend facts;
gather.py) -> plan (pure; plan.py) -> run (steps, targets side by side;
run.py, staging each output as it comes: stage.py; checking each target as
it finishes: checks.py) -> abi (the C boundary; abi.py) -> record (archives,
manifest, SUMS; record.py) -> attest (SBOM, provenance, signatures;
attest.py) -> output (the staging folder swapped into place; output.py).

May import abi, attest, backends, binaries, release, config and system;
nothing below it imports the pipeline.
"""
