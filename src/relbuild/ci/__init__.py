"""Where one machine is not enough: the config's targets as a CI matrix,
complete GitHub Actions and GitLab workflows, and `relbuild merge` of the
parts built on several runners into one release.
"""
