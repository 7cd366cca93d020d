# Sourced by scripts/run and scripts/test: installs what the project needs on
# a Debian machine, idempotently (each step checks before it installs).
set -euo pipefail

# Debian packages the build needs: a C compiler for the bundled SQLite.
APT_PACKAGES=(build-essential pkg-config git ca-certificates)

apt_updated=0
ensure_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "==> installing Debian packages: ${missing[*]}"
    if [ "$apt_updated" -eq 0 ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "${missing[@]}"
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: Rust is not installed. Install it with rustup (https://rustup.rs), Rust 1.89 or newer," >&2
        echo "       with the rustfmt and clippy components, then run this again." >&2
        exit 1
    fi
    local have
    have=$(rustc --version | awk '{print $2}')
    if [ "$(printf '%s\n1.89.0\n' "$have" | sort -V | head -n1)" != "1.89.0" ]; then
        echo "error: Rust $have is too old; HIRC Desk needs 1.89 or newer (rustup update)." >&2
        exit 1
    fi
}

setup() {
    ensure_apt "${APT_PACKAGES[@]}"
    ensure_rust
}
