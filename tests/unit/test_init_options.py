"""Issue 22, init asks less of the user: `--target`/`--targets`, a no_std
crate with a linker script written as firmware with bare-metal targets,
licence files found, every file written listed on stdout, and `-o FILE`
giving a config whose project.root is right from where it lives. The pins
and cargo metadata are faked (as in test_init_shapes); each config written
is loaded back by the real loader."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from relbuild.cli import cli
from relbuild.config.loader import load_config
from relbuild.errors import UsageError
from relbuild.project import firmware
from relbuild.project import init as init_mod
from relbuild.project.init import init
from relbuild.project.inittargets import PRESETS, asked
from tests.unit.test_init_shapes import fake_packages, write

HOST = "x86_64-unknown-linux-gnu"
NO_STD_MAIN = "#![no_std]\n#![no_main]\n\nuse core::panic::PanicInfo;\n"


@pytest.fixture(autouse=True)
def _fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = init_mod.RustTools("/x/rustc", "/x/cargo", {})
    pin = {"release": "1.95.0", "commit": "59807616e1fa"}
    monkeypatch.setattr(init_mod, "_pin_rust", lambda env: (pin, HOST, tools))
    monkeypatch.setattr(init_mod, "_cargo_packages", fake_packages)
    monkeypatch.setattr(init_mod, "_pin_go", lambda env: {"release": "1.22.0"})
    monkeypatch.setattr(init_mod, "_pin_zig", lambda env: {"release": "0.15.2"})


def crate(name: str, main: str, deps: str = "", **more: str) -> dict[str, str]:
    return {
        "Cargo.toml": f'[package]\nname = "{name}"\nversion = "0.2.0"\n{deps}',
        "Cargo.lock": "version = 3\n",
        "src/main.rs": main,
        **more,
    }


def go_program() -> dict[str, str]:
    return {
        "go.mod": "module example.com/tool\n\ngo 1.22\n",
        "main.go": "package main\n\nfunc main() {}\n",
    }


def configured(project: Path, targets: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    done = init(project, project / "toolchains.toml", {}, force=False, targets=targets)
    load_config(project / "toolchains.toml")
    return tomllib.loads(done.text), done.notes


def target_map(data: dict[str, Any]) -> dict[str, list[str]]:
    return {t["triple"]: t["components"] for t in data["targets"]}


# --- --target and --targets ---------------------------------------------------------


def test_targets_and_presets_are_joined_in_order_each_once() -> None:
    chosen = asked(["aarch64-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu"], ["linux"])
    assert chosen == [*PRESETS["linux"], "riscv64gc-unknown-linux-gnu"]
    assert asked([], ["linux,linux-musl"]) == [*PRESETS["linux"], *PRESETS["linux-musl"]]


def test_an_unknown_target_or_preset_is_a_usage_error_with_the_close_one() -> None:
    with pytest.raises(UsageError, match="did you mean 'aarch64-unknown-linux-gnu'"):
        asked(["aarch64-unknown-linux-gnuu"], [])
    with pytest.raises(UsageError, match="no such preset"):
        asked([], ["linuxx"])


def test_init_writes_every_target_asked_for_with_the_components_it_builds(tmp_path: Path) -> None:
    project = write(tmp_path / "tool", go_program())
    data, _ = configured(project, tuple(asked(["x86_64-unknown-linux-musl"], ["linux"])))
    assert target_map(data) == {
        HOST: ["tool"],
        "aarch64-unknown-linux-gnu": ["tool"],
        "x86_64-unknown-linux-musl": ["tool"],
    }


def test_a_bare_metal_target_for_a_project_with_no_firmware_is_refused(tmp_path: Path) -> None:
    project = write(tmp_path / "tool", go_program())
    with pytest.raises(UsageError, match="no firmware"):
        configured(project, ("thumbv7m-none-eabi",))
    assert not (project / "toolchains.toml").exists()


# --- firmware -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "why"),
    [
        ({"memory.x": "MEMORY {}\n"}, "memory.x"),
        ({"link.x": "SECTIONS {}\n"}, "link.x"),
        (
            {"build.rs": 'fn main() {\n    println!("cargo:rustc-link-arg=-T{script}");\n}\n'},
            "build.rs passes -T",
        ),
        (
            {
                ".cargo/config.toml": "[target.thumbv7m-none-eabi]\n"
                'rustflags = ["-C", "link-arg=-Tlink.x"]\n'
            },
            ".cargo/config.toml passes -T",
        ),
    ],
)
def test_no_std_with_a_linker_script_is_firmware(
    tmp_path: Path, files: dict[str, str], why: str
) -> None:
    project = write(tmp_path / "fw", crate("fw", NO_STD_MAIN, **files))
    data, notes = configured(project)
    assert data["rust"]["fw"]["kind"] == "firmware"
    assert target_map(data) == {firmware.ARM: ["fw"]}
    assert "toolchains" in data and "zig" not in data["toolchains"]  # no hosted link
    assert any(f"({why})" in n and "a guess" in n for n in notes), notes


def test_a_cfg_attr_no_std_counts_and_a_std_program_with_a_script_does_not(
    tmp_path: Path,
) -> None:
    beacon_style = '#![cfg_attr(target_os = "none", no_std, no_main)]\nfn main() {}\n'
    project = write(tmp_path / "a", crate("a", beacon_style, **{"memory.x": ""}))
    assert configured(project)[0]["rust"]["a"]["kind"] == "firmware"
    project = write(tmp_path / "b", crate("b", "fn main() {}\n", **{"memory.x": ""}))
    assert configured(project)[0]["rust"]["b"]["kind"] == "executable"
    project = write(tmp_path / "c", crate("c", NO_STD_MAIN))  # no linker script
    assert configured(project)[0]["rust"]["c"]["kind"] == "executable"


@pytest.mark.parametrize(
    ("extra", "triples"),
    [
        ({"Cargo.toml+": '\n[dependencies]\ncortex-m-rt = "0.7"\n'}, [firmware.ARM]),
        ({"Cargo.toml+": '\n[dependencies]\nriscv-rt = "0.12"\n'}, [firmware.RISCV]),
        (
            {
                ".cargo/config.toml": "[build]\n"
                'target = ["thumbv6m-none-eabi", "x86_64-unknown-linux-gnu"]\n'
            },
            ["thumbv6m-none-eabi"],
        ),
    ],
)
def test_firmware_targets_follow_what_the_crate_names(
    tmp_path: Path, extra: dict[str, str], triples: list[str]
) -> None:
    files = crate("fw", NO_STD_MAIN, **{"memory.x": ""})
    files["Cargo.toml"] += extra.pop("Cargo.toml+", "")
    project = write(tmp_path / "fw", {**files, **extra})
    data, notes = configured(project)
    assert target_map(data) == {t: ["fw"] for t in triples}
    assert not any("a guess" in n for n in notes)


def test_firmware_beside_programs_keeps_the_host_and_asked_targets_get_their_kind(
    tmp_path: Path,
) -> None:
    fw = crate("fw", NO_STD_MAIN, **{"memory.x": ""})
    app = crate("app", "fn main() {}\n")
    files = {**{f"fw/{k}": v for k, v in fw.items()}, **{f"app/{k}": v for k, v in app.items()}}
    project = write(tmp_path / "mixed", files)
    data, _ = configured(project)
    assert target_map(data) == {HOST: ["app"], firmware.ARM: ["fw"]}
    (project / "toolchains.toml").unlink()
    data, _ = configured(project, tuple(asked([], ["linux,embedded-riscv"])))
    assert target_map(data) == {
        **{t: ["app"] for t in PRESETS["linux"]},
        **{t: ["fw"] for t in PRESETS["embedded-riscv"]},
    }
    (project / "toolchains.toml").unlink()
    _, notes = configured(project, tuple(PRESETS["linux"]))
    assert any(n.startswith("firmware fw is built for no target") for n in notes), notes


def test_no_std_found_in_linear_time() -> None:
    assert not firmware.no_std("#![cfg_attr(" * 200_000)
    assert firmware.no_std("//! doc\n#![ no_std ]\n")


# --- licence files ------------------------------------------------------------------


def test_licence_files_are_found_and_shipped(tmp_path: Path) -> None:
    project = write(
        tmp_path / "tool",
        {
            **go_program(),
            "LICENSE-MIT": "x",
            "LICENSE-APACHE": "x",
            "COPYING": "x",
            "licence.md": "x",
        },
    )
    (project / "LICENSES").mkdir()  # a folder is not a file
    os.symlink("/etc/passwd", project / "LICENSE.link")  # nor a link out
    data, _ = configured(project)
    assert data["project"]["license-files"] == [
        "COPYING",
        "LICENSE-APACHE",
        "LICENSE-MIT",
        "licence.md",
    ]


# --- what init writes, and where ----------------------------------------------------


def test_every_file_written_or_changed_is_listed_on_stdout(tmp_path: Path) -> None:
    project = write(tmp_path / "tool", {**go_program(), ".gitignore": "bin/\n"})
    runner = CliRunner()
    res = runner.invoke(cli, ["init", str(project)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [
        f"wrote {project / 'toolchains.toml'}",
        f"changed {project / '.gitignore'} (added .relbuild/, dist/)",
    ]
    assert "relbuild doctor" in res.stderr
    res = runner.invoke(cli, ["init", "--force", str(project)], catch_exceptions=False)
    assert res.stdout.splitlines() == [f"replaced {project / 'toolchains.toml'}"]


def test_output_outside_the_project_has_its_root_and_no_gitignore_beside_it(
    tmp_path: Path,
) -> None:
    project = write(tmp_path / "src" / "tool", go_program())
    out = tmp_path / "ci" / "relbuild.toml"
    out.parent.mkdir()
    done = init(project, out, {}, force=False)
    assert tomllib.loads(done.text)["project"]["root"] == "../src/tool"
    assert load_config(out).root == project.resolve()
    assert not (out.parent / ".gitignore").exists() and not (project / ".gitignore").exists()
    assert done.written == [f"wrote {out}"]


def test_output_in_a_subfolder_points_up_and_ignores_at_the_project_root(tmp_path: Path) -> None:
    project = write(tmp_path / "tool", go_program())
    (project / "release").mkdir()
    out = project / "release" / "toolchains.toml"
    done = init(project, out, {}, force=False)
    assert load_config(out).root == project.resolve()
    assert tomllib.loads(done.text)["project"]["root"] == ".."
    assert (project / ".gitignore").read_text() == ".relbuild/\ndist/\n"
    assert not (project / "release" / ".gitignore").exists()


def test_files_below_the_working_folder_are_listed_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write(tmp_path / "tool", go_program())
    monkeypatch.chdir(project)
    res = CliRunner().invoke(cli, ["init"], catch_exceptions=False)
    assert res.stdout.splitlines() == [
        "wrote toolchains.toml",
        "wrote .gitignore (added .relbuild/, dist/)",
    ]
