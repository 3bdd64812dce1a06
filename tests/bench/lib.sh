# Helpers sourced by the benchmark scripts in this directory (bash, set -euo pipefail).

# stop_pids PID...: SIGTERM to each, SIGKILL to those still alive 15 s later, then reaps them.
stop_pids() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1 && break; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# wait_for LOG PATTERN PID: waits until LOG has a line matching the extended regex PATTERN and
# prints its first captured group; fails, printing the log, if PID exits first or after 30 s.
wait_for() {
  local log=$1 pattern=$2 pid=$3 value
  for _ in $(seq 1 1500); do
    # The log may not exist yet: the child creates it after the fork.
    value=$(sed -nE "s/.*${pattern}.*/\\1/p" "$log" 2>/dev/null | head -n1 || true)
    if [ -n "$value" ]; then echo "$value"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$(basename "$0"): process $pid exited; its log:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.02
  done
  echo "$(basename "$0"): timed out waiting for /$pattern/ in $log" >&2
  return 1
}
