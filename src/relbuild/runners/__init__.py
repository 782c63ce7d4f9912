"""Runners for programs this machine cannot start as they are: Windows
programs under Debian's wine64, in a Wine prefix relbuild makes and owns
(with the ``ProcessPrng`` shim Wine 8.0 lacks, built by the pinned zig).

Used by the smoke tests (verify/smoke.py), the unit tests
(pipeline/unit.py) and doctor; it sits below them and above the backends,
whose zig it uses.
"""
