"""Reading toolchains.toml into a :class:`~relbuild.config.models.Config`.

Every mistake becomes a :class:`~relbuild.errors.ConfigError` that names the
file, the key path and what was expected, and suggests the closest key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from relbuild.config.models import Config
from relbuild.errors import ConfigError
from relbuild.system.bounded import format_loc as format_loc  # noqa: PLC0414 - re-exported
from relbuild.system.fsutil import find_up, read_text

DEFAULT_NAME = "toolchains.toml"
# A config is a few KiB; a larger file is a mistake (or hostile), and its
# errors would be unbounded.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from."""

    path: Path
    config: Config

    @property
    def base(self) -> Path:
        return self.path.parent

    @property
    def root(self) -> Path:
        """The project folder, absolute."""
        return (self.base / self.config.project.root).resolve()


def find_config(start: Path | None = None) -> Path:
    """toolchains.toml in ``start`` or the nearest parent, like cargo does."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_NAME
        if candidate.is_file():
            return candidate
        if candidate.exists():
            raise ConfigError(f"{candidate}: not a regular file, so it cannot be the config")
    raise ConfigError(
        f"no {DEFAULT_NAME} in {here} or any parent folder",
        hint="Run `relbuild init` to write one, or pass --config PATH.",
    )


def load_config(path: Path) -> LoadedConfig:
    if path.is_dir():
        raise ConfigError(
            f"{path}: a folder, not a config file",
            hint=f"Pass the file itself, e.g. {path / DEFAULT_NAME}.",
        )
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: not a regular file")
    missing = ConfigError(
        f"{path}: no such file", hint="Run `relbuild init` to write one, or pass --config PATH."
    )
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{path}: more than {MAX_CONFIG_BYTES // 1024} KiB; that is not a toolchains.toml"
            )
    except OSError:
        pass  # read_text says what is wrong
    return parse_config(read_text(path, ConfigError, missing), path)


def parse_config(text: str, path: Path) -> LoadedConfig:
    """The config in ``text``, read from ``path`` (for messages, and the
    folder relative paths start from): a ConfigError for any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # a date or number tomllib cannot hold
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc)) from None
    except (RecursionError, OverflowError, MemoryError) as exc:
        raise ConfigError(f"{path}: cannot be read as a config ({type(exc).__name__})") from None
    problems = config.cross_check() or _path_problems(path.resolve().parent, config)
    if problems:
        lines = [f"{path}: {len(problems)} problem(s):"]
        lines += [f"  {key}: {message}" for key, message in problems]
        raise ConfigError("\n".join(lines))
    return LoadedConfig(path=path.resolve(), config=config)


def _path_problems(base: Path, config: Config) -> list[tuple[str, str]]:
    """Folders and files the config names must be there (key path, message)."""
    problems: list[tuple[str, str]] = []
    root = base / config.project.root
    if not root.is_dir():
        return [("project.root", f"{root} is not a folder")]
    for name, rust in config.rust.items():
        where = root / rust.path
        if not (where / "Cargo.toml").is_file():
            problems.append((f"rust.{name}.path", f"no Cargo.toml in {where}"))
        elif rust.header and not (where / rust.header).is_file():
            problems.append((f"rust.{name}.header", f"{where / rust.header} does not exist"))
        key = rust.mcuboot.key if rust.mcuboot else None
        if key is not None and not (base / key).is_file():
            problems.append((f"rust.{name}.mcuboot.key", f"{base / key} is not a file"))
    for name, go in config.go.items():
        where = root / go.path
        if not where.is_dir():
            problems.append((f"go.{name}.path", f"{where} is not a folder"))
        elif go.by_file:
            # Go builds files named on its command line with or without a go.mod.
            if not (where / go.package).is_file():
                problems.append((f"go.{name}.package", f"{where / go.package} is not a file"))
        elif find_up(where, root, "go.mod") is None:
            problems.append(
                (
                    f"go.{name}.path",
                    f"no go.mod in {where} or a folder above it (a folder of files with no "
                    "module is built by file: package = './main.go')",
                )
            )
        elif go.package.startswith(".") and not (where / go.package).is_dir():
            problems.append((f"go.{name}.package", f"{where / go.package} is not a folder"))
    for i, name in enumerate(config.project.license_files):
        if not (root / name).is_file():
            problems.append((f"project.license-files[{i}]", f"{root / name} does not exist"))
    return problems


def _describe(path: Path, exc: ValidationError) -> str:
    count = exc.error_count()
    errors = exc.errors(include_url=False)[:MAX_PROBLEMS]
    shown = f", the first {len(errors)} shown" if count > len(errors) else ""
    lines = [f"{path}: {count} problem(s){shown}:"]
    for err in errors:
        loc = tuple(err["loc"])
        key = format_loc(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            known = _known_keys(Config, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            allowed = f" (allowed: {', '.join(known)})" if known and not close else ""
            lines.append(f"  {key}: unknown key{hint}{allowed}")
        elif kind == "missing":
            lines.append(f"  {key}: required key is missing")
        else:
            # pydantic names its classes ("... or instance of RustComponent"):
            # the file's reader knows tables, not classes.
            message = re.sub(r" or instance of \w+", "", str(err["msg"]))
            message = message.replace("valid dictionary", "table").removeprefix("Value error, ")
            got = err.get("input")
            value = repr(got)
            value = value if len(value) <= 80 else value[:77] + "..."
            got_text = (
                "" if kind == "value_error" or isinstance(got, dict | list) else f" (got {value})"
            )
            lines.append(f"  {key}: {message}{got_text}")
    return "\n".join(lines)


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed at ``loc``, found by walking the models' annotations."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap_model(current)
    if current is None:
        return []
    return [field.alias or name for name, field in current.model_fields.items()]


def _step(tp: Any, part: int | str) -> Any:
    model = _unwrap_model(tp)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    for arg in _union_args(tp):
        origin = typing.get_origin(arg)
        args = typing.get_args(arg)
        if origin is dict and isinstance(part, str):
            return args[1]
        if origin is list and isinstance(part, int):
            return args[0]
    return None


def _union_args(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return _union_args(typing.get_args(tp)[0])
    return (tp,)


def _unwrap_model(tp: Any) -> type[BaseModel] | None:
    for arg in _union_args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
