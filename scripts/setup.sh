# Sourced by scripts/run and scripts/test: installs what the project needs on
# a Debian machine, idempotently (each step checks before it installs).
set -euo pipefail

# Debian packages the build needs: a C compiler for the bundled SQLite;
# openssl makes throwaway TLS certificates in the tests; poppler-utils
# (pdftoppm, pdftotext) renders and reads the summary PDFs the tests write;
# python3 runs scripts/check-modules (no import cycle, no file too long);
# systemd's systemd-analyze checks the hub's units (scripts/check-units);
# HAProxy balances the hub replicas in tests/tests/replicas.rs.
APT_PACKAGES=(build-essential pkg-config git ca-certificates openssl poppler-utils python3 systemd haproxy iproute2)

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

# Whether version $1 is $2 or newer.
version_at_least() {
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
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
    if ! version_at_least "$have" 1.92.0; then
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
    # The replica test restarts it under load (tests/tests/replicas.rs).
    export HIRC_TEST_POSTGRES_CLUSTER="$version main"
}

# The desktop app: WebKitGTK and friends to build it (Tauri 2 on Linux), and
# a virtual display, a session bus and the WebDriver bridge to run it in tests;
# Chromium runs the UI's browser tests (Playwright drives Debian's build, no
# browser is downloaded); xdotool types into the app's native save dialog.
APP_PACKAGES=(file libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev
    librsvg2-dev libxdo-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
    xvfb xauth webkit2gtk-driver dbus-x11 at-spi2-core fonts-dejavu-core chromium xdotool)

# Node.js builds the UI (Vite 8 needs Node 20.19 or newer). It is not
# downloaded here: Debian 12's own nodejs is 18, too old, so a newer one
# (NodeSource's package, or nvm) must already be installed.
ensure_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "error: Node.js 20.19+ with npm is needed to build the UI; install it (e.g. NodeSource's nodejs package) and run this again." >&2
        exit 1
    fi
    local have
    have=$(node --version | sed 's/^v//')
    if ! version_at_least "$have" 20.19.0; then
        echo "error: Node.js $have is too old; the UI build needs 20.19 or newer." >&2
        exit 1
    fi
}

# The UI's packages (exactly package-lock.json) and its build in ui/dist,
# which the desktop app embeds: without it src-tauri does not compile.
ensure_ui() {
    ensure_node
    if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
        echo "==> installing the UI's npm packages (npm ci)"
        (cd ui && npm ci --no-audit --no-fund --loglevel=error)
    fi
    echo "==> building the UI (ui/dist)"
    (cd ui && npm run --silent build >/dev/null)
}

# tauri-driver, the WebDriver server for end-to-end tests of the real app,
# built from crates.io into the git-ignored .tools/ once.
TAURI_DRIVER_VERSION=2.1.0
ensure_tauri_driver() {
    local bin=.tools/bin/tauri-driver
    if [ -x "$bin" ] && grep -q "tauri-driver $TAURI_DRIVER_VERSION " .tools/.crates.toml 2>/dev/null; then
        return 0
    fi
    echo "==> building tauri-driver $TAURI_DRIVER_VERSION into .tools/ (about 90 s, once)"
    cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION" --root .tools --quiet
}

setup() {
    ensure_apt "${APT_PACKAGES[@]}" "${APP_PACKAGES[@]}"
    ensure_rust
    ensure_ui
}
