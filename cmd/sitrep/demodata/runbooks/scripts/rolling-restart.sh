#!/bin/sh
# sitrep demo: prints what it would do; changes nothing.
set -eu
if [ "$#" -ne 2 ] || [ "$1" != "--group" ]; then
	echo "usage: $0 --group NAME" >&2
	exit 2
fi
printf 'would restart the instances of pool %s one at a time, waiting for health checks\n' "$2"
echo "demo: every instance came back with a positive health status"
