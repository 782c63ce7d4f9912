#!/usr/bin/env bash
# Sets up what `make demo` or `make test` needs, idempotently: what is
# already there is skipped.
#
#   scripts/setup.sh demo   what the demo's main job needs: build, verify,
#                           smoke-test and size the bundled example
#   scripts/setup.sh test   that, and the tools only the tests use (default)
#
# SETUP_PLAN=1 prints what the mode sets up, one item a line, and changes
# nothing (tests/integration/test_install.py reads it).
#
# demo:
#  - Debian packages: Rust 1.96 with its std *source* (rustc-web, cargo-web,
#    rust-web-src) for -Zbuild-std on triples with no prebuilt std, lld-19 as
#    the bare-metal linker, and QEMU (user mode and system) to run the results.
#  - bubblewrap: every build step runs in its sandbox at canonical paths.
#  - libc6-{arm64,armhf,riscv64}-cross: the glibc QEMU loads (-L) to run
#    the dynamically linked -gnu programs of other architectures.
#  - wine64: runs the x86_64 Windows programs' smoke tests (in a prefix
#    relbuild makes, with the ProcessPrng shim built by the pinned zig).
#  - Go: any Go >= 1.21 on PATH; it fetches the pinned release itself through
#    GOTOOLCHAIN (the module proxy).
#  - A virtualenv in .venv with relbuild, MCUboot's imgtool (the example's
#    firmware images) and the zig release pinned in toolchains.toml (the
#    `ziglang` package).
# test, besides:
#  - disorderfs, so `relbuild repro` can shuffle directory order for real;
#    binutils-multiarch, whose objcopy the tests hold firmware images against;
#    chromium (the HTML report), llvm-22 and libclang (the bindgen shape).
#  - relbuild's dev tools in .venv (pytest, mypy, ruff, ...).
#  - actionlint, which checks the workflow `relbuild ci github` prints.
#  - cosign, which the supply-chain tests hold relbuild's signatures against:
#    built once from the Go module proxy (a long compile) into a folder
#    outside the clone, $RELBUILD_TOOLS (default ~/.cache/relbuild/tools),
#    so fresh clones on the same machine reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-test}
case "$mode" in
  demo) extras=firmware ;;
  test) extras=dev ;;
  *) echo "usage: scripts/setup.sh [demo|test]" >&2; exit 2 ;;
esac

APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-19 qemu-user qemu-system-arm qemu-system-misc bubblewrap libc6-arm64-cross libc6-armhf-cross libc6-riscv64-cross wine64)
TEST_APT_PACKAGES=(disorderfs binutils-multiarch chromium llvm-22 llvm-19 libclang1-19 libclang-common-19-dev)
[ "$mode" = test ] && APT_PACKAGES+=("${TEST_APT_PACKAGES[@]}")

ACTIONLINT=v1.7.7
COSIGN_VERSION=v2.6.5

if [ -n "${SETUP_PLAN:-}" ]; then
  printf 'apt %s\n' "${APT_PACKAGES[@]}"
  echo "pip -e .[$extras]"
  echo "pip ziglang (toolchains.zig)"
  if [ "$mode" = test ]; then
    echo "go actionlint $ACTIONLINT"
    echo "go cosign $COSIGN_VERSION"
  fi
  exit 0
fi

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

stamp=.venv/.relbuild-setup-$extras
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ toolchains.toml -nt "$stamp" ]; then
  echo "setup: installing relbuild and its $extras tools into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
  zig=$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("toolchains.toml", "rb"))["toolchains"]["zig"]["release"])')
  .venv/bin/python -m pip install -q --disable-pip-version-check "ziglang==$zig"
  touch "$stamp"
fi

[ "$mode" = test ] || exit 0

# actionlint checks the workflow `relbuild ci github` prints (tests/integration/test_ci.py).
if [ ! -x .tools/bin/actionlint ] || ! .tools/bin/actionlint -version 2>/dev/null | grep -qx "$ACTIONLINT"; then
  echo "setup: installing actionlint $ACTIONLINT into .tools/bin" >&2
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT"
fi

tools=${RELBUILD_TOOLS:-$HOME/.cache/relbuild/tools}
if ! go version -m "$tools/bin/cosign" 2>/dev/null | grep -q "mod[[:space:]]*github.com/sigstore/cosign/v2[[:space:]]*$COSIGN_VERSION"; then
  echo "setup: building cosign $COSIGN_VERSION into $tools/bin (once; several minutes)" >&2
  mkdir -p "$tools/bin"
  (cd "$tools" && GOBIN="$tools/bin" GOFLAGS=-buildvcs=false go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION")
fi
