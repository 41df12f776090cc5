#!/usr/bin/env bash
# Benchmark: nginx-log-exporter --one-shot against mtail --one_shot on the same 1,000,000-line
# nginx "combined" log (../../../shared/bench/gen_nginx_log.py, seed 42). Checks both report the
# same request total and byte total, then prints lines/s, CPU time and peak RSS of each, and the
# ratio. Then the scrape of 10,000 series, a cardinality flood, and the live run (live.py): a
# real nginx under wrk, alone, with the exporter tailing its log and with mtail tailing it.
# A benchmark, not a test: it prints figures and fails only when the totals differ.
#
# Usage: exporters/nginx-log/bench/run.sh [LINES]
#   env: BENCH_DIR, SHARED_BENCH, CARGO_TARGET_DIR, RUNS (one-shot runs, 5),
#        LIVE_SECONDS (each wrk run, 10), LIVE_ROUNDS (live rounds, 1; 0 skips the live run)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
shared="${SHARED_BENCH:-$(cd "$repo/.." && pwd)/shared/bench}"
lines="${1:-1000000}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/nginx-log-bench}"
mkdir -p "$work"
log="$work/access-$lines.log"

for tool in python3 mtail /usr/bin/time nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y python3 mtail time nginx wrk curl)" >&2; exit 1; }
done

if [[ ! -s "$log" ]]; then
  echo "generating $lines lines into $log"
  python3 "$shared/gen_nginx_log.py" "$lines" "$log"
fi

(cd "$repo" && cargo build --release -p nginx-log-exporter --quiet)
exe="${CARGO_TARGET_DIR:-$repo/target}/release/nginx-log-exporter"

# run NAME OUTFILE CMD...: runs CMD under /usr/bin/time -v, keeps its stdout, prints nothing.
run() {
  local name="$1" out="$2"; shift 2
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$out" 2>"$work/$name.stderr"
}
field() { grep -F "$2" "$work/$1.time" | sed 's/.*: //'; }
wall() { # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23" -> seconds
  field "$1" "Elapsed (wall clock)" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}

run mtail "$work/mtail.out" mtail --one_shot --one_shot_format=prometheus --address=127.0.0.1 --port=0 \
  --logtostderr --progs "$shared/nginx_combined.mtail" --logs "$log"

# The exporter is fast enough for /usr/bin/time's 10 ms resolution to matter: it runs RUNS times
# (default 5) and the median of each figure is reported. It also logs its own timing of the
# read + parse + count loop (start-up and output excluded), reported as "internal".
runs="${RUNS:-5}"
# median FILE: the median of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# exporter_runs NAME LOG ARGS...: RUNS runs of the exporter; files NAME.{wall,cpu,rss,lps}.
exporter_runs() {
  local name="$1" file="$2"; shift 2
  rm -f "$work/$name".{wall,cpu,rss,lps}
  for _ in $(seq "$runs"); do
    run "$name" "$work/$name.out" "$exe" --one-shot "$@" --log-file "$file"
    wall "$name" >>"$work/$name.wall"
    awk -v u="$(field "$name" "User time")" -v s="$(field "$name" "System time")" 'BEGIN { print u + s }' >>"$work/$name.cpu"
    field "$name" "Maximum resident set size" >>"$work/$name.rss"
    grep -o 'lines_per_second=[0-9]*' "$work/$name.stderr" | cut -d= -f2 >>"$work/$name.lps"
  done
}
exporter_runs exporter "$log" --nginx.format combined --preset forum

# Totals: sum every sample of each family (mtail also prints its own metrics; only ours count).
total() { awk -v m="$2" '$1 ~ "^"m"({|$)" { s += $NF } END { printf "%.0f\n", s }' "$1"; }
mt_req=$(total "$work/mtail.out" nginx_http_requests_total)
mt_bytes=$(total "$work/mtail.out" nginx_http_response_bytes_total)
ex_req=$(total "$work/exporter.out" nginx_http_requests_total)
ex_bytes=$(total "$work/exporter.out" nginx_http_response_bytes_total)
ex_series=$(grep -c '^nginx_http_requests_total{' "$work/exporter.out" || true)

# print_row NAME LINES WALL CPU RSS_KB [INTERNAL_LINES_PER_S]
print_row() {
  awk -v n="$1" -v l="$2" -v w="$3" -v c="$4" -v r="$5" -v i="${6:-}" 'BEGIN {
    printf "%-9s wall %7.3f s  cpu %7.3f s  %12.0f lines/s (wall)  %12.0f lines/s (cpu)  peak RSS %6.1f MB", n, w, c, l / w, l / c, r / 1024
    if (i != "") printf "  internal %12.0f lines/s", i
    printf "\n" }'
}
mt_wall=$(wall mtail)
mt_cpu=$(awk -v u="$(field mtail "User time")" -v s="$(field mtail "System time")" 'BEGIN { print u + s }')
echo "log: $log ($lines lines, $(du -m "$log" | cut -f1) MB); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "totals: mtail requests=$mt_req bytes=$mt_bytes | exporter requests=$ex_req bytes=$ex_bytes ($ex_series request series)"
echo "mtail: 1 run; exporter: median of $runs runs (internal = the exporter's own timing of read + parse + count)"
print_row mtail "$lines" "$mt_wall" "$mt_cpu" "$(field mtail "Maximum resident set size")"
print_row exporter "$lines" "$(median "$work/exporter.wall")" "$(median "$work/exporter.cpu")" \
  "$(median "$work/exporter.rss")" "$(median "$work/exporter.lps")"
echo "exporter runs, wall s: $(tr '\n' ' ' <"$work/exporter.wall")| internal lines/s: $(tr '\n' ' ' <"$work/exporter.lps")"
awk -v a="$mt_wall" -v b="$(median "$work/exporter.wall")" 'BEGIN { printf "ratio (exporter lines/s over mtail lines/s, wall): %.1fx\n", a / b }'
awk -v a="$mt_cpu" -v b="$(median "$work/exporter.cpu")" 'BEGIN { printf "ratio (CPU time of mtail over CPU time of the exporter): %.1fx\n", a / b }'
if [[ "$mt_req" != "$ex_req" || "$mt_bytes" != "$ex_bytes" || "$ex_req" != "$lines" ]]; then
  echo "TOTALS DIFFER" >&2
  exit 1
fi
echo "totals equal"

# The full metric set: the same lines in the `forum` format, so the request and upstream
# duration histograms and request bytes are filled too (plus endpoints, events and the top list).
forum_log="$work/forum-$lines.log"
if [[ ! -s "$forum_log" ]]; then
  python3 - "$log" "$forum_log" <<'PY'
import random, sys
rnd = random.Random(42)
with open(sys.argv[1]) as src, open(sys.argv[2], "w", buffering=1 << 20) as out:
    for line in src:
        up = "%.3f" % rnd.uniform(0.001, 0.8)
        if rnd.random() < 0.05:
            up += ", %.3f" % rnd.uniform(0.001, 0.2)
        out.write('%s %d %.3f "%s" forum.example\n' % (line.rstrip("\n"), rnd.randint(200, 2000), rnd.uniform(0.001, 1.5), up))
PY
fi
exporter_runs forum "$forum_log" --nginx.format forum --preset forum
echo "full metric set (forum format: histograms too): $(total "$work/forum.out" nginx_http_requests_total) requests," \
  "$(total "$work/forum.out" nginx_http_request_duration_seconds_count) request durations, median of $runs runs:"
print_row exporter "$lines" "$(median "$work/forum.wall")" "$(median "$work/forum.cpu")" \
  "$(median "$work/forum.rss")" "$(median "$work/forum.lps")"

# Scrape time with 10,000 request series: 2,500 endpoints x 4 statuses, forum format (so the
# endpoints also have request and upstream duration histograms).
series_log="$work/series-10000.log"
python3 - "$series_log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(2500):
        for st in (200, 302, 404, 500):
            f.write('10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET /e%dx HTTP/1.1" %d 100 "-" "bench" 300 0.012 "0.010" forum.example\n' % (i, st))
PY
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$exe" --log-file "$series_log" --from-start --nginx.format forum --max-endpoints 5000 \
  --web.listen-address "127.0.0.1:$port" --log.level warn &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null | grep -q '^nginx_log_lines_total 10000$'; then break; fi
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/metrics" >"$work/series.out"
n_series=$(grep -c '^nginx_http_requests_total{' "$work/series.out" || true)
n_samples=$(grep -vc '^#' "$work/series.out" || true)
times=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done | sort -n)
gz_times=$(for _ in $(seq 20); do curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done | sort -n)
rss=$(awk '/VmHWM/ { print $2 / 1024 }' "/proc/$pid/status")
kill $pid; wait $pid 2>/dev/null || true; trap - EXIT
echo "scrape: $n_series request series, $n_samples samples, $(wc -c <"$work/series.out") bytes; 20 scrapes:" \
  "median $(echo "$times" | sed -n 10p) s, max $(echo "$times" | tail -1) s; gzip median $(echo "$gz_times" | sed -n 10p) s; peak RSS ${rss} MB"
# The same series, CPU time of a scrape while the exporter tails (wall times above are the load's).
python3 "$here/live.py" scrape "$exe" "$series_log"

# Cardinality flood: 1,000,000 distinct random paths; memory must stay bounded by the caps.
flood_log="$work/flood-1000000.log"
if [[ ! -s "$flood_log" ]]; then
  python3 - "$flood_log" <<'PY'
import random, sys
rnd = random.Random(7)
with open(sys.argv[1], "w", buffering=1 << 20) as f:
    for i in range(1000000):
        p = "/%s/%s" % ("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8)), "".join(rnd.choice("xyz") for _ in range(6)))
        f.write('10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "GET %s HTTP/1.1" 200 10 "-" "flood"\n' % p)
PY
fi
run flood "$work/flood.out" "$exe" --one-shot --nginx.format combined --log-file "$flood_log"
echo "flood: $(total "$work/flood.out" nginx_http_requests_total) requests," \
  "$(grep -c '^nginx_http_requests_total{' "$work/flood.out") series," \
  "folded $(total "$work/flood.out" nginx_http_endpoints_folded_total); peak RSS $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(field flood "Maximum resident set size")") MB"

# Live: nginx under wrk, alone, with the exporter tailing, with mtail tailing, alone again.
if [[ "${LIVE_ROUNDS:-1}" != 0 ]]; then
  python3 "$here/live.py" live "$exe" "$work" "${LIVE_SECONDS:-10}" "${LIVE_ROUNDS:-1}"
fi
