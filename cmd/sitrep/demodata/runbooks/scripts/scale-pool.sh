#!/bin/sh
# sitrep demo: prints what it would do; changes nothing.
set -eu
group=""
capacity=""
while [ "$#" -gt 0 ]; do
	case $1 in
	--auto-scaling-group-name) group=${2:-}; shift 2 ;;
	--desired-capacity) capacity=${2:-}; shift 2 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done
if [ -z "$group" ] || [ -z "$capacity" ]; then
	echo "usage: $0 --auto-scaling-group-name NAME --desired-capacity N" >&2
	exit 2
fi
printf 'would run: aws autoscaling set-desired-capacity --auto-scaling-group-name %s --desired-capacity %s\n' "$group" "$capacity"
echo "demo: pool $group scaled to $capacity instances, all healthy"
