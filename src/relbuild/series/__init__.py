"""The release series: a history of published releases in SQLite (db.py the
file, its schema and migrations; store.py releases in and out), how a
release is taken in (ingest.py: verified first), what `relbuild history
check` compares (baseline.py, noise.py, check.py) and the HTML report
(report.py, plots.py, changelog.py).

In the layer of ci/proofs/project: may import pipeline (the build report's
model) and verify (a release is verified before it is taken in), and what
is below them; never the CLI.
"""
