#!/usr/bin/env bash
# Convergence benchmark for machined (issue #4): one discovery-service and N machined nodes of
# one cluster on 127.0.0.1 (ephemeral ports, a state dir each under a temp dir). Reports how long
# after the last node started every node saw N members, then lets the cluster idle and reports
# per-node RSS and CPU and the discovery-service's. Builds nothing: point it at a build dir with
# the targets machined, discovery-service and tds_member_watch.
#
#   tests/bench/convergence.sh [options] N
#     -b, --build DIR     build dir (default: build)
#     --burst             start all nodes at once (default: one after another, each waiting
#                         for the previous one's "started" log line)
#     --settle S          seconds between convergence and the idle window (default 5)
#     --idle S            length of the idle window (default 30)
#     --timeout S         convergence deadline in seconds (default 120)
#     --env VAR=VALUE     set in machined's environment (repeatable), e.g. MALLOC_ARENA_MAX=2
#     --ds-arg ARG        extra discovery-service flag (repeatable), e.g. --ds-arg=--rate-limit=0
#                         (every node connects from 127.0.0.1, so by default all of them share
#                         one rate-limit bucket: 60 calls, then 15/s)
#     --smaps FILE        copy one idle node's /proc/PID/smaps_rollup and smaps to FILE{,.full}
#     --metrics FILE      give the first and last node a /metrics listener and save both at
#                         convergence into FILE (controller wake-ups and reconcile passes)
#     --logs DIR          copy every log (and core file) into DIR before the temp dir is removed
#     --cores             allow core dumps (they land in the temp dir: core_pattern permitting)
#
# Everything it starts is stopped (SIGTERM, then SIGKILL after 15 s) on exit, failure or Ctrl-C.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

build=build cores=0 burst=0 metrics_out="" settle=5 idle=30 timeout=120 smaps_out="" logs_out="" nodes=""
node_env=() ds_args=()
while (($#)); do
  case "$1" in
    -b|--build) build=$2; shift ;;
    --burst) burst=1 ;;
    --settle) settle=$2; shift ;;
    --idle) idle=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --env) node_env+=("$2"); shift ;;
    --ds-arg) ds_args+=("$2"); shift ;;
    --ds-arg=*) ds_args+=("${1#--ds-arg=}") ;;
    --smaps) smaps_out=$2; shift ;;
    --logs) logs_out=$2; shift ;;
    --cores) cores=1 ;;
    --metrics) metrics_out=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "convergence.sh: unknown option $1" >&2; exit 2 ;;
    *) nodes=$1 ;;
  esac
  shift
done
if ! [[ "$nodes" =~ ^[1-9][0-9]*$ ]]; then usage >&2; exit 2; fi

build=$(realpath "$build")
machined=$build/cmd/machined/machined
discovery=$build/cmd/discovery-service/discovery-service
probe=$build/tests/bench/tds_member_watch
for b in "$machined" "$discovery" "$probe"; do
  [ -x "$b" ] || { echo "convergence.sh: $b not built" >&2; exit 2; }
done

# Each machined holds ~a dozen descriptors, the discovery-service one connection per node and
# the probe one per node.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

[ -z "$logs_out" ] || logs_out=$(realpath -m "$logs_out")
[ -z "$metrics_out" ] || metrics_out=$(realpath -m "$metrics_out")
((cores)) && ulimit -c unlimited
work=$(mktemp -d /tmp/tds-convergence.XXXXXX)
pids=()  # every process started here; pids[0] is the discovery-service
stop_all() {
  stop_pids "${pids[@]}"
  if [ -n "$logs_out" ]; then
    mkdir -p "$logs_out"
    (cd "$work" && find . \( -name '*.log' -o -name 'core*' \) -print0 |
      xargs -0 -r cp --parents -t "$logs_out")
  fi
  cd /
  rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM
cd "$work"  # core files, if any, land here

# stamp VAR: sets VAR to the wall clock in ms since the epoch, without forking.
stamp() {
  local t=${EPOCHREALTIME/[.,]/}
  printf -v "$1" '%s' "${t:0:-3}"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU ticks (utime + stime) of each pid, one "pid ticks" line each, in one awk.
ticks() {
  local files=()
  local pid
  for pid in "$@"; do files+=("/proc/$pid/stat"); done
  awk '{ sub(/^[0-9]+ \(.*\) /, ""); split(FILENAME, p, "/"); print p[3], $12 + $13 }' "${files[@]}"
}
# VmRSS, RssAnon and RssFile in KiB of each pid: "pid rss anon file".
rss() {
  local files=()
  local pid
  for pid in "$@"; do files+=("/proc/$pid/status"); done
  awk '{ split(FILENAME, p, "/") }
       /^VmRSS:/ { r[p[3]] = $2 } /^RssAnon:/ { a[p[3]] = $2 } /^RssFile:/ { f[p[3]] = $2 }
       END { for (k in r) print k, r[k], a[k], f[k] }' "${files[@]}"
}
# Pss and private (Private_Clean + Private_Dirty, "USS") in KiB of each pid: "pid pss uss".
# RSS counts every shared-library page a process maps; these two say what it costs on its own.
pss_uss() {
  local files=()
  local pid
  for pid in "$@"; do files+=("/proc/$pid/smaps_rollup"); done
  awk '/^Pss:/ { split(FILENAME, p, "/"); pss[p[3]] = $2 }
       /^Private_(Clean|Dirty):/ { split(FILENAME, p, "/"); uss[p[3]] += $2 }
       END { for (k in pss) print k, pss[k], uss[k] }' "${files[@]}"
}
# min / median / max / sum of the numbers on stdin, as four words.
stats() { sort -n | awk '{ v[NR] = $1; s += $1 } END { print v[1], v[int((NR + 1) / 2)], v[NR], s }'; }

hz=$(getconf CLK_TCK)
echo "convergence: nodes=$nodes mode=$( ((burst)) && echo burst || echo sequential) idle=${idle}s" \
  "env=${node_env[*]:-none} discovery-service args=${ds_args[*]:-none} work=$work"
load_before=$(load)
echo "convergence: load average before: $load_before"

# No snapshot: the default path is /var/discovery-service, outside the temp dir.
"$discovery" --addr 127.0.0.1:0 --landing-addr "" --metrics-addr "" --gc-interval 30s \
  --snapshots-enabled=false "${ds_args[@]}" >"$work/discovery.log" 2>&1 &
pids+=($!)
ds_pid=$!
ds_port=$(wait_for "$work/discovery.log" 'event=listening .* port=([0-9]+)' "$ds_pid")

cluster_id=$(head -c 32 /dev/urandom | base64 -w0)
cluster_secret=$(head -c 32 /dev/urandom | base64 -w0)
node_pids=() sockets=()
write_config() {
  local i=$1 dir=$work/node-$i
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<CONFIG
version: v1alpha1
machine:
  type: $( ((i == 1)) && echo controlplane || echo worker)
  network:
    hostname: bench-node-$i
cluster:
  clusterName: bench
---
apiVersion: v1alpha1
kind: DiscoveryServiceConfig
name: local
endpoint: http://127.0.0.1:$ds_port
---
apiVersion: v1alpha1
kind: DiscoveryIdentityConfig
clusterID: $cluster_id
clusterSecret: $cluster_secret
---
apiVersion: v1alpha1
kind: HostConfig
nodename: bench-node-$i
addresses:
  - 10.0.$((i / 250)).$((i % 250 + 1))
CONFIG
}
start_node() {
  local i=$1 dir=$work/node-$i
  local extra=()
  if [ -n "$metrics_out" ] && ((i == 1 || i == nodes)); then extra=(--metrics-addr 127.0.0.1:0); fi
  # In its own dir, so that a core file (core_pattern "core") is not overwritten by another's.
  (cd "$dir" && exec env "${node_env[@]}" "$machined" --state-dir "$dir/state" \
    --config "$dir/config.yaml" --api-addr 127.0.0.1:0 --api-insecure "${extra[@]}" \
    >"$dir/machined.log" 2>&1) &
  pids+=($!)
  node_pids+=($!)
  sockets+=("$dir/state/machined.sock")
}
wait_started() {
  local i=$1
  wait_for "$work/node-$i/machined.log" 'event=(started) ' "${node_pids[$((i - 1))]}" >/dev/null
}

# Machine-wide busy CPU ticks (user+nice+system+irq+softirq+steal), to tell how much of the
# machine other processes took while the cluster formed.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

for i in $(seq 1 "$nodes"); do write_config "$i"; done
busy0=$(busy)
ds_ticks0=$(ticks "$ds_pid" | cut -d' ' -f2)
stamp t_first
for i in $(seq 1 "$nodes"); do
  stamp t_last
  start_node "$i"
  ((burst)) || wait_started "$i"
done
t_last_up=""
if ((burst)); then
  for i in $(seq 1 "$nodes"); do wait_started "$i"; done
else
  stamp t_last_up
fi
load_start=$(load)

# The probe watches every node's Members and exits when all see N (or at the deadline).
"$probe" --expect "$nodes" --timeout "$timeout" "${sockets[@]}" >"$work/probe.log" 2>&1 &
pids+=($!)
probe_pid=$!
probe_rc=0
wait "$probe_pid" || probe_rc=$?
busy1=$(busy)
stamp t_probe_done
load_converged=$(load)
dead=()
for i in $(seq 1 "$nodes"); do
  kill -0 "${node_pids[$((i - 1))]}" 2>/dev/null || dead+=("node-$i")
done
if ((${#dead[@]})); then
  echo "convergence.sh: ${#dead[@]} machined exited: ${dead[*]}; the first one's log tail:" >&2
  tail -n 5 "$work/${dead[0]}/machined.log" >&2
fi
if ((probe_rc != 0)); then
  echo "convergence.sh: not converged within ${timeout}s (probe exit $probe_rc):" >&2
  grep -v '^node ' "$work/probe.log" >&2 || true
  exit 1
fi
# Convergence is read from the nodes' stores: the created stamp of the member that made a node's
# count N (the probe may connect after that). at_ms is when the probe saw it, an upper bound.
t_all=$(sed -nE 's/^all .* created_ms=([0-9]+)/\1/p' "$work/probe.log")
t_all_seen=$(sed -nE 's/^all .* at_ms=([0-9]+) .*/\1/p' "$work/probe.log")
t_first_node=$(sed -nE 's/^node .* created_ms=([0-9]+)/\1/p' "$work/probe.log" | sort -n | head -n1)
t_median_node=$(sed -nE 's/^node .* created_ms=([0-9]+)/\1/p' "$work/probe.log" | stats | cut -d' ' -f2)
if [ -n "$metrics_out" ]; then
  : >"$metrics_out"
  for i in 1 "$nodes"; do
    port=$(sed -nE 's/.*event=started .*metrics_port=([0-9]+).*/\1/p' "$work/node-$i/machined.log")
    curl -sS "http://127.0.0.1:$port/metrics" | sed "s/^/node-$i /" >>"$metrics_out"
    ((nodes > 1)) || break
  done
fi
ds_cpu_conv=$(ticks "$ds_pid" | cut -d' ' -f2)
ours=$(( $(ticks "${node_pids[@]}" | awk '{ s += $2 } END { print s }') + ds_cpu_conv - ds_ticks0 ))
other_cores=$(awk -v b=$((busy1 - busy0)) -v o="$ours" -v hz="$hz" -v ms=$((t_probe_done - t_first)) \
  'BEGIN { printf "%.2f", (b - o) / hz / (ms / 1000) }')
read -r _ cpu_conv_median cpu_conv_max cpu_conv_sum < <(ticks "${node_pids[@]}" | cut -d' ' -f2 | stats)
read -r rss_conv_min rss_conv_median rss_conv_max _ < <(rss "${node_pids[@]}" | cut -d' ' -f2 | stats)

# Idle: let the cluster settle, then measure CPU over the window and RSS at its end.
sleep "$settle"
ticks "$ds_pid" "${node_pids[@]}" >"$work/ticks0"
sleep "$idle"
ticks "$ds_pid" "${node_pids[@]}" >"$work/ticks1"
load_idle=$(load)
rss "$ds_pid" "${node_pids[@]}" >"$work/rss"
pss_uss "${node_pids[@]}" >"$work/pss"
threads=$(awk '/^Threads:/ { print $2 }' "/proc/${node_pids[0]}/status")

if [ -n "$smaps_out" ]; then
  cp "/proc/${node_pids[0]}/smaps_rollup" "$smaps_out"
  cp "/proc/${node_pids[0]}/smaps" "$smaps_out.full"
fi

# Still converged after the idle window (the probe's bootstrap alone answers this).
"$probe" --expect "$nodes" --timeout 10 "${sockets[@]}" >"$work/probe-after.log" 2>&1 &
pids+=($!)
still=yes
wait "$!" || still=no

# Idle CPU: per node in % of one core over the window.
join <(sort "$work/ticks0") <(sort "$work/ticks1") |
  awk -v hz="$hz" -v s="$idle" '{ printf "%s %.3f\n", $1, ($3 - $2) * 100 / hz / s }' \
    >"$work/cpu"
ds_cpu=$(awk -v p="$ds_pid" '$1 == p { print $2 }' "$work/cpu")
ds_rss=$(awk -v p="$ds_pid" '$1 == p { printf "%.1f", $2 / 1024 }' "$work/rss")
read -r cpu_min cpu_median cpu_max cpu_sum < <(awk -v p="$ds_pid" '$1 != p { print $2 }' "$work/cpu" | stats)
read -r rss_min rss_median rss_max rss_sum < <(awk -v p="$ds_pid" '$1 != p { print $2 }' "$work/rss" | stats)
read -r _ anon_median _ _ < <(awk -v p="$ds_pid" '$1 != p { print $3 }' "$work/rss" | stats)
read -r _ file_median _ _ < <(awk -v p="$ds_pid" '$1 != p { print $4 }' "$work/rss" | stats)
read -r _ pss_median _ pss_sum < <(cut -d' ' -f2 "$work/pss" | stats)
read -r _ uss_median _ uss_sum < <(cut -d' ' -f3 "$work/pss" | stats)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
sec() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; }

echo
echo "| nodes | $nodes ($( ((burst)) && echo 'started together' || echo 'started one after another')) |"
echo "|---|---|"
echo "| start of first node to start of last | $(sec $((t_last - t_first))) s |"
[ -n "$t_last_up" ] && echo "| last node start to its \"started\" log line | $(sec $((t_last_up - t_last))) s |"
echo "| **convergence**: last node start -> every node has $nodes members | **$(sec $((t_all - t_last))) s** |"
echo "| last node start -> first / median node has $nodes members | $(sec $((t_first_node - t_last))) / $(sec $((t_median_node - t_last))) s |"
echo "| last node start -> probe saw all (upper bound, includes the probe's connect) | $(sec $((t_all_seen - t_last))) s |"
echo "| machined CPU from exec to convergence (median / max / total) | $(sec $((cpu_conv_median * 1000 / hz))) / $(sec $((cpu_conv_max * 1000 / hz))) / $(sec $((cpu_conv_sum * 1000 / hz))) s |"
echo "| discovery-service CPU from exec to convergence | $(sec $((ds_cpu_conv * 1000 / hz))) s |"
echo "| machined RSS at convergence (min / median / max) | $(mib "$rss_conv_min") / $(mib "$rss_conv_median") / $(mib "$rss_conv_max") MiB |"
echo "| machined idle RSS (min / median / max) | $(mib "$rss_min") / $(mib "$rss_median") / $(mib "$rss_max") MiB |"
echo "| machined idle RSS: anonymous / file-backed (median) | $(mib "$anon_median") / $(mib "$file_median") MiB |"
echo "| machined idle RSS, all nodes | $(mib "$rss_sum") MiB |"
echo "| machined idle PSS / private (USS), median per node | $(mib "$pss_median") / $(mib "$uss_median") MiB |"
echo "| machined idle PSS, all nodes | $(mib "$pss_sum") MiB |"
echo "| machined idle CPU per node, % of one core (min / median / max) | $cpu_min / $cpu_median / $cpu_max |"
echo "| machined idle CPU, all nodes, % of one core | $(awk -v s="$cpu_sum" "BEGIN { printf \"%.3f\", s }") |"
echo "| machined threads (node 1) | $threads |"
echo "| discovery-service idle RSS / CPU | $ds_rss MiB / $ds_cpu % |"
echo "| still $nodes members everywhere after idling | $still |"
echo "| other processes' CPU from first start to convergence, in cores (of $(nproc)) | $other_cores |"
echo "| load average (1/5/15 min): before / all started / converged / end of idle | $load_before / $load_start / $load_converged / $load_idle |"
echo
echo "convergence: ${idle}s idle window after ${settle}s settle; CPU from utime+stime, RSS from VmRSS"
[ "$still" = yes ]
