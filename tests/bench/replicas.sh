#!/usr/bin/env bash
# discovery-service replicas on one etcd, under tds_discovery_load. Starts one etcd (ephemeral
# ports, a temporary data dir) and N discovery-service replicas on 127.0.0.1:0 with
# --etcd-endpoints, or with --replicas 0 one discovery-service keeping its registry in memory (the
# baseline). Then, with the same clusters x affiliates:
#   1. the load tool's --idle run: RSS per stored affiliate (and per Watch stream) of each replica,
#      of etcd, and of one more replica without clients (what mirroring alone costs); etcd's db
#      size, key count and WAL fsyncs before and after, per affiliate;
#   2. a load run (another C x N affiliates, since every run of the tool uses new cluster IDs):
#      updates/s, fan-out p50/p99, CPU per update of each replica and of etcd; etcd's db growth
#      and WAL fsyncs per revision.
# After each, every replica's etcd requests (count, mean time), compare-and-swap conflicts and
# watch lag over the run, from its /metrics.
# Builds nothing: point it at a build dir with discovery-service and tds_discovery_load.
#
#   tests/bench/replicas.sh [options] [-- load tool args...]
#     -b, --build DIR     build dir (default: build)
#     -r, --replicas N    discovery-service replicas on the etcd; 0: in memory, no etcd (default 3)
#     --clusters C        (default 100)
#     --affiliates N      per cluster (default 10)
#     --no-idle           skip the --idle run
#     --no-load           skip the load run
#     --logs DIR          copy every log into DIR before the temp dir is removed
#   Arguments after -- go to the load run, e.g. -- --rate 500 --duration 15 --warmup 3.
#
# Everything it starts is stopped (SIGTERM, then SIGKILL after 15 s) on exit, failure or Ctrl-C.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

build=build replicas=3 clusters=100 affiliates=10 idle=1 run_load=1 logs_out=""
load_args=()
while (($#)); do
  case "$1" in
    -b|--build) build=$2; shift ;;
    -r|--replicas) replicas=$2; shift ;;
    --clusters) clusters=$2; shift ;;
    --affiliates) affiliates=$2; shift ;;
    --no-idle) idle=0 ;;
    --no-load) run_load=0 ;;
    --logs) logs_out=$2; shift ;;
    --) shift; load_args=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "replicas.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if ! [[ "$replicas" =~ ^[0-9]+$ ]]; then usage >&2; exit 2; fi

build=$(realpath "$build")
discovery=$build/cmd/discovery-service/discovery-service
tool=$build/tests/bench/tds_discovery_load
etcd_bin=${TDS_ETCD_BIN:-/usr/bin/etcd}
for b in "$discovery" "$tool" "$etcd_bin"; do
  [ -x "$b" ] || { echo "replicas.sh: $b not found" >&2; exit 2; }
done

# The servers inherit the hard descriptor limit: each of the tool's connections is one of theirs.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

[ -z "$logs_out" ] || logs_out=$(realpath -m "$logs_out")
work=$(mktemp -d /tmp/tds-replicas.XXXXXX)
pids=()  # every process started here
stop_all() {
  stop_pids "${pids[@]}"
  if [ -n "$logs_out" ]; then
    mkdir -p "$logs_out"
    cp "$work"/*.log "$logs_out"/ 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

load() { cut -d' ' -f1-3 /proc/loadavg; }

# N ports the kernel considers free on 127.0.0.1 (etcd cannot report a port it picked itself).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# Prints the named Prometheus series (unlabelled) of a /metrics URL as "name=value" words.
scrape() {
  local url=$1
  shift
  curl -fsS "$url" | awk -v names="$*" '
    BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
    !/^#/ && ($1 in want) { v = $2 + 0; printf((v == int(v) ? "%s=%d " : "%s=%.6f "), $1, v) }
    END { print "" }'
}
etcd_series="etcd_mvcc_db_total_size_in_bytes etcd_mvcc_db_total_size_in_use_in_bytes
  etcd_debugging_mvcc_keys_total etcd_debugging_mvcc_current_revision
  etcd_disk_wal_fsync_duration_seconds_count etcd_disk_wal_fsync_duration_seconds_sum"
# "name=value ..." -> the value of one name.
field() { sed -nE "s/.*(^| )$2=([0-9.]+).*/\\2/p" <<<"$1"; }

echo "replicas: replicas=$replicas clusters=$clusters affiliates=$affiliates" \
  "load args=${load_args[*]:-none} work=$work"
echo "replicas: load average before: $(load)"

etcd_args=() etcd_pid=0 etcd_url=""
if ((replicas > 0)); then
  read -r client_port peer_port < <(free_ports 2)
  etcd_url=http://127.0.0.1:$client_port
  "$etcd_bin" --name bench --data-dir "$work/etcd" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$peer_port" --initial-cluster-state new \
    --logger zap --log-outputs stderr >"$work/etcd.log" 2>&1 &
  pids+=($!)
  etcd_pid=$!
  wait_for "$work/etcd.log" '(serving client traffic)' "$etcd_pid" >/dev/null
  etcd_args=(--etcd-endpoints "127.0.0.1:$client_port")
fi

# start_replica NAME: starts a discovery-service logging to $work/NAME.log and waits until it
# listens; sets replica_pid, replica_port and replica_metrics_port.
start_replica() {
  # No landing page, no rate limit (all load comes from 127.0.0.1), no caps, no snapshot.
  "$discovery" --addr 127.0.0.1:0 --landing-addr "" --metrics-addr 127.0.0.1:0 \
    --snapshots-enabled=false --rate-limit 0 --max-watches-per-address 0 --max-watches 0 \
    --max-connections-per-address 0 --max-clusters 0 "${etcd_args[@]}" >"$work/$1.log" 2>&1 &
  pids+=($!)
  replica_pid=$!
  local line
  line=$(wait_for "$work/$1.log" '(event=listening .*)' "$replica_pid")
  replica_port=$(field "$line" port)
  replica_metrics_port=$(field "$line" metrics_port)
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

servers=() server_pids=() metrics_ports=()
for i in $(seq 1 $((replicas > 0 ? replicas : 1))); do
  start_replica "replica-$i"
  server_pids+=("$replica_pid")
  servers+=("127.0.0.1:$replica_port")
  metrics_ports+=("$replica_metrics_port")
done
echo "replicas: servers=${servers[*]} pids=${server_pids[*]} etcd_pid=$etcd_pid"

IFS=,
target=(--server "${servers[*]}" --server-pid "${server_pids[*]}")
unset IFS
((etcd_pid == 0)) || target+=(--etcd-pid "$etcd_pid")
shape=(--clusters "$clusters" --affiliates "$affiliates")

# Runs the load tool in the background, so that a signal's trap runs at once and stops it too.
run_tool() {
  "$tool" "$@" &
  pids+=($!)
  wait $!
}

etcd_figures() { scrape "$etcd_url/metrics" $etcd_series; }
# What etcd keeps per key and per revision between two etcd_figures lines, for $3 affiliates.
etcd_growth() {
  awk -v n="$3" -v a="$1" -v b="$2" '
    function parse(s, into,   w, i, kv) {
      split(s, w, " ")
      for (i in w) { split(w[i], kv, "="); into[kv[1]] = kv[2] }
    }
    BEGIN {
      parse(a, va); parse(b, vb)
      revs = vb["etcd_debugging_mvcc_current_revision"] - va["etcd_debugging_mvcc_current_revision"]
      keys = vb["etcd_debugging_mvcc_keys_total"] - va["etcd_debugging_mvcc_keys_total"]
      db = vb["etcd_mvcc_db_total_size_in_bytes"] - va["etcd_mvcc_db_total_size_in_bytes"]
      used = vb["etcd_mvcc_db_total_size_in_use_in_bytes"] - va["etcd_mvcc_db_total_size_in_use_in_bytes"]
      fsyncs = vb["etcd_disk_wal_fsync_duration_seconds_count"] - va["etcd_disk_wal_fsync_duration_seconds_count"]
      fsync_s = vb["etcd_disk_wal_fsync_duration_seconds_sum"] - va["etcd_disk_wal_fsync_duration_seconds_sum"]
      printf "etcd_growth keys=%d revisions=%d db_bytes=%d db_in_use_bytes=%d", keys, revs, db, used
      printf " wal_fsyncs=%d", fsyncs
      if (fsyncs > 0) printf " wal_fsync_mean_ms=%.2f", 1000 * fsync_s / fsyncs
      if (revs > 0) printf " wal_fsyncs_per_revision=%.2f", fsyncs / revs
      if (n > 0) printf " affiliates=%d db_bytes_per_affiliate=%.0f db_in_use_bytes_per_affiliate=%.0f", n, db / n, used / n
      if (revs > 0) printf " db_bytes_per_revision=%.0f db_in_use_bytes_per_revision=%.0f", db / revs, used / revs
      print ""
    }'
}

# Saves every replica's etcd series into $work/replica-N.$1.metrics.
save_replica_metrics() {
  local i
  for i in "${!metrics_ports[@]}"; do
    curl -fsS "http://127.0.0.1:${metrics_ports[$i]}/metrics" | grep '^discovery_etcd_' \
      >"$work/replica-$i.$1.metrics"
  done
}
# Each replica's etcd requests, compare-and-swap conflicts and watch lag between two saves ($1 and
# $2): counts, mean durations, and the lag bucket holding the 99th percentile.
replica_metrics() {
  local i
  for i in "${!metrics_ports[@]}"; do
    awk -v name="replica$i" '
      FNR == NR { before[$1] = $2; next }
      { d[$1] = $2 - before[$1] }
      /^discovery_etcd_watch_lag_seconds_bucket/ {
        le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le); nb++; bound[nb] = le; cum[nb] = d[$1]
      }
      END {
        printf "%s etcd", name
        n = split("read write", ops, " ")
        for (k = 1; k <= n; k++) {
          c = d["discovery_etcd_request_duration_seconds_count{operation=\"" ops[k] "\"}"]
          s = d["discovery_etcd_request_duration_seconds_sum{operation=\"" ops[k] "\"}"]
          printf " %ss=%d %s_mean_ms=%.2f", ops[k], c, ops[k], (c > 0 ? 1000 * s / c : 0)
        }
        printf " cas_conflicts=%d", d["discovery_etcd_cas_conflicts_total"]
        c = d["discovery_etcd_watch_lag_seconds_count"]
        printf " watch_events=%d watch_lag_mean_ms=%.2f", c,
          (c > 0 ? 1000 * d["discovery_etcd_watch_lag_seconds_sum"] / c : 0)
        for (k = 1; k <= nb; k++) if (c > 0 && cum[k] >= 0.99 * c) { printf " watch_lag_p99_le_s=%s", bound[k]; break }
        print ""
      }' "$work/replica-$i.$1.metrics" "$work/replica-$i.$2.metrics"
  done
}

if ((idle)); then
  if ((etcd_pid != 0)); then
    # A replica without clients: what it gains is what mirroring the store costs, apart from
    # serving writes and watches.
    start_replica observer
    observer_pid=$replica_pid observer_before=$(rss_kib "$replica_pid")
    before=$(etcd_figures)
    save_replica_metrics idle-before
  fi
  echo "replicas: idle run, load average $(load)"
  run_tool "${target[@]}" "${shape[@]}" --idle
  if ((etcd_pid != 0)); then
    observer_after=$(rss_kib "$observer_pid")
    awk -v a="$observer_before" -v b="$observer_after" -v n=$((clusters * affiliates)) 'BEGIN {
      printf "idle observer (no clients) rss_before_mib=%.1f rss_after_mib=%.1f bytes_per_affiliate=%.0f\n",
        a / 1024, b / 1024, (b - a) * 1024 / n }'
    stop_pids "$observer_pid"
    after=$(etcd_figures)
    echo "etcd before: $before"
    echo "etcd after:  $after"
    etcd_growth "$before" "$after" $((clusters * affiliates))
    save_replica_metrics idle-after
    replica_metrics idle-before idle-after
  fi
fi

((run_load)) || exit 0
if ((etcd_pid != 0)); then
  before=$(etcd_figures)
  save_replica_metrics before
fi
echo "replicas: load run, load average $(load)"
rc=0
run_tool "${target[@]}" "${shape[@]}" "${load_args[@]}" || rc=$?
echo "replicas: load average after: $(load)"
if ((etcd_pid != 0)); then
  after=$(etcd_figures)
  echo "etcd after:  $after"
  etcd_growth "$before" "$after" 0
  save_replica_metrics after
  replica_metrics before after
fi
exit "$rc"
