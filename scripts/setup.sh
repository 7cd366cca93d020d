# Sourced by scripts/run and scripts/test: installs what the project needs on
# a Debian machine, idempotently (each step checks before it installs).
set -euo pipefail

# Debian packages the build needs: a C compiler for the bundled SQLite;
# openssl makes throwaway TLS certificates in the tests; poppler-utils
# (pdftoppm, pdftotext) renders and reads the summary PDFs the tests write.
APT_PACKAGES=(build-essential pkg-config git ca-certificates openssl poppler-utils)

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
        echo "error: Rust is not installed. Install it with rustup (https://rustup.rs), Rust 1.92 or newer," >&2
        echo "       with the rustfmt and clippy components, then run this again." >&2
        exit 1
    fi
    local have
    have=$(rustc --version | awk '{print $2}')
    if [ "$(printf '%s\n1.92.0\n' "$have" | sort -V | head -n1)" != "1.92.0" ]; then
        echo "error: Rust $have is too old; HIRC Desk needs 1.92 or newer (rustup update)." >&2
        exit 1
    fi
}

# PostgreSQL on loopback, for the hub's PostgreSQL tests: Debian's server,
# its default cluster started, a `hirc` role, and HIRC_TEST_POSTGRES set.
ensure_postgres() {
    ensure_apt postgresql
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    if ! pg_lsclusters -h | grep -q "^$version main"; then
        $sudo pg_createcluster "$version" main >/dev/null
    fi
    if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
        echo "==> starting PostgreSQL $version"
        $sudo pg_ctlcluster "$version" main start
    fi
    local psql=($sudo runuser -u postgres -- psql -qtA -d postgres)
    [ "$(id -u)" -ne 0 ] && psql=(sudo -u postgres psql -qtA -d postgres)
    for _ in $(seq 30); do "${psql[@]}" -c 'select 1' >/dev/null 2>&1 && break; sleep 1; done
    "${psql[@]}" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hirc') THEN
        CREATE ROLE hirc LOGIN SUPERUSER PASSWORD 'hirc'; END IF; END \$\$;"
    # Databases left by earlier test runs.
    "${psql[@]}" -c "SELECT datname FROM pg_database WHERE datname LIKE 'hirc_e2e_%' OR datname LIKE 'hirc_unit_%'" |
        while read -r db; do [ -n "$db" ] && "${psql[@]}" -c "DROP DATABASE \"$db\"" >/dev/null; done
    export HIRC_TEST_POSTGRES="postgres://hirc:hirc@127.0.0.1:5432/postgres"
}

setup() {
    ensure_apt "${APT_PACKAGES[@]}"
    ensure_rust
}
