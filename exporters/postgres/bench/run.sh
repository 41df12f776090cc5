#!/usr/bin/env bash
# Benchmark: pg-exporter against Debian's postgres_exporter 0.11.1 on the same databases.
# The exporters run side by side and are scraped in turn (round-robin), so that the load of a
# shared machine weighs on each alike. pg-exporter runs with its defaults (top 100 tables,
# database sizes and settings reused for 30 s) and twice more doing the peer's work: every
# table, nothing reused ("same work"), on one connection and on two (--scrape.connections 2:
# the database size walk on the second, as the peer runs its collectors on several at once).
#
# Creates two databases (200 and 2,000 tables), runs both exporters against each in the same
# run, and prints each one's median scrape time over 20 scrapes, series count, RSS and the
# ratios; then the time each takes to answer when the database is down.
#
# Needs: a PostgreSQL server (DATABASE_URL, default the local one as postgres), psql, curl,
# /usr/bin/prometheus-postgres-exporter (apt-get install -y prometheus-postgres-exporter).
# Usage: exporters/postgres/bench/run.sh   (SCRAPES=20 TABLE_COUNTS="200 2000" to change)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
ADMIN_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
SCRAPES="${SCRAPES:-20}"
TABLE_COUNTS="${TABLE_COUNTS:-200 2000}"
PEER=/usr/bin/prometheus-postgres-exporter
PEER_QUERIES=/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

for tool in psql curl "$PEER"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y postgresql-client curl prometheus-postgres-exporter)" >&2; exit 1; }
done
[ -f "$PEER_QUERIES" ] || { echo "missing $PEER_QUERIES (apt-get install -y prometheus-postgres-exporter)" >&2; exit 1; }

echo "building pg-exporter (release)..." >&2
cargo build --release -q -p pg-exporter --manifest-path "$ROOT/Cargo.toml"
PGX="$CARGO_TARGET_DIR/release/pg-exporter"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for n in $TABLE_COUNTS; do psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS bench_pg_$n WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The peer's per-table queries (pg_stat_user_tables, pg_statio_user_tables, replication,
# postmaster) from Debian's example file, so that both exporters do per-table work.
awk '/^pg_stat_statements:/ {exit} {print}' "$PEER_QUERIES" > "$WORK/peer-queries.yaml"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

db_url() { # db_url NAME
  python3 - "$ADMIN_URL" "$1" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1]); q = u.parse_qs(p.query); q.setdefault("sslmode", ["disable"])
print(u.urlunparse(p._replace(path="/" + sys.argv[2], query=u.urlencode(q, doseq=True))))
PY
}

make_db() { # make_db N
  local n=$1 name="bench_pg_$1"
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
  psql -q "$(db_url "$name")" >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$n LOOP
    EXECUTE format('CREATE TABLE t_%s (id int PRIMARY KEY, body text)', i);
    EXECUTE format('INSERT INTO t_%s SELECT g, repeat(''x'', 50) FROM generate_series(1, %s) g', i, 1 + (i % 50) * 10);
  END LOOP;
END
\$\$;
ANALYZE;
SQL
}

wait_http() { # wait_http URL
  for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "no answer from $1" >&2; return 1
}

start() { # start KIND DSN PORT [extra args...] -> prints pid
  local kind=$1 dsn=$2 port=$3; shift 3
  if [ "$kind" = peer ]; then
    DATA_SOURCE_NAME="$dsn" "$PEER" --web.listen-address="127.0.0.1:$port" \
      --extend.query-path="$WORK/peer-queries.yaml" --log.level=error "$@" >"$WORK/$kind-$port.log" 2>&1 &
  else
    DATA_SOURCE_NAME="$dsn" "$PGX" --web.listen-address="127.0.0.1:$port" --preset none \
      --log.level=error "$@" >"$WORK/$kind-$port.log" 2>&1 &
  fi
  echo $!
}

median_ms() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f", m * 1000}'; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# Scrapes every exporter in turn, SCRAPES rounds, so that the machine's load falls on all
# alike. Writes WORK/times-KIND (seconds per scrape) and WORK/out-KIND (the last answer).
measure_all() { # measure_all KIND:PORT...
  local spec kind port i
  for spec in "$@"; do
    port=${spec#*:}; wait_http "http://127.0.0.1:$port/metrics"
    curl -fs -o /dev/null "http://127.0.0.1:$port/metrics"   # warm-up: connection made
    : > "$WORK/times-${spec%%:*}"
  done
  for i in $(seq 1 "$SCRAPES"); do
    for spec in "$@"; do
      kind=${spec%%:*}; port=${spec#*:}
      curl -fs -o "$WORK/out-$kind" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >> "$WORK/times-$kind"
    done
  done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '%-6s  %-28s %12s %8s %8s\n' tables exporter median_ms series rss_mb
for n in $TABLE_COUNTS; do
  echo "creating bench_pg_$n ($n tables)..." >&2
  make_db "$n"
  dsn="$(db_url "bench_pg_$n")"
  declare -A R=() PID=() PORT=()
  for kind in peer pgx pgx-uncapped pgx-uncapped2; do
    PORT[$kind]=$(free_port)
    case $kind in
      peer) PID[$kind]=$(start peer "$dsn" "${PORT[$kind]}") ;;
      pgx) PID[$kind]=$(start pgx "$dsn" "${PORT[$kind]}") ;;
      pgx-uncapped) PID[$kind]=$(start pgx "$dsn" "${PORT[$kind]}" --tables.limit 100000 --cache.slow-collectors 0) ;;
      pgx-uncapped2) PID[$kind]=$(start pgx "$dsn" "${PORT[$kind]}" --tables.limit 100000 --cache.slow-collectors 0 --scrape.connections 2) ;;
    esac
    PIDS+=("${PID[$kind]}")
  done
  measure_all "peer:${PORT[peer]}" "pgx:${PORT[pgx]}" "pgx-uncapped:${PORT[pgx-uncapped]}" "pgx-uncapped2:${PORT[pgx-uncapped2]}"
  for kind in peer pgx pgx-uncapped pgx-uncapped2; do
    med=$(median_ms < "$WORK/times-$kind")
    series=$(grep -cv '^#' "$WORK/out-$kind")
    rss=$(rss_mb "${PID[$kind]}")
    kill "${PID[$kind]}"; wait "${PID[$kind]}" 2>/dev/null || true
    R[$kind]="$med $series $rss"
    case $kind in
      peer) name="postgres_exporter 0.11.1" ;;
      pgx) name="pg-exporter (top 100)" ;;
      pgx-uncapped) name="pg-exporter (same work)" ;;
      *) name="pg-exporter (same, 2 conns)" ;;
    esac
    printf '%-6s  %-28s %12s %8s %8s\n' "$n" "$name" "$med" "$series" "$rss"
  done
  read -r pm ps pr <<<"${R[peer]}"; read -r gm gs gr <<<"${R[pgx]}"; read -r um us ur <<<"${R[pgx-uncapped]}"; read -r vm _ vr <<<"${R[pgx-uncapped2]}"
  echo "        ratios pg-exporter/postgres_exporter: time $(ratio "$gm" "$pm") (same work: $(ratio "$um" "$pm"), 2 conns: $(ratio "$vm" "$pm")), RSS $(ratio "$gr" "$pr") (same work: $(ratio "$ur" "$pr"), 2 conns: $(ratio "$vr" "$pr")), series $(ratio "$gs" "$ps") (same work: $(ratio "$us" "$ps"))"
done

echo
echo "database down (nothing listens on the DSN's port): median answer over 5 scrapes"
down_port=$(free_port)
down_dsn="postgresql://postgres@127.0.0.1:$down_port/postgres?sslmode=disable"
for kind in peer pgx; do
  port=$(free_port)
  pid=$(start "$kind" "$down_dsn" "$port"); PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/"
  times=()
  for i in 1 2 3 4 5; do times+=("$(curl -s -o "$WORK/down" -w '%{time_total}' "http://127.0.0.1:$port/metrics")"); done
  up=$(grep -E '^pg_up' "$WORK/down" | awk '{print $2}')
  name="postgres_exporter 0.11.1"; [ "$kind" = pgx ] && name="pg-exporter"
  printf '  %-26s %8s ms  (pg_up %s)\n' "$name" "$(printf '%s\n' "${times[@]}" | median_ms)" "${up:-absent}"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
