#!/usr/bin/env bash
# The YakirOS VM test suite, from a fresh machine:
#   ./run.sh setup          install the host packages (apt, needs root or sudo)
#   ./run.sh [dotnet test arguments...]
#                           check prerequisites, build the guest image if needed, run every test,
#                           write TRX + JUnit into TestResults/<run>/ and print a summary
#   ./run.sh check          only check prerequisites (YAKIROS_VMHOST=container: only dotnet and a Docker engine)
#   ./run.sh prepare        only build (or find) the cached guest image
#   ./run.sh soak [--duration 24h] [--report-interval 1h] [--cycles 1000]
#                           only the soak test, for as long as asked (reports in TestResults/<run>/soak/)
#   ./run.sh bench [--cold] [--rounds N]
#                           benchmark: image build, boot-to-SSH, command latency, restore vs cold boot
# Extra arguments go to `dotnet test`, e.g. ./run.sh --filter Category=Harness
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(qemu-system-x86 qemu-utils mmdebstrap fakechroot fakeroot e2fsprogs kmod cpio zstd lz4 openssh-client)
# command:package pairs the suite needs on the host
REQUIRED=(qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs
          modprobe:kmod cpio:cpio zstd:zstd lz4:lz4 ssh-keygen:openssh-client ssh:openssh-client)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# Where the VM runs (YAKIROS_VMHOST): host needs the host packages; container needs only a Docker engine;
# auto takes the host when its packages are there, else a container when an engine answers.
check() {
  if ! have dotnet; then
    echo "missing: the .NET SDK (dotnet). Install the .NET 10 SDK: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
    return 1
  fi
  case "${YAKIROS_VMHOST:-auto}" in
    [Cc]ontainer) tool engine ;;
    [Hh]ost) check_host ;;
    *) check_host || { echo "host QEMU cannot run the guest; looking for a container engine (YAKIROS_VMHOST=auto)" >&2; tool engine; } ;;
  esac
}

check_host() {
  local missing=() pkgs=()
  for pair in "${REQUIRED[@]}"; do
    have "${pair%%:*}" || { missing+=("${pair%%:*}"); pkgs+=("${pair##*:}"); }
  done
  if [ "$(id -u)" != 0 ] && ! have fakechroot && ! have fakeroot; then missing+=(fakechroot); pkgs+=(fakechroot fakeroot); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing host programs: ${missing[*]}" >&2
    echo "install them with:  ./run.sh setup   (or: sudo apt-get install -y $(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' '))" >&2
    return 1
  fi
  echo "prerequisites: ok (dotnet $(dotnet --version), $(qemu-system-x86_64 --version | head -1))"
}

setup() {
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  say "installing host packages: ${APT_PACKAGES[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  check
}

TOOL_DLL=Yakiros.VmTool/bin/Release/net10.0/Yakiros.VmTool.dll
tool() {
  [ -n "${TOOL_BUILT:-}" ] || { dotnet build Yakiros.VmTool -c Release --nologo -v q -clp:NoSummary >/dev/null || dotnet build Yakiros.VmTool -c Release --nologo; TOOL_BUILT=1; }
  dotnet "$TOOL_DLL" "$@"
}

run_tests() {
  local started=$SECONDS
  check
  say "guest image"
  tool prepare
  local run_id results
  run_id=$(date +%Y%m%d-%H%M%S)
  results="TestResults/$run_id"
  say "dotnet test -> $results"
  local rc=0
  # -m:1: one test assembly at a time, so the harness self-test VMs never share the 2 cores with the YakirOS guest
  YAKIROS_RESULTSDIR="$PWD/$results" dotnet test Yakiros.sln -c Release --nologo -m:1 \
    --results-directory "$results" \
    --logger "trx" \
    --logger "junit;LogFilePath=$PWD/$results/{assembly}.junit.xml;MethodFormat=Class;FailureBodyFormat=Verbose" \
    --logger "console;verbosity=normal" \
    "$@" || rc=$?
  say "summary ($results)"
  tool summary "$results" || true
  say "wall time: $((SECONDS - started)) s for ./run.sh $* (the default run's targets under TCG, warm cache: 180 s with a correct YakirOS, 240 s with the published one)"
  return $rc
}

soak() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --duration) export YAKIROS_SOAK__DURATION="$2"; shift 2 ;;
      --report-interval) export YAKIROS_SOAK__REPORTINTERVAL="$2"; shift 2 ;;
      --cycles) export YAKIROS_SOAK__CYCLES="$2"; shift 2 ;;
      --sample-interval) export YAKIROS_SOAK__SAMPLEINTERVAL="$2"; shift 2 ;;
      *) echo "soak: unknown option $1 (use --duration 24h --report-interval 1h --cycles 1000 [--sample-interval 1m])" >&2; return 64 ;;
    esac
  done
  # without options: 60 s, a report every 20 s, 10 cycles (the default suite runs a 12-s smoke of the same test)
  export YAKIROS_SOAK__DURATION="${YAKIROS_SOAK__DURATION:-60s}" YAKIROS_SOAK__REPORTINTERVAL="${YAKIROS_SOAK__REPORTINTERVAL:-20s}" \
         YAKIROS_SOAK__CYCLES="${YAKIROS_SOAK__CYCLES:-10}"
  say "soak: $YAKIROS_SOAK__DURATION, report every $YAKIROS_SOAK__REPORTINTERVAL, $YAKIROS_SOAK__CYCLES restart cycles"
  run_tests --filter Category=Soak
}

case "${1:-test}" in
  setup) setup ;;
  check) check ;;
  prepare) check && tool prepare ;;
  bench) shift; check && tool bench "$@" ;;
  soak) shift; soak "$@" ;;
  test) shift || true; run_tests "$@" ;;
  *) run_tests "$@" ;;
esac
