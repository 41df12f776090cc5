# Shared by scripts/test and scripts/demo: makes sure what they need is on this machine.
# Sourced, not run. Idempotent: on a machine that has everything it only checks.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the Debian packages of scripts/apt-packages whose command is missing.
ensure_apt_packages() {
    local missing=() pkg cmd
    while read -r pkg cmd _; do
        [ -z "$pkg" ] && continue
        case "$pkg" in \#*) continue ;; esac
        if ! command -v "$cmd" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$cmd" >/dev/null 2>&1 \
            && ! [ -x "/usr/sbin/$cmd" ]; then
            missing+=("$pkg")
        fi
    done < "$REPO/scripts/apt-packages"
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: packages missing (${missing[*]}); run as root or: sudo apt-get install -y ${missing[*]}" >&2
            return 1
        fi
        apt-get update -qq
        # Services must not start on install: the tests start their own instances.
        DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and that DATABASE_URL reaches it
# as a superuser, starting the Debian cluster if it is stopped.
ensure_postgres() {
    export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        local version
        version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
        if [ -z "$version" ]; then
            echo "error: PostgreSQL is installed but has no cluster; create one with pg_createcluster" >&2
            return 1
        fi
        log "starting PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    if ! psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; then
        # A fresh Debian cluster asks for a password on TCP: give the postgres role one that
        # only this machine's tests use, through the local socket (peer auth as postgres).
        log "setting a local password for the postgres role"
        su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null
        export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
        psql "$DATABASE_URL" -Atqc 'SELECT 1' >/dev/null || {
            echo "error: cannot connect to PostgreSQL as $DATABASE_URL" >&2
            return 1
        }
    fi
}

# Makes sure cargo, rustfmt and clippy are there.
ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || {
        echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
        return 1
    }
    for component in rustfmt clippy; do
        if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
            log "adding rustup component $component"
            rustup component add "$component"
        fi
    done
}

# The S3-compatible server of the attachment storage tests: moto in server mode, from PyPI,
# in a virtualenv cached outside the clone (MOTO_VENV, default /var/cache/forum-moto/venv).
# The tests find `moto_server` there (or through MOTO_SERVER).
ensure_moto() {
    local venv="${MOTO_VENV:-/var/cache/forum-moto/venv}"
    if [ ! -x "$venv/bin/moto_server" ]; then
        log "installing moto (S3 test server) into $venv"
        command -v python3 >/dev/null 2>&1 || {
            echo "error: python3 is needed for moto; install python3 and python3-venv" >&2
            return 1
        }
        mkdir -p "$(dirname "$venv")"
        /usr/bin/python3 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv" || {
            echo "error: cannot create a virtualenv at $venv; install python3-venv" >&2
            return 1
        }
        "$venv/bin/pip" install -q 'moto[server]' || {
            echo "error: pip install 'moto[server]' into $venv failed" >&2
            return 1
        }
    fi
    export MOTO_SERVER="$venv/bin/moto_server"
}
