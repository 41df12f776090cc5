#!/usr/bin/env bash
# Benchmark of the forum's hot read paths: seeds 10,000 threads and 100,000 posts into a fresh
# database, starts `forum --role all` (release build) on a free port, and runs wrk at 16
# connections against a category thread list, a thread page, /api/threads/ and the index,
# printing requests/s, p50 and p99 latency and the count of non-2xx answers and socket errors;
# then the same four as a logged-in member (registered and logged in through the API): the
# pages with the member's session cookie, /api/threads/ with the member's bearer token.
# Misago on this machine: 27 req/s on its index, 41 req/s on /api/threads/; the goal
# is 100 times that (2,700 and 4,100 req/s) with p99 under 50 ms and no errors. Logged in,
# Misago serves its index at 18.5 req/s, a thread at 26.7, a category at 19.2 and
# /api/threads/ at 36.8: the member rows print the ratio to those.
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
#      SSLMODE (default disable: the forum reaches PostgreSQL on loopback, as in the demo
#      stack, whose cluster has no TLS; "require" measures TLS to a server that offers it,
#      which Debian's does: libpq's usual "prefer" would pick it there),
#      (to compare with an earlier build).
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

# What is measured: the given binary, or this checkout built now.
if [ -n "${FORUM_BIN:-}" ]; then
    what="binary $FORUM_BIN"
else
    what="checkout $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
echo "== $what, $(nproc) cores, load average before the build:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"
if [ -n "${FORUM_BIN:-}" ]; then
    bin="$FORUM_BIN"
else
    (cd "$repo" && cargo build --release -q -p forum)
    bin="$CARGO_TARGET_DIR/release/forum"
fi

export LOG_LEVEL=warn
db="forum_bench_$$"
base="${admin_url%/*}"
sslmode="${SSLMODE:-disable}"
export DATABASE_URL="$base/$db?sslmode=$sslmode"
psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
server_pid=""
lua="" out="" jar=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    [ -n "$lua" ] && rm -f "$lua"
    [ -n "$out" ] && rm -f "$out" "$out.result"
    [ -n "$jar" ] && rm -f "$jar"
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

# The category with the most threads in its subtree: a top-level one (not the private one, id 0).
category="$(psql "$DATABASE_URL" -Atc "SELECT id FROM categories WHERE parent_id IS NULL AND id <> 0 ORDER BY id LIMIT 1")"
thread="$(psql "$DATABASE_URL" -Atc "SELECT id FROM threads ORDER BY post_count DESC, id LIMIT 1")"

# A logged-in member: registered and logged in through the JSON API; the login answers a
# bearer token and sets the session cookie (curl's cookie jar).
member="bench_member"
member_password="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
jar="$(mktemp)"
curl -fs -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"username\":\"$member\",\"email\":\"$member@example.invalid\",\"password\":\"$member_password\"}" \
    "http://127.0.0.1:$port/api/users/" || { echo "registering $member failed" >&2; exit 1; }
login="$(curl -fs -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$member\",\"password\":\"$member_password\"}" \
    "http://127.0.0.1:$port/api/auth/login")" || { echo "logging $member in failed" >&2; exit 1; }
token="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$login")"
session="$(awk -F'\t' '$6 == "forum_session" { print $7 }' "$jar")"
[ -n "$token" ] && [ -n "$session" ] || { echo "no token or session cookie for $member" >&2; exit 1; }
cookie_header="Cookie: forum_session=$session"
bearer_header="Authorization: Bearer $token"
# The pages must really be the member's: the index names them (grep reads the whole page: with
# -q it would stop early and fail curl under pipefail on a page larger than the pipe).
curl -fs -H "$cookie_header" "http://127.0.0.1:$port/" | grep "$member" >/dev/null \
    || { echo "the index with the session cookie does not show $member: not logged in" >&2; exit 1; }
curl -fs -H "$bearer_header" "http://127.0.0.1:$port/api/me/" | grep "\"$member\"" >/dev/null \
    || { echo "/api/me/ with the token is not $member" >&2; exit 1; }

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

# One measured run of $1 with the request header $2 (or none) (wrk is a direct child of this
# shell, so cpu_ticks counts it): prints "rps p50 p99 non2xx socket_errors".
measure() {
    local header=()
    [ -n "${2:-}" ] && header=(-H "$2")
    wrk -t"$wrk_threads" -c"$connections" -d"$duration" --latency "${header[@]}" -s "$lua" "http://127.0.0.1:$port$1" >"$out"
    sed -nE 's/^RESULT rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) requests=[0-9]+ non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2 \3 \4 \5/p' "$out"
}

# The median of the numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "== $runs run(s) of $duration per endpoint, $connections connections, $wrk_threads wrk threads, warm-up $warmup, sslmode=$sslmode"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-36s %4s %10s %9s %9s %8s %8s %7s\n" "endpoint" "run" "req/s" "p50 ms" "p99 ms" "non-2xx" "sock-err" "other%"
# "label|path|header|Misago's req/s logged in (empty: no figure)".
cases=(
    "/c/$category/|/c/$category/||"
    "/t/$thread/|/t/$thread/||"
    "/api/threads/|/api/threads/||"
    "/|/||"
    "member /c/$category/|/c/$category/|$cookie_header|19.2"
    "member /t/$thread/|/t/$thread/|$cookie_header|26.7"
    "member /api/threads/ (token)|/api/threads/|$bearer_header|36.8"
    "member /|/|$cookie_header|18.5"
)
summary=()
for case in "${cases[@]}"; do
    IFS='|' read -r label path header misago <<<"$case"
    hdr=()
    [ -n "$header" ] && hdr=(-H "$header")
    curl -fs -o /dev/null "${hdr[@]}" "http://127.0.0.1:$port$path" || { echo "GET $path ($label) failed" >&2; exit 1; }
    if [ "$warmup" != 0 ]; then
        wrk -t"$wrk_threads" -c"$connections" -d"$warmup" "${hdr[@]}" "http://127.0.0.1:$port$path" >/dev/null
    fi
    all_rps=() all_p99=() all_p50=() bad=0
    for run in $(seq 1 "$runs"); do
        before="$(cpu_ticks)"
        measure "$path" "$header" >"$out.result"
        others="$(others_percent "$before" "$(cpu_ticks)")"
        read -r rps p50 p99 non2xx sockerr <"$out.result"
        printf "%-36s %4s %10s %9s %9s %8s %8s %7s\n" "$label" "$run" "$rps" "$p50" "$p99" "$non2xx" "$sockerr" "$others"
        all_rps+=("$rps") all_p50+=("$p50") all_p99+=("$p99") bad=$((bad + non2xx + sockerr))
    done
    rps="$(printf '%s\n' "${all_rps[@]}" | median)"
    ratio=""
    [ -n "$misago" ] && ratio="$(awk -v a="$rps" -v b="$misago" 'BEGIN { printf "%.0fx", a / b }')"
    summary+=("$(printf "%-36s %10.1f %9.2f %9.2f %8s %10s" "$label" "$rps" "$(printf '%s\n' "${all_p50[@]}" | median)" "$(printf '%s\n' "${all_p99[@]}" | median)" "$bad" "$ratio")")
done

echo "== median of $runs run(s); goal: / >= 2700 req/s, /api/threads/ >= 4100 req/s, p99 < 50 ms, no errors"
printf "%-36s %10s %9s %9s %8s %10s\n" "endpoint" "req/s" "p50 ms" "p99 ms" "errors" "x Misago"
printf '%s\n' "${summary[@]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
