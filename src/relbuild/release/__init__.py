"""The release folder (a dist): the manifest model and how it is written
and read back, the SUMS files, SHA-256/512 digests, deterministic archives,
safe access to a folder that may be hostile, and pairing renamed artifacts.

May import `config` and `system`; knows no tool and runs no build.
"""
