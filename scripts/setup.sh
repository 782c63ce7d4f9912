#!/usr/bin/env bash
# Sets up everything relbuild's tests and demo need, idempotently: what is
# already there is skipped. Used by `make setup` (and so `make test`/`demo`).
#
#  - Debian packages: Rust 1.96 with its std *source* (rustc-web, cargo-web,
#    rust-web-src) for -Zbuild-std on triples with no prebuilt std, lld-19 as
#    the bare-metal linker, and QEMU (user mode and system) to run the results.
#  - bubblewrap: every build step runs in its sandbox at canonical paths.
#  - libc6-{arm64,armhf,riscv64}-cross: the glibc QEMU loads (-L) to run
#    the dynamically linked -gnu programs of other architectures.
#  - disorderfs, so `relbuild repro` can shuffle directory order for real;
#    binutils-multiarch, whose objcopy the tests hold firmware images against.
#  - Go: any Go >= 1.21 on PATH; it fetches the pinned release itself through
#    GOTOOLCHAIN (the module proxy).
#  - A virtualenv in .venv with relbuild, its dev tools and the zig release
#    pinned in toolchains.toml (the `ziglang` package).
#  - cosign, which the supply-chain tests hold relbuild's signatures against:
#    built once from the Go module proxy (a long compile) into a folder
#    outside the clone, $RELBUILD_TOOLS (default ~/.cache/relbuild/tools),
#    so fresh clones on the same machine reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-19 qemu-user qemu-system-arm qemu-system-misc disorderfs binutils-multiarch bubblewrap libc6-arm64-cross libc6-armhf-cross libc6-riscv64-cross chromium llvm-22 libclang1-19 libclang-common-19-dev)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: relbuild needs Go >= 1.21 on PATH (it fetches the pinned release itself)" >&2
  exit 1
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup: relbuild needs Python >= 3.11 (found $("$python" --version))" >&2
    exit 1
  }
  "$python" -m venv .venv
fi

stamp=.venv/.relbuild-setup
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ toolchains.toml -nt "$stamp" ]; then
  echo "setup: installing relbuild and its dev tools into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  zig=$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("toolchains.toml", "rb"))["toolchains"]["zig"]["release"])')
  .venv/bin/python -m pip install -q --disable-pip-version-check "ziglang==$zig"
  touch "$stamp"
fi

# actionlint checks the workflow `relbuild ci github` prints (tests/integration/test_ci.py).
ACTIONLINT=v1.7.7
if [ ! -x .tools/bin/actionlint ] || ! .tools/bin/actionlint -version 2>/dev/null | grep -qx "$ACTIONLINT"; then
  echo "setup: installing actionlint $ACTIONLINT into .tools/bin" >&2
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT"
fi

COSIGN_VERSION=v2.6.5
tools=${RELBUILD_TOOLS:-$HOME/.cache/relbuild/tools}
if ! go version -m "$tools/bin/cosign" 2>/dev/null | grep -q "mod[[:space:]]*github.com/sigstore/cosign/v2[[:space:]]*$COSIGN_VERSION"; then
  echo "setup: building cosign $COSIGN_VERSION into $tools/bin (once; several minutes)" >&2
  mkdir -p "$tools/bin"
  (cd "$tools" && GOBIN="$tools/bin" GOFLAGS=-buildvcs=false go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION")
fi
