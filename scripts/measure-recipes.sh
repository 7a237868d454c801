#!/usr/bin/env bash
# Measure the recipes in other languages against the whole built-in catalogue, each with the
# example's configuration and with the library's defaults (--defaults: one attempt, no retry
# loop), keep each run's report in docs/recipes/reports/, and rebuild docs/recipes/matrix.md
# from them. One client at a time, two scenarios at once: the machine's cores are shared.
#
#   bash scripts/measure-recipes.sh [--only SCENARIO,...] [CLIENT...]
#                                          (CLIENT: go java php ruby perl; default all)
#
# --only measures just those scenarios (new ones, say) and merges them into the kept
# reports, which record it; without it, every report is replaced.
#
# Defaults runs get a 30 s time limit per scenario: libraries without timeouts otherwise
# hang until each scenario's own limit (up to 90 s), and the verdict is the same.
set -euo pipefail
cd "$(dirname "$0")/.."

reports=docs/recipes/reports
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
commit=$(git rev-parse HEAD)
# measured with changes not committed yet: say so, the commit alone would not reproduce it
git diff --quiet HEAD -- harness scenarios examples || commit="$commit+uncommitted"
jakarta=/usr/share/java/jakarta-mail.jar:/usr/share/java/jakarta-activation.jar
placeholders=(--host {host} --port {port} --tls {tls} --cafile {cafile})

measure() {  # NAME CLIENT VERSION SHOWN-COMMAND -- COMMAND...
  local name=$1 client=$2 version=$3 shown=$4
  shift 5
  for configuration in recipe defaults; do
    local extra=(--timeout 2) limit=() env=()
    if [ "$configuration" = defaults ]; then extra=(--defaults); limit=(--timeout 30); fi
    if [ "$name" = go-net-smtp ]; then
      extra=("${extra[@]/#--/-}")
      # the defaults trust the system's CAs only: point Go at the harness's
      [ "$configuration" = defaults ] && env=(env "SSL_CERT_FILE={cafile}")
    fi
    echo "== $name, $configuration" >&2
    harness run -j 2 "${limit[@]}" --json "$build/report.json" "${only[@]}" \
      -- "${env[@]}" "$@" "${extra[@]}" \
      > "$build/console.txt" || true
    tail -1 "$build/console.txt" >&2
    python -m harness.scorecard_matrix add "$build/report.json" \
      --out "$reports/$name.$configuration.json" --client "$client" --version "$version" \
      --configuration "$configuration" --commit "$commit" "${merge[@]}" \
      --command "harness run -j 2${limit[*]:+ ${limit[*]}} -- ${env[*]:+${env[*]} }$shown ${extra[*]}"
  done
}

only=() merge=()
if [ "${1:-}" = --only ]; then
  IFS=, read -r -a only <<< "$2"
  merge=(--merge)
  shift 2
fi
selected=("$@")
chosen() { [ ${#selected[@]} -eq 0 ] || [[ " ${selected[*]} " == *" $1 "* ]]; }

if chosen go; then
  (cd examples/go-net-smtp && go build -o "$build/send" .)
  measure go-net-smtp "Go net/smtp" "$(go env GOVERSION)" \
    "examples/go-net-smtp/send -host {host} -port {port} -tls {tls} -cafile {cafile}" \
    -- "$build/send" -host {host} -port {port} -tls {tls} -cafile {cafile}
fi
if chosen java; then
  javac -cp "$jakarta" -d "$build/java" examples/jakarta-mail/SendMail.java
  version="2.0 ($(dpkg-query -W -f '${Version}' libjakarta-mail-java 2>/dev/null || echo '?'), Java $(java -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.version = //p'))"
  measure jakarta-mail "Jakarta Mail" "$version" \
    "java -cp \"build:\$JAKARTA_MAIL\" SendMail ${placeholders[*]}" \
    -- java -cp "$build/java:$jakarta" SendMail "${placeholders[@]}"
fi
if chosen php; then
  version=$(php -r 'require "/usr/share/php/libphp-phpmailer/autoload.php"; echo PHPMailer\PHPMailer\PHPMailer::VERSION, " (PHP ", PHP_VERSION, ")";')
  measure phpmailer "PHPMailer" "$version" \
    "php examples/phpmailer/send.php ${placeholders[*]}" \
    -- php examples/phpmailer/send.php "${placeholders[@]}"
fi
if chosen ruby; then
  version=$(ruby -e 'require "mail"; require "net/smtp"; print Mail::VERSION::STRING, " (net-smtp ", Net::SMTP::VERSION, ", Ruby ", RUBY_VERSION, ")"')
  measure ruby-mail "Ruby mail" "$version" \
    "ruby examples/ruby-mail/send.rb ${placeholders[*]}" \
    -- ruby examples/ruby-mail/send.rb "${placeholders[@]}"
fi
if chosen perl; then
  version=$(perl -MNet::SMTP -MIO::Socket::SSL -e 'print "$Net::SMTP::VERSION (IO::Socket::SSL $IO::Socket::SSL::VERSION, Perl ", sprintf("%vd", $^V), ")"')
  measure perl-net-smtp "Perl Net::SMTP" "$version" \
    "perl examples/perl-net-smtp/send.pl ${placeholders[*]}" \
    -- perl examples/perl-net-smtp/send.pl "${placeholders[@]}"
fi

python -m harness.scorecard_matrix build "$reports" --out docs/recipes/matrix.md --pages docs/recipes
echo "docs/recipes/matrix.md rebuilt from $reports" >&2
