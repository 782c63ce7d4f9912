from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from relbuild.config import load_config
from relbuild.errors import ConfigError
from tests.conftest import CONFIG, CliResult

GOOD = CONFIG.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "toolchains.toml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == 2
    return str(info.value)


def test_repository_config_loads_in_order() -> None:
    loaded = load_config(CONFIG)
    triples = [t.triple for t in loaded.config.targets]
    assert triples == [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "armv7-unknown-linux-gnueabihf",
        "riscv64gc-unknown-linux-gnu",
        "thumbv7m-none-eabi",
        "thumbv7em-none-eabihf",
        "riscv32imac-unknown-none-elf",
    ]
    assert loaded.config.go["beacon"].links == ["beacon-ffi"]
    assert loaded.config.go["beacon"].uses_cgo
    assert loaded.root == (CONFIG.parent / "examples" / "beacon").resolve()


def test_unknown_key_names_file_path_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('linker = "ld.lld-19"', 'linkr = "ld.lld-19"', 1))
    msg = error_of(path)
    assert str(path) in msg
    assert "targets[4].linkr: unknown key; did you mean `linker`?" in msg


def test_unknown_key_in_pin_table(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('release = "1.26.8"', 'releas = "1.26.8"'))
    msg = error_of(path)
    assert "toolchains.go.releas: unknown key; did you mean `release`?" in msg
    assert "toolchains.go.release: required key is missing" in msg


def test_unknown_key_without_close_match_lists_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("[project]\n", "[project]\nflavour = 1\n"))
    msg = error_of(path)
    assert re.search(r"project\.flavour: unknown key \(allowed: name, version, root", msg)


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('kind = "firmware"', "kind = 3"))
    msg = error_of(path)
    assert "rust.beacon-fw.kind: Input should be 'staticlib', 'executable' or 'firmware'" in msg
    path = write(
        tmp_path, GOOD.replace('components = ["beacon-fw"]', 'components = "beacon-fw"', 1)
    )
    assert "targets[4].components: Input should be a valid list" in error_of(path)


def test_unknown_triple_suggests_closest(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"thumbv7m-none-eabi"', '"thumbv7m-none-eab"'))
    msg = error_of(path)
    assert "targets[4].triple: unknown target triple 'thumbv7m-none-eab'" in msg
    assert "did you mean 'thumbv7m-none-eabi'?" in msg


def test_bad_release_pin(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('release = "1.96.0"', 'release = "latest"'))
    assert "toolchains.rust.release: String should match pattern" in error_of(path)


def test_missing_file(tmp_path: Path) -> None:
    msg = error_of(tmp_path / "nope.toml")
    assert "nope.toml: no such file" in msg
    assert "relbuild init" in msg


def test_invalid_toml_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("[project]", "[project"))
    msg = error_of(path)
    assert "invalid TOML" in msg and "line" in msg


def test_cross_table_problems(tmp_path: Path) -> None:
    text = GOOD.replace('components = ["beacon-fw"]', 'components = ["beacon-fw", "beacon"]', 1)
    text = text.replace(
        'triple = "x86_64-unknown-linux-gnu"\ncomponents = ["beacon-ffi", "beacon"]',
        'triple = "x86_64-unknown-linux-gnu"\ncomponents = ["beacon", "beacon-fww"]',
    )
    msg = error_of(write(tmp_path, text))
    assert "targets[4].components[1]: Go component 'beacon' cannot target bare-metal" in msg
    assert (
        "targets[0].components[1]: unknown component 'beacon-fww' (did you mean 'beacon-fw'?)"
        in msg
    )
    assert "'beacon' links 'beacon-ffi' through cgo, so 'beacon-ffi' must be built" in msg


def test_links_must_name_a_staticlib(tmp_path: Path) -> None:
    msg = error_of(write(tmp_path, GOOD.replace('links = ["beacon-ffi"]', 'links = ["beacon-fw"]')))
    assert "go.beacon.links[0]: 'beacon-fw' is a firmware, not a staticlib" in msg


def test_duplicate_target(tmp_path: Path) -> None:
    text = GOOD + '\n[[targets]]\ntriple = "thumbv7m-none-eabi"\ncomponents = ["beacon-fw"]\n'
    assert "targets[7].triple: 'thumbv7m-none-eabi' is listed twice" in error_of(
        write(tmp_path, text)
    )


def test_cli_config_error_is_one_message_exit_2(
    tmp_path: Path, relbuild: Callable[..., CliResult]
) -> None:
    path = write(tmp_path, GOOD.replace("[project]\n", "[project]\nnmae = 1\n"))
    code, out, err = relbuild("--config", path, "doctor")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert "project.nmae: unknown key; did you mean `name`?" in err


def test_cli_missing_config_exit_2(tmp_path: Path, relbuild: Callable[..., CliResult]) -> None:
    code, _, err = relbuild("--config", tmp_path / "none.toml", "doctor")
    assert code == 2
    assert "no such file" in err and "Traceback" not in err


def test_schema_is_exported_with_kebab_keys(relbuild: Callable[..., CliResult]) -> None:
    import json

    code, out, _ = relbuild("schema")
    assert code == 0
    schema = json.loads(out)
    target = schema["$defs"]["TargetConfig"]
    assert "build-std" in target["properties"]
    assert target["additionalProperties"] is False


@pytest.mark.parametrize(("which", "name"), [("config", "toolchains"), ("manifest", "manifest")])
def test_committed_schemas_are_current(
    which: str, name: str, relbuild: Callable[..., CliResult]
) -> None:
    code, out, _ = relbuild("schema", which)
    assert code == 0
    committed = CONFIG.parent / "docs" / f"{name}.schema.json"
    assert committed.read_text() == out, f"run: relbuild schema {which} -o {committed}"


def absolute_root(text: str) -> str:
    return text.replace('"examples/beacon', f'"{CONFIG.parent / "examples/beacon"}')


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "budget = { flash = 16384, ram = 4096 }",
            "budget = { flash = true, ram = 4096 }",
            "rust.beacon-fw.budget.flash: Input should be a valid integer",
        ),
        (
            "budget = { flash = 16384, ram = 4096 }",
            'budget = { flash = "16384", ram = 4096 }',
            "rust.beacon-fw.budget.flash: Input should be a valid integer",
        ),
        (
            "license-files =",
            "license_files =",
            "project.license_files: unknown key; did you mean `license-files`?",
        ),
        (
            'name = "beacon"',
            'name = "beacon"\nversion = "../../../tmp/pwn"',
            "project.version: String should match pattern",
        ),
        (
            'kind = "staticlib"',
            'kind = "staticlib"\nstack-unbounded = "why"',
            "`budget` and `stack-unbounded` only apply to kind = 'firmware'",
        ),
        (
            'stack-unbounded = "core::fmt',
            'stack-unbounded = "" #',
            "rust.beacon-fw.stack-unbounded: String should have at least 1 character",
        ),
    ],
)
def test_strict_types_and_spellings(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    path = write(tmp_path, absolute_root(GOOD.replace(old, new, 1)))
    assert message in error_of(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'root = "examples/beacon"',
            'root = "/nonexistent/project"',
            "project.root: /nonexistent/project is not a folder",
        ),
        (
            'header = "crates/beacon-ffi/include/beacon.h"',
            'header = "include/missing.h"',
            "rust.beacon-ffi.header:",
        ),
        ('package = "./cmd/beacon"', 'package = "./cmd/nope"', "go.beacon.package:"),
        (
            'license-files = ["LICENSE", "README.md"]',
            'license-files = ["COPYING"]',
            "project.license-files[0]:",
        ),
    ],
)
def test_paths_named_in_the_config_must_exist(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = GOOD if old.startswith("root") else absolute_root(GOOD)
    assert old in text
    assert message in error_of(write(tmp_path, text.replace(old, new, 1)))


def test_config_path_that_is_a_folder(tmp_path: Path) -> None:
    assert "a folder, not a config file" in error_of(tmp_path)


def test_discovery_names_a_folder_called_toolchains_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relbuild: Callable[..., CliResult]
) -> None:
    (tmp_path / "toolchains.toml").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = relbuild("doctor")
    assert code == 2 and "toolchains.toml: not a regular file" in err
