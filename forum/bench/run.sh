#!/usr/bin/env bash
# Benchmark of the forum's hot read paths: seeds 10,000 threads and 100,000 posts into a fresh
# database, starts `forum --role all` (release build) on a free port, and runs wrk at 16
# connections against a category thread list, a thread page and /api/threads/, printing
# requests/s, p99 latency and the count of non-2xx answers. Misago on this machine: 27 req/s
# on its index, 41 req/s on /api/threads/.
#
# Env: DATABASE_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
#      DURATION (default 15s), CONNECTIONS (16), THREADS (2), KEEP_DB=1 to keep the database.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
duration="${DURATION:-15s}"
connections="${CONNECTIONS:-16}"
wrk_threads="${THREADS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is missing: apt-get install -y postgresql-client" >&2; exit 1; }

(cd "$repo" && cargo build --release -q -p forum)
bin="$CARGO_TARGET_DIR/release/forum"

export LOG_LEVEL=warn
db="forum_bench_$$"
base="${admin_url%/*}"
export DATABASE_URL="$base/$db"
psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    if [ "${KEEP_DB:-0}" != 1 ]; then psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; fi
}
trap cleanup EXIT

"$bin" migrate
echo "== seed"
"$bin" seed --users 2000 --threads 10000 --posts 100000

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" --role all --listen "127.0.0.1:$port" &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

# The category with the most threads in its subtree: a top-level one.
category="$(psql "$DATABASE_URL" -Atc "SELECT id FROM categories WHERE parent_id IS NULL ORDER BY id LIMIT 1")"
thread="$(psql "$DATABASE_URL" -Atc "SELECT id FROM threads ORDER BY post_count DESC, id LIMIT 1")"

lua="$(mktemp)"
cat > "$lua" <<'LUA'
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

printf "%-28s %10s %9s %9s %8s\n" "endpoint" "req/s" "p50 ms" "p99 ms" "non-2xx"
for path in "/c/$category/" "/t/$thread/" "/api/threads/" "/"; do
    curl -fs -o /dev/null "http://127.0.0.1:$port$path" || { echo "GET $path failed" >&2; exit 1; }
    line="$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$lua" "http://127.0.0.1:$port$path" | grep '^RESULT')"
    rps="$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")"
    p50="$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")"
    p99="$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")"
    bad="$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")"
    printf "%-28s %10s %9s %9s %8s\n" "$path" "$rps" "$p50" "$p99" "$bad"
done
rm -f "$lua"
