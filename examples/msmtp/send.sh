#!/bin/sh
# Send one message with msmtp, with retries done right.
#
# msmtp sends once and exits; its exit code (sysexits) does not tell a 4yz from a 5yz
# reply (451 and 554 after the final dot both exit 69), so this wrapper reads the
# server's reply code from msmtp's own message. It retries transient failures (4yz,
# dropped or reset connections, timeouts, a TLS handshake that breaks) with exponential
# backoff and full jitter, stops at once on permanent ones (5yz, a certificate that does
# not verify, STARTTLS not offered), and sends the same message, one Message-ID, each time.
#
#   sh examples/msmtp/send.sh {host} {port} {tls} {cafile}
#
# TLS is none, starttls or implicit; CAFILE is the CA bundle to trust (empty: the system's).
# Exit code: 0 delivered, 1 gave up after transient failures, 2 permanent failure.
set -u
host=$1 port=$2 tls=${3:-starttls} cafile=${4:-}
attempts=${SEND_ATTEMPTS:-8} timeout=${SEND_TIMEOUT:-5}

set -- --host="$host" --port="$port" --timeout="$timeout" --auth=off \
    --from=app@example.org --tls-certcheck=on \
    --tls-priorities="NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:%PROFILE_MEDIUM"
case $tls in
  starttls) set -- "$@" --tls=on --tls-starttls=on ;;  # --tls=on: no STARTTLS, no mail
  implicit) set -- "$@" --tls=on --tls-starttls=off ;;
  none) set -- "$@" --tls=off ;;
  *) echo "unknown TLS mode: $tls" >&2; exit 2 ;;
esac
if [ -n "$cafile" ]; then
  set -- "$@" --tls-trust-file="$cafile"
else
  set -- "$@" --tls-trust-file=system
fi

message=$(mktemp) log=$(mktemp)
trap 'rm -f "$message" "$log"' EXIT
printf 'From: app@example.org\r\nTo: user@example.org\r\nSubject: Welcome\r\nMessage-ID: <%s.%s@example.org>\r\n\r\nHello from msmtp.\r\n' \
  "$(date +%s)" "$$" > "$message"

attempt=1
while :; do
  msmtp "$@" -- user@example.org < "$message" > "$log" 2>&1
  status=$?
  if [ "$status" = 0 ]; then
    echo "delivered on attempt $attempt"
    exit 0
  fi
  cat "$log" >&2
  reply=$(sed -n 's/.*server message: \([2-5][0-9][0-9]\).*/\1/p' "$log" | tail -n 1)
  case $reply in
    5*) echo "permanent failure ($reply)" >&2; exit 2 ;;
    4*) ;;  # transient: retry
    *)
      # No reply code: 74 (EX_IOERR, a network error or timeout) and 76 (EX_PROTOCOL, a
      # broken TLS handshake) are transient; a certificate that does not verify, or no
      # STARTTLS where it is required, are not.
      if grep -q -i -e 'certificate' -e 'does not support TLS' "$log"; then
        echo "permanent failure (TLS)" >&2; exit 2
      fi
      case $status in 74|75|76) ;; *) echo "permanent failure (exit $status)" >&2; exit 2 ;; esac
      ;;
  esac
  if [ "$attempt" -ge "$attempts" ]; then
    echo "gave up after $attempts attempts" >&2
    exit 1
  fi
  # full jitter: uniform(0, min(10, 0.2 * 2^(n-1))); awk's srand() alone seeds with the
  # current second, which would give every attempt in that second the same draw (and
  # mawk clamps large seeds: two random bytes are enough)
  seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  delay=$(awk -v n="$attempt" -v seed="$seed" \
    'BEGIN { srand(seed); c = 0.2 * 2 ^ (n - 1); if (c > 10) c = 10; printf "%.3f", rand() * c }')
  echo "attempt $attempt failed (exit $status); retrying in ${delay}s" >&2
  sleep "$delay"
  attempt=$((attempt + 1))
done
