#!/usr/bin/env bash
# A throw-away single-node SLURM cluster on this machine, to run the workflow through
# profiles/slurm without a real cluster (tests/test_slurm.py, .ci/run). Needs root and
# Debian's (or Ubuntu's) packages; it works in a container without systemd or cgroups.
#
#   bash .ci/slurm.sh install   # apt-get install slurm-wlm munge
#   bash .ci/slurm.sh start     # munged, slurmctld, slurmd; returns once a test job has run
#   bash .ci/slurm.sh status    # sinfo and squeue
#   bash .ci/slurm.sh stop      # stops the three daemons this script started
#
# The cluster: one partition "debug" holding this host with its real CPU count and memory
# and one stand-in GPU (a gpu GRES whose device file is /dev/null), so that jobs asking
# for `--gpus=1` (the training rule's gpu=1) are scheduled as on a GPU node; the training
# itself runs on whatever device the config names (CUDA_VISIBLE_DEVICES=0 is set, PyTorch
# finds no CUDA and `device: auto` falls back to the CPU). No accounting
# database (sacct/sacctmgr do not work), so Snakemake's slurm executor needs
# `--slurm-status-command squeue`; MinJobAge=3600 keeps finished jobs visible to squeue
# for an hour (the plugin wants at least 120 s; the test reads their requests from it).
# Configuration goes to /etc/slurm/{slurm,gres,cgroup}.conf (where the SLURM commands look
# for it); a configuration this script did not write is never overwritten.
set -euo pipefail

ETC=/etc/slurm
RUN=/run/featurelab-slurm
SPOOL=/var/spool/featurelab-slurm
LOG=/var/log/featurelab-slurm
MARK="# written by featurelab .ci/slurm.sh"
PARTITION=debug

die() {
  echo "slurm.sh: error: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
}

install() {
  need_root
  command -v apt-get >/dev/null || die "apt-get not found; install SLURM and MUNGE by hand"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >/dev/null
}

write_config() {
  local node cpus mem_mb f
  node=$(hostname -s)
  cpus=$(nproc)
  mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  for f in slurm.conf gres.conf cgroup.conf; do
    if [ -e "$ETC/$f" ] && ! grep -qF "$MARK" "$ETC/$f"; then
      die "$ETC/$f exists and was not written by this script; not touching this machine's SLURM"
    fi
  done
  mkdir -p "$ETC" "$RUN" "$SPOOL/ctld" "$SPOOL/d" "$LOG"
  cat >"$ETC/slurm.conf" <<EOF
$MARK: a single-node test cluster.
ClusterName=featurelab
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# no systemd and no writable cgroups in a container: track processes by /proc and
# leave task binding off
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
MinJobAge=3600
SlurmdParameters=config_overrides
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$ETC/gres.conf" <<EOF
$MARK: a stand-in GPU for scheduling only
# (gres/gpu needs a device file; /dev/null is one on every machine).
NodeName=$node Name=gpu Count=1 File=/dev/null
EOF
  cat >"$ETC/cgroup.conf" <<EOF
$MARK: no cgroup enforcement (proctrack/linuxproc, task/none).
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
}

start_munge() {
  if munge -n </dev/null >/dev/null 2>&1; then
    return 0 # a munged is already answering
  fi
  [ -s /etc/munge/munge.key ] || {
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  }
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$RUN/munged.pid"
  munge -n </dev/null | unmunge >/dev/null || fail_start "munged started but does not answer"
}

# a failed start: show why, stop what was started, exit non-zero
fail_start() {
  local f
  for f in "$LOG/slurmctld.log" "$LOG/slurmd.log"; do
    [ -e "$f" ] && { echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; }
  done
  stop >/dev/null 2>&1 || true
  die "$*"
}

start() {
  need_root
  local node state i
  for cmd in munged slurmctld slurmd sinfo srun; do
    command -v "$cmd" >/dev/null || die "$cmd not found: run 'bash .ci/slurm.sh install' (Debian/Ubuntu) first"
  done
  if sinfo -h >/dev/null 2>&1; then
    die "a SLURM controller already answers; stop it first ('bash .ci/slurm.sh stop')"
  fi
  node=$(hostname -s)
  write_config
  start_munge
  rm -rf "${SPOOL:?}/ctld/"* "${SPOOL:?}/d/"*
  : >"$LOG/slurmctld.log"
  : >"$LOG/slurmd.log"
  slurmctld -c -i || fail_start "slurmctld did not start"
  slurmd -N "$node" || fail_start "slurmd did not start"
  state=""
  for i in $(seq 1 60); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.5
  done
  [ "$state" = idle ] ||
    fail_start "node $node is '${state:-not known to slurmctld}' after 30 s instead of idle"
  # one real job step, GPU request included, as every workflow job will run
  timeout 60 srun -p "$PARTITION" -n1 -c1 --mem=100 -t 1 --gpus=1 true ||
    fail_start "the cluster came up but a test job (srun --gpus=1 true) failed"
  echo "slurm.sh: cluster up: partition '$PARTITION', node $node ($(nproc) CPUs," \
    "$(sinfo -h -n "$node" -o %m) MB, gpu:1); logs in $LOG"
  [ "$(sinfo -h -n "$node" -o %m)" -ge 8000 ] ||
    echo "slurm.sh: warning: under 8000 MB: SLURM refuses the training jobs' --mem 8000" >&2
}

stop() {
  need_root
  local f pid i
  scontrol shutdown >/dev/null 2>&1 || true
  for f in slurmctld slurmd munged; do
    [ -s "$RUN/$f.pid" ] || continue
    pid=$(cat "$RUN/$f.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for i in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$f.pid"
  done
  echo "slurm.sh: cluster stopped"
}

status() {
  sinfo && squeue --states=all
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
