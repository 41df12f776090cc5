#!/usr/bin/env bash
# Benchmark of the forum's hot read paths: seeds 10,000 threads and 100,000 posts into a fresh
# database, starts `forum --role all` (release build) on a free port, and runs wrk at 16
# connections against a category thread list, a thread page, /api/threads/ and the index,
# printing requests/s, p50 and p99 latency and the count of non-2xx answers and socket errors.
# Misago on this machine: 27 req/s on its index, 41 req/s on /api/threads/; the goal
# is 100 times that (2,700 and 4,100 req/s) with p99 under 50 ms and no errors.
#
# For figures worth quoting: each endpoint gets a warm-up run first (not reported: it fills
# the read cache and PostgreSQL's buffers and plan caches); wrk, the forum and PostgreSQL share
# the machine, so each measured run prints `other%`, the share of all CPU time that processes
# other than the bench's own (forum, its PostgreSQL backends, wrk) used meanwhile (a build or
# a test run next door shows there), and the
# load average is printed before and after; with RUNS=3 every endpoint is measured three times
# and the median reported.
#
# Env: DATABASE_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
#      DURATION (default 15s), WARMUP (default 3s, 0 for none), RUNS (default 1),
#      CONNECTIONS (16), THREADS (2), KEEP_DB=1 to keep the database,
#      FORUM_ARGS (extra arguments of the server, e.g. "--read-cache false"),
#      LOGIN=1 to measure as a logged-in member who has read nothing (a member account is
#      created and every request carries its session cookie, so the per-viewer parts of the
#      pages are measured too), BIN=path to measure a given build instead of building.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
admin_url="${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
duration="${DURATION:-15s}"
warmup="${WARMUP:-3s}"
runs="${RUNS:-1}"
connections="${CONNECTIONS:-16}"
wrk_threads="${THREADS:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is missing: apt-get install -y postgresql-client" >&2; exit 1; }

echo "== $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, load average before the build:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
if [ -n "${BIN:-}" ]; then
    bin="$BIN"
else
    (cd "$repo" && cargo build --release -q -p forum)
    bin="$CARGO_TARGET_DIR/release/forum"
fi

export LOG_LEVEL=warn
db="forum_bench_$$"
base="${admin_url%/*}"
export DATABASE_URL="$base/$db"
psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
server_pid=""
lua="" out=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    [ -n "$lua" ] && rm -f "$lua"
    [ -n "$out" ] && rm -f "$out" "$out.result"
    if [ "${KEEP_DB:-0}" != 1 ]; then psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; fi
}
trap cleanup EXIT

"$bin" migrate
echo "== seed"
"$bin" seed --users 2000 --threads 10000 --posts 100000

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# shellcheck disable=SC2086 # FORUM_ARGS is a list of arguments
"$bin" --role all --listen "127.0.0.1:$port" ${FORUM_ARGS:-} &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

# LOGIN=1: every request carries the session cookie of a plain member.
headers=()
if [ "${LOGIN:-0}" = 1 ]; then
    pwfile="$(mktemp)"
    echo "bench member password" >"$pwfile"
    "$bin" admin create --username bench_member --email bench_member@example.com --password-file "$pwfile" >/dev/null
    rm -f "$pwfile"
    psql "$DATABASE_URL" -qc "UPDATE users SET role = 'member' WHERE username = 'bench_member'" >/dev/null
    # A member who has read nothing: every listed thread is new, so the read marks are looked
    # up on every list page (versions without read marks have no such column).
    psql "$DATABASE_URL" -qc "DO \$\$ BEGIN
        IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'read_all_before') THEN
            UPDATE users SET read_all_before = '2000-01-01' WHERE username = 'bench_member';
        END IF; END \$\$" >/dev/null
    session="$(curl -fs -D - -o /dev/null -H 'Content-Type: application/json' \
        -d '{"username":"bench_member","password":"bench member password"}' \
        "http://127.0.0.1:$port/api/auth/login" | sed -nE 's/^[Ss]et-[Cc]ookie: forum_session=([^;]*).*/\1/p' | tr -d '\r')"
    [ -n "$session" ] || { echo "the bench member could not log in" >&2; exit 1; }
    headers=(-H "Cookie: forum_session=$session")
    echo "== logged in as a member"
fi

# The category with the most threads in its subtree: a top-level one.
category="$(psql "$DATABASE_URL" -Atc "SELECT id FROM categories WHERE parent_id IS NULL ORDER BY id LIMIT 1")"
thread="$(psql "$DATABASE_URL" -Atc "SELECT id FROM threads ORDER BY post_count DESC, id LIMIT 1")"

lua="$(mktemp)"
out="$(mktemp)"
cat > "$lua" <<'LUA'
done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

# "busy total ours" in clock ticks: CPU time used by anything, CPU time in all, and CPU time
# of this bench: the forum, the PostgreSQL backends of its database (other sessions' backends
# count as others), and this script's finished children (wrk).
cpu_ticks() {
    local ours pid
    ours="$(awk '{ print $16 + $17 }' "/proc/$$/stat")"
    for pid in "$server_pid" $(pgrep -f "^postgres: .* $db " || true); do
        ours=$((ours + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    awk -v ours="$ours" '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, ours }' /proc/stat
}

# The percentage of CPU time others used between two cpu_ticks snapshots.
others_percent() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; total = y[2] - x[2]; ours = y[3] - x[3]; o = busy - ours;
        printf "%.0f\n", (total > 0 && o > 0) ? 100 * o / total : 0 }'
}

# One measured run of $1 (wrk is a direct child of this shell, so cpu_ticks counts it):
# prints "rps p50 p99 non2xx socket_errors".
measure() {
    wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency -s "$lua" "${headers[@]}" "http://127.0.0.1:$port$1" >"$out"
    sed -nE 's/^RESULT rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) requests=[0-9]+ non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2 \3 \4 \5/p' "$out"
}

# The median of the numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== $runs run(s) of $duration per endpoint, $connections connections, $wrk_threads wrk threads, warm-up $warmup"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-28s %4s %10s %9s %9s %8s %8s %7s\n" "endpoint" "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "sock-err" "other%"
summary=()
for path in "/c/$category/" "/t/$thread/" "/api/threads/" "/"; do
    curl -fs -o /dev/null "${headers[@]}" "http://127.0.0.1:$port$path" || { echo "GET $path failed" >&2; exit 1; }
    if [ "$warmup" != 0 ]; then
        wrk -t"$wrk_threads" -c"$connections" -d"$warmup" "${headers[@]}" "http://127.0.0.1:$port$path" >/dev/null
    fi
    all_rps=() all_p99=() bad=0
    for run in $(seq 1 "$runs"); do
        before="$(cpu_ticks)"
        measure "$path" >"$out.result"
        others="$(others_percent "$before" "$(cpu_ticks)")"
        read -r rps p50 p99 non2xx sockerr <"$out.result"
        printf "%-28s %4s %10s %9s %9s %8s %8s %7s\n" "$path" "$run" "$rps" "$p50" "$p99" "$non2xx" "$sockerr" "$others"
        all_rps+=("$rps") all_p99+=("$p99") bad=$((bad + non2xx + sockerr))
    done
    summary+=("$(printf "%-28s %10.1f %9.2f %8s" "$path" "$(printf '%s\n' "${all_rps[@]}" | median)" "$(printf '%s\n' "${all_p99[@]}" | median)" "$bad")")
done

echo "== median of $runs run(s); goal: / >= 2700 req/s, /api/threads/ >= 4100 req/s, p99 < 50 ms, no errors"
printf "%-28s %10s %9s %8s\n" "endpoint" "req/s" "p99 ms" "errors"
printf '%s\n' "${summary[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
