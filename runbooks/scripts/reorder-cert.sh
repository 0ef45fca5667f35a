#!/bin/sh
# PLACEHOLDER: replace with your real certificate re-order tooling.
# It only prints what it would do. Called by the gateway-cert-reorder runbook
# as: reorder-cert.sh --no-install DOMAIN (arguments arrive as a plain argv,
# never through a shell).
set -eu

no_install=0
if [ "${1:-}" = "--no-install" ]; then
	no_install=1
	shift
fi
if [ "$#" -ne 1 ]; then
	echo "usage: $0 [--no-install] DOMAIN" >&2
	exit 2
fi
domain=$1
case $domain in
-* | "") echo "refusing suspicious domain argument" >&2; exit 2 ;;
esac

printf 'would request a new certificate for: %s\n' "$domain"
if [ "$no_install" -eq 1 ]; then
	echo "would NOT install it (--no-install)"
else
	echo "would install it on the gateway"
fi
echo "placeholder script: nothing was changed"
