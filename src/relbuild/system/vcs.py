"""Every git call relbuild makes: the state of the tree being built, the files
it holds, and the export of a recorded commit for a rebuild.

Each function takes the environment git runs with (None: relbuild's own)
and answers None where there is no git or no checkout, so callers decide
whether that is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from relbuild.system import proc


@dataclass(frozen=True)
class TreeState:
    revision: str
    dirty: bool
    commit_time: int
    tag: str | None = None  # an exact `v*` tag on HEAD


def git(env: Mapping[str, str] | None = None) -> str | None:
    return proc.which("git", env)


def toplevel(folder: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The top of the checkout ``folder`` is in, or None."""
    exe = git(env)
    if exe is None:
        return None
    res = proc.run([exe, "rev-parse", "--show-toplevel"], env=env, cwd=folder, check=False)
    return Path(res.stdout.strip()) if res.returncode == 0 else None


def tree_state(
    root: Path,
    env: Mapping[str, str] | None = None,
    also: Sequence[Path] = (),
    ignore: Sequence[Path] = (),
) -> TreeState | None:
    """HEAD, whether ``root`` (and whatever of ``also`` is in the checkout)
    has uncommitted or untracked changes, HEAD's commit time and its exact
    ``v*`` tag. What is under ``ignore`` (relbuild's own cache and output)
    never makes the tree dirty."""
    exe = git(env)
    if exe is None:
        return None
    res = proc.run([exe, "rev-parse", "HEAD"], env=env, cwd=root, check=False)
    if res.returncode != 0:
        return None
    top = toplevel(root, env)
    assert top is not None
    # The project's folder and whatever else the build reads (the config,
    # which may live outside it); untracked files too, since cargo and go
    # would build them.
    inside = [p for p in also if p.resolve().is_relative_to(top.resolve())]
    excluded = [
        f":(exclude){p.resolve()}" for p in ignore if p.resolve().is_relative_to(top.resolve())
    ]
    status = proc.run(
        [
            exe,
            "status",
            "--porcelain",
            "--untracked-files=normal",
            "--",
            ".",
            *map(str, inside),
            *excluded,
        ],
        env=env,
        cwd=root,
    )
    stamp = proc.run([exe, "log", "-1", "--format=%ct"], env=env, cwd=root)
    tag = proc.run(
        [exe, "describe", "--exact-match", "--tags", "--match", "v*", "HEAD"],
        env=env,
        cwd=root,
        check=False,
    )
    return TreeState(
        revision=res.stdout.strip(),
        dirty=bool(status.stdout.strip()),
        commit_time=int(stamp.stdout.strip()),
        tag=tag.stdout.strip() or None if tag.returncode == 0 else None,
    )


def listed_files(root: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """The checkout's tracked files and its untracked ones that are not
    ignored, relative to ``root`` (its top), sorted."""
    exe = git(env)
    assert exe is not None
    res = proc.run([exe, "ls-files", "-z", "-co", "--exclude-standard"], env=env, cwd=root)
    return sorted(f for f in res.stdout.split("\0") if f and (root / f).is_file())


def has_commit(repo: Path, revision: str, env: Mapping[str, str] | None = None) -> bool:
    exe = git(env)
    assert exe is not None
    res = proc.run(
        [exe, "cat-file", "-e", f"{revision}^{{commit}}"], env=env, cwd=repo, check=False
    )
    return res.returncode == 0


def export(repo: Path, revision: str, dest: Path, env: Mapping[str, str] | None = None) -> None:
    """``revision`` of ``repo`` checked out at ``dest``, sharing its objects."""
    exe = git(env)
    assert exe is not None
    proc.run([exe, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(dest)], env=env)
    proc.run(
        [exe, "-c", "advice.detachedHead=false", "checkout", "--quiet", revision],
        cwd=dest,
        env=env,
    )
