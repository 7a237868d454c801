#!/usr/bin/env bash
# Install everything the tests need, then run them.
#
# Python packages come from PyPI; the real non-Python clients of the end-to-end tests
# (Debian's swaks, msmtp, Postfix, Chromium, Jakarta Mail, Go, PHPMailer, Ruby's mail gem
# and Perl's IO::Socket::SSL; nodemailer from npm) are installed when this runs as root with
# apt-get, or npm, available; the tests that need them skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Debian's packages for the real-client tests: swaks, msmtp and Postfix (unconfigured, so
# the system's instance is neither set up nor started: the tests run their own on
# loopback), headless Chromium, which renders the HTML report, and the recipes' libraries in
# other languages: Jakarta Mail with a JDK, Go, PHPMailer, Ruby's mail gem, and
# IO::Socket::SSL for Perl's Net::SMTP (each example is compiled once per test session).
missing=()
command -v swaks >/dev/null 2>&1 || missing+=(swaks)
command -v msmtp >/dev/null 2>&1 || missing+=(msmtp)
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || missing+=(postfix)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
[ -f /usr/share/java/jakarta-mail.jar ] || missing+=(libjakarta-mail-java)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v php >/dev/null 2>&1 || missing+=(php-cli)
[ -f /usr/share/php/libphp-phpmailer/autoload.php ] || missing+=(libphp-phpmailer)
ruby -e 'require "mail"' >/dev/null 2>&1 || missing+=(ruby-mail)
perl -MIO::Socket::SSL -e 1 >/dev/null 2>&1 || missing+=(libio-socket-ssl-perl)
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "postfix postfix/main_mailer_type select No configuration" \
      | debconf-set-selections 2>/dev/null || true
    { apt-get update -qq >/dev/null \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || echo "warning: could not install ${missing[*]}; their tests will be skipped" >&2
  else
    echo "warning: ${missing[*]} not found (installed here only as root with apt-get);" \
      "their tests will be skipped" >&2
  fi
fi

# nodemailer (npm's) for its recipe test, from the committed package-lock.json
if command -v npm >/dev/null 2>&1 && [ ! -d examples/nodemailer/node_modules/nodemailer ]; then
  (cd examples/nodemailer && timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || echo "warning: could not install nodemailer; its tests will be skipped" >&2
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
