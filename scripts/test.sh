#!/usr/bin/env bash
# Install everything the tests need, then run them.
#
# Python packages come from PyPI; real non-Python SMTP clients used by the end-to-end
# tests (swaks, msmtp and Postfix from Debian, nodemailer from npm) are installed when
# this runs as root with apt-get / npm available, and the tests that need them skip
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if ! command -v swaks >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null && apt-get install -y -qq swaks >/dev/null \
    || echo "warning: could not install swaks; its tests will be skipped" >&2
fi

# msmtp and Postfix (Debian's) for the recipe tests; Postfix unconfigured, so the system's
# instance is neither set up nor started: the tests run one of their own on loopback.
if ! { command -v msmtp && { command -v postfix || [ -x /usr/sbin/postfix ]; }; } >/dev/null 2>&1 \
    && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "postfix postfix/main_mailer_type select No configuration" \
    | debconf-set-selections 2>/dev/null || true
  apt-get update -qq >/dev/null \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq msmtp postfix >/dev/null \
    || echo "warning: could not install msmtp and postfix; their tests will be skipped" >&2
fi

# nodemailer (npm's) for its recipe test, from the committed package-lock.json
if command -v npm >/dev/null 2>&1 && [ ! -d examples/nodemailer/node_modules/nodemailer ]; then
  (cd examples/nodemailer && timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || echo "warning: could not install nodemailer; its tests will be skipped" >&2
fi

# headless Chromium (Debian's package) renders the HTML report in its tests
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
      || echo "warning: could not install chromium; the HTML rendering tests will be skipped" >&2
  else
    echo "warning: chromium not found (installed here only as root with apt-get);" \
      "the HTML rendering tests will be skipped" >&2
  fi
fi

set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests (exit 5): nothing was tested" >&2
  exit 0
fi
exit "$status"
