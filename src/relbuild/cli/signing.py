"""Commands for signing a release: keygen, sign (`relbuild verify --key`
checks what they make)."""

from __future__ import annotations

from pathlib import Path

import click

from relbuild.cli.app import jobs_option, json_option, location_argument, out_option


@click.command("keygen")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(["ecdsa-p256", "ed25519"]),
    default="ecdsa-p256",
    show_default=True,
    help="Key algorithm.",
)
@out_option(
    "Writes PREFIX.key (private, mode 0600) and PREFIX.pub.",
    default="relbuild",
    show_default=True,
    metavar="PREFIX",
)
@click.option("--force", is_flag=True, help="Replace existing key files.")
@json_option("Print what was written")
def keygen_cmd(key_type: str, out: Path, force: bool, as_json: bool) -> None:
    """Write a signing key pair (PEM). The private key is encrypted with
    $RELBUILD_KEY_PASSWORD when that is set.

    Exit 0 written, 2 a key file exists (--force replaces it)."""
    import os

    from relbuild.attest.keys import PASSWORD_VARIABLE, keygen
    from relbuild.system import ui
    from relbuild.system.escaping import shown

    private, public = Path(f"{out}.key"), Path(f"{out}.pub")
    password = os.environ.get(PASSWORD_VARIABLE)
    keygen(
        key_type,  # type: ignore[arg-type]
        private,
        public,
        password=password.encode() if password else None,
        force=force,
    )
    if as_json:
        from relbuild.cli.shapes import KeysWritten

        ui.print_json(
            KeysWritten(
                key_type=key_type,
                private=str(private),
                public=str(public),
                encrypted=bool(password),
            )
        )
    how = f"encrypted with ${PASSWORD_VARIABLE}" if password else "not encrypted"
    ui.err.print(f"wrote {shown(private)} ({key_type}, {how}, mode 0600) and {shown(public)}")


@click.command("sign")
@location_argument
@click.option(
    "--key",
    required=True,
    metavar="KEY",
    help="Private key: a PEM file, or env://VAR for the PEM in a variable "
    "(password, if any: $RELBUILD_KEY_PASSWORD).",
)
@jobs_option("Files hashed at once while checking the dist", "the number of CPUs")
@json_option("Print what was written")
def sign_cmd(location: Path, key: str, jobs: int | None, as_json: bool) -> None:
    """Sign a dist: a DSSE envelope of its provenance (provenance.intoto.jsonl)
    and a signature of its manifest (manifest.json.sig). A dist signed
    already gets this key's signature added to its envelope (and
    manifest.json.KEYID.sig): a second approver. The dist is checked first;
    one that does not match its manifest is not signed.

    Exit 0 signed (or signed by this key already), 1 the dist does not match
    its manifest, 2 unusable dist or key."""
    from relbuild.attest.keys import load_signer
    from relbuild.system import ui
    from relbuild.system.escaping import shown
    from relbuild.verify.sign import sign

    signer = load_signer(key)
    folder, written = sign(location, signer, jobs=jobs)
    if as_json:
        from relbuild.cli.shapes import SignedFiles

        ui.print_json(SignedFiles(folder=str(folder), key_type=signer.key_type, written=written))
    if not written:
        ui.err.print(f"{shown(folder)} is signed by this key already; nothing written")
        return
    ui.err.print(f"signed {shown(folder)} ({signer.key_type}): wrote {', '.join(written)}")


COMMANDS = [keygen_cmd, sign_cmd]
