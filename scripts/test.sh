#!/usr/bin/env bash
# Install everything the tests need, then run them.
#
# Python packages come from PyPI; real non-Python SMTP clients used by the end-to-end
# tests (swaks from Debian, nodemailer from npm) are installed when this runs as root
# with apt-get / npm available, and the tests that need them skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if ! command -v swaks >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null && apt-get install -y -qq swaks >/dev/null \
    || echo "warning: could not install swaks; its tests will be skipped" >&2
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
