#!/bin/sh
# PLACEHOLDER: replace with your real rolling-restart tooling. It only prints
# what it would do.
set -eu

group=""
batch=1
while [ "$#" -gt 0 ]; do
	case $1 in
	--group) group=${2:-}; shift 2 ;;
	--batch-size) batch=${2:-}; shift 2 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done
if [ -z "$group" ]; then
	echo "usage: $0 --group NAME [--batch-size N]" >&2
	exit 2
fi
printf 'would restart the instances of pool %s, %s at a time, waiting for each batch to pass health checks\n' "$group" "$batch"
echo "placeholder script: nothing was changed"
