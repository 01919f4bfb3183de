#!/usr/bin/env bash
# engine.sh start STATE_DIR | stop STATE_DIR
#
# Starts a private Docker engine (Debian's docker.io) for the container VM host, and stops it again leaving the
# machine as it was found: its state lives in STATE_DIR (data root, exec root, socket, pid),
# and at stop the docker0 bridge and the iptables rules it added are removed when they were not there before.
#   start: prints `export DOCKER_HOST=unix://STATE_DIR/docker.sock` on stdout once the engine answers.
#   stop:  stops the engine by its pid, restores iptables, deletes docker0 (if it made it) and STATE_DIR.
# Storage driver: overlay2 where the kernel has overlayfs (a container starts in about a second), else vfs (every
# container copies its whole image: several seconds); YAKIROS_ENGINE_STORAGE=vfs|overlay2 forces one.
# Needs root (dockerd does). Used by .ci/run when no engine answers.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 64; }
log() { printf '[engine] %s\n' "$*" >&2; }

start() {
  command -v dockerd >/dev/null || { log "dockerd not found: apt-get install -y --no-install-recommends docker.io"; exit 3; }
  [ "$(id -u)" = 0 ] || { log "dockerd needs root: run as root (CI does), or use the engine your system already runs"; exit 3; }
  mkdir -p "$dir"
  # what the machine had before, so that stop can put it back
  if command -v iptables-save >/dev/null; then
    iptables-save >"$dir/iptables.before" 2>/dev/null || true
  fi
  cat /proc/sys/net/ipv4/ip_forward >"$dir/ip_forward.before" 2>/dev/null || true
  ip link show docker0 >/dev/null 2>&1 && touch "$dir/docker0.existed" || true
  local driver=${YAKIROS_ENGINE_STORAGE:-}
  if [ -z "$driver" ]; then
    if grep -qw overlay /proc/filesystems && launch overlay2; then return 0; fi
    log "overlay2 is not usable here; starting the engine with the vfs driver"
    driver=vfs
  fi
  launch "$driver" || { log "dockerd did not start with --storage-driver $driver; its log:"; tail -20 "$dir/dockerd.log" >&2; exit 1; }
}

# launch DRIVER: starts dockerd and waits up to 30 s for it to answer (about 2-5 s here); prints the DOCKER_HOST line.
launch() {
  dockerd --data-root "$dir/root" --exec-root "$dir/exec" -H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
    --storage-driver "$1" >"$dir/dockerd.log" 2>&1 &
  local launcher=$! i
  echo "$launcher" >"$dir/dockerd.launcher.pid"
  for i in $(seq 1 150); do
    if DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
      log "engine up ($1): $(DOCKER_HOST="unix://$dir/docker.sock" docker version --format 'Docker {{.Server.Version}}, API {{.Server.APIVersion}}')"
      echo "export DOCKER_HOST=unix://$dir/docker.sock"
      return 0
    fi
    kill -0 "$launcher" 2>/dev/null || return 1
    sleep 0.2
  done
  kill -TERM "$launcher" 2>/dev/null || true
  return 1
}

# Puts back the rules saved at start; where there were none, removes what dockerd added (its chains, the FORWARD
# DROP policy, and the filter/nat tables themselves where nft can delete them).
restore_iptables() {
  command -v iptables >/dev/null || return 0
  if [ -s "$dir/iptables.before" ]; then
    iptables-restore <"$dir/iptables.before" 2>/dev/null || log "could not restore iptables (compare with $dir/iptables.before)"
    return 0
  fi
  local t
  for t in filter nat; do
    iptables -t "$t" -F 2>/dev/null || true
    iptables -t "$t" -X 2>/dev/null || true
  done
  iptables -t filter -P FORWARD ACCEPT 2>/dev/null || true
  if command -v nft >/dev/null; then
    nft delete table ip filter 2>/dev/null || true
    nft delete table ip nat 2>/dev/null || true
  fi
}

stop() {
  [ -d "$dir" ] || return 0
  local pid=""
  [ -f "$dir/dockerd.pid" ] && pid=$(cat "$dir/dockerd.pid")
  [ -n "$pid" ] || { [ -f "$dir/dockerd.launcher.pid" ] && pid=$(cat "$dir/dockerd.launcher.pid"); }
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # containers first (their QEMU with them), then the engine
    DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://$dir/docker.sock" docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$pid"
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "dockerd ignored SIGTERM for 20 s; killing it"; kill -KILL "$pid"; }
  fi
  # the engine's own containerd, by its pid file (dockerd normally stops it itself)
  if [ -f "$dir/exec/containerd/containerd.pid" ]; then
    pid=$(cat "$dir/exec/containerd/containerd.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  restore_iptables
  [ -f "$dir/ip_forward.before" ] && cat "$dir/ip_forward.before" >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  [ -e "$dir/docker0.existed" ] || ip link delete docker0 2>/dev/null || true
  # vfs layers hold root-owned files and mounts may linger under exec/
  grep -F "$dir" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
  log "engine stopped; state $dir removed"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 64 ;;
esac
