"""Reading the bytes of what was built: ELF headers against their target
triple, the leak scanner (machine paths inside artifacts, sections
decompressed), firmware images and footprints.

May import `release`, `config` and `system`; starts no process.
"""
