#!/usr/bin/env bash
# Benchmark: nginx-log-exporter --one-shot against mtail --one_shot on the same 1,000,000-line
# nginx "combined" log (../../../shared/bench/gen_nginx_log.py, seed 42). Checks both report the
# same request total and byte total, then prints lines/s, CPU time and peak RSS of each, and the
# ratio. A benchmark, not a test: it prints figures and fails only when the totals differ.
#
# Usage: exporters/nginx-log/bench/run.sh [LINES]   (env: BENCH_DIR, SHARED_BENCH, CARGO_TARGET_DIR)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
shared="${SHARED_BENCH:-$(cd "$repo/.." && pwd)/shared/bench}"
lines="${1:-1000000}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/nginx-log-bench}"
mkdir -p "$work"
log="$work/access-$lines.log"

for tool in python3 mtail /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y python3 mtail time)" >&2; exit 1; }
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
run exporter "$work/exporter.out" "$exe" --one-shot --format combined --preset forum --log-file "$log"

# Totals: sum every sample of each family (mtail also prints its own metrics; only ours count).
total() { awk -v m="$2" '$1 ~ "^"m"({|$)" { s += $NF } END { printf "%.0f\n", s }' "$1"; }
mt_req=$(total "$work/mtail.out" nginx_http_requests_total)
mt_bytes=$(total "$work/mtail.out" nginx_http_response_bytes_total)
ex_req=$(total "$work/exporter.out" nginx_http_requests_total)
ex_bytes=$(total "$work/exporter.out" nginx_http_response_bytes_total)
ex_series=$(grep -c '^nginx_http_requests_total{' "$work/exporter.out" || true)

report() { # NAME
  local w cpu rss
  w=$(wall "$1")
  cpu=$(awk -v u="$(field "$1" "User time")" -v s="$(field "$1" "System time")" 'BEGIN { print u + s }')
  rss=$(field "$1" "Maximum resident set size")
  awk -v n="$1" -v l="$lines" -v w="$w" -v c="$cpu" -v r="$rss" 'BEGIN {
    printf "%-9s wall %7.3f s  cpu %7.3f s  %12.0f lines/s (wall)  %12.0f lines/s (cpu)  peak RSS %6.1f MB\n", n, w, c, l / w, l / c, r / 1024 }'
}
echo "log: $log ($lines lines, $(du -m "$log" | cut -f1) MB)"
echo "totals: mtail requests=$mt_req bytes=$mt_bytes | exporter requests=$ex_req bytes=$ex_bytes ($ex_series request series)"
report mtail
report exporter
awk -v a="$(wall mtail)" -v b="$(wall exporter)" 'BEGIN { printf "ratio (exporter lines/s over mtail lines/s, wall): %.1fx\n", a / b }'
awk -v a="$(field mtail "User time")" -v b="$(field mtail "System time")" -v c="$(field exporter "User time")" -v d="$(field exporter "System time")" \
  'BEGIN { printf "ratio (CPU time of mtail over CPU time of the exporter): %.1fx\n", (a + b) / (c + d) }'
if [[ "$mt_req" != "$ex_req" || "$mt_bytes" != "$ex_bytes" || "$ex_req" != "$lines" ]]; then
  echo "TOTALS DIFFER" >&2
  exit 1
fi
echo "totals equal"

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
"$exe" --log-file "$series_log" --from-start --format forum --max-endpoints 5000 \
  --web.listen-address "127.0.0.1:$port" --log-level warn &
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
run flood "$work/flood.out" "$exe" --one-shot --format combined --log-file "$flood_log"
echo "flood: $(total "$work/flood.out" nginx_http_requests_total) requests," \
  "$(grep -c '^nginx_http_requests_total{' "$work/flood.out") series," \
  "folded $(total "$work/flood.out" nginx_http_endpoints_folded_total); peak RSS $(awk '{ printf "%.1f", $1 / 1024 }' <<<"$(field flood "Maximum resident set size")") MB"
