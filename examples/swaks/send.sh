#!/bin/sh
# One message with swaks, TLS as the harness asks: swaks is a test tool and sends once,
# so this shows what a client without retries gets from the catalogue.
#
#   sh examples/swaks/send.sh {host} {port} {tls} {cafile}
set -u
host=$1 port=$2 tls=${3:-starttls} cafile=${4:-}
set -- --server "$host:$port" --timeout 5 --from app@example.org --to user@example.org \
    --header "Subject: Welcome" --body "Hello from swaks."
case $tls in
  starttls) set -- "$@" --tls --tls-verify ;;    # --tls: STARTTLS required
  implicit) set -- "$@" --tlsc --tls-verify ;;   # TLS from the first byte
esac
[ -n "$cafile" ] && set -- "$@" --tls-ca-path "$cafile"
exec swaks "$@"
