#!/bin/bash
# Time a command under an older commit and under this checkout, alternating, in one VM
# moment (the VM's speed drifts by a third within a session: compare only interleaved runs).
#
#   bench/interleave.sh OLD_COMMIT ROUNDS -- segmentation score --data /tmp/bench72/data
#
# Runs `python -m training.cli ARGS...` (the words after `--`, without `segmentation`) from
# a git worktree of OLD_COMMIT and from this checkout, with this checkout's .venv; removes
# $SEGMENTATION_HOME/segments.db* before each run (a fresh store), or, with STORE_FROM=DIR,
# copies DIR/segments.db* in instead (a store holding the previous period, to time a new
# one); prints the wall seconds.
set -euo pipefail
old=$1 rounds=$2
shift 2
[ "$1" = "--" ] && shift
[ "$1" = "segmentation" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d /tmp/interleave.XXXXXX)
git -C "$here" worktree add -f --detach "$tree" "$old" >/dev/null
trap 'git -C "$here" worktree remove --force "$tree"' EXIT
for round in $(seq "$rounds"); do
  for checkout in "$tree" "$here"; do
    rm -f "${SEGMENTATION_HOME:?set SEGMENTATION_HOME}"/segments.db*
    if [ -n "${STORE_FROM:-}" ]; then cp "$STORE_FROM"/segments.db* "$SEGMENTATION_HOME"/; fi
    start=$(date +%s.%N)
    (cd "$checkout" && "$here/.venv/bin/python" -m training.cli "$@" >/dev/null 2>&1)
    label=$([ "$checkout" = "$here" ] && echo "this checkout" || echo "$old")
    echo "round $round  $label  $(echo "$(date +%s.%N) - $start" | bc) s"
  done
done
