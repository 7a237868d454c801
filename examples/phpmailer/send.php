<?php
// Send one message with PHPMailer, with retries done right.
//
// PHPMailer sends; it never retries, waits up to 300 s for a reply by default, and upgrades
// to STARTTLS only when the server advertises it (SMTPAutoTLS). This program sets the
// timeout, requires STARTTLS and verifies the certificate against --cafile, retries
// transient failures (4yz replies, dropped and reset connections, timeouts) with exponential
// backoff and full jitter on a new connection each time, stops at once on permanent ones
// (5yz, a certificate that does not verify), and keeps one Message-ID for every attempt.
//
//   php examples/phpmailer/send.php --host {host} --port {port} --tls {tls} --cafile {cafile}
//
// PHPMailer from Debian (libphp-phpmailer) or Composer (phpmailer/phpmailer); --autoload
// names its autoload.php. --defaults sends once with PHPMailer's defaults (only --cafile
// trusted), to show what it does out of the box. Exit code: 0 delivered, 1 gave up after
// transient failures, 2 permanent failure. --user logs in (AUTH, after STARTTLS, on every new
// connection); --messages N sends N distinct messages, one after the other (both default to
// the harness's HARNESS_SMTP_* variables).

declare(strict_types=1);

$opt = getopt('', ['host:', 'port:', 'tls:', 'cafile:', 'timeout:', 'attempts:', 'to:', 'autoload:', 'defaults',
                   'user:', 'password:', 'messages:']);
require $opt['autoload'] ?? '/usr/share/php/libphp-phpmailer/autoload.php';

use PHPMailer\PHPMailer\Exception as MailerException;
use PHPMailer\PHPMailer\PHPMailer;
use PHPMailer\PHPMailer\SMTP;

$tls = $opt['tls'] ?? 'starttls';
$defaults = isset($opt['defaults']);
$attempts = $defaults ? 1 : (int) ($opt['attempts'] ?? 8);

$mail = new PHPMailer(true); // true: failures are exceptions
$mail->isSMTP();
$mail->Host = $opt['host'] ?? '127.0.0.1';
$mail->Port = (int) ($opt['port'] ?? 25);
$user = $opt['user'] ?? (getenv('HARNESS_SMTP_USER') ?: '');
$mail->SMTPAuth = $user !== ''; // AUTH when offered; PHPMailer logs in after STARTTLS
$mail->Username = $user;
$mail->Password = $opt['password'] ?? (getenv('HARNESS_SMTP_PASSWORD') ?: '');
$messages = max(1, (int) ($opt['messages'] ?? (getenv('HARNESS_SMTP_MESSAGES') ?: 1)));
$ssl = ['verify_peer' => true, 'verify_peer_name' => true]; // PHP's defaults; never false
if (($opt['cafile'] ?? '') !== '') {
    $ssl['cafile'] = $opt['cafile'];
}
if ($tls === 'implicit') {
    $mail->SMTPSecure = PHPMailer::ENCRYPTION_SMTPS;
}
if (!$defaults) {
    if ($tls === 'starttls') {
        $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS; // required, not "if advertised"
    }
    $mail->SMTPAutoTLS = false; // never the opportunistic upgrade: TLS is required or not used
    $mail->Timeout = max(1, (int) ($opt['timeout'] ?? 5)); // seconds per reply; default 300
    $mail->getSMTPInstance()->Timelimit = $mail->Timeout; // the whole of a multi-line reply
    $ssl['crypto_method'] = STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT | STREAM_CRYPTO_METHOD_TLSv1_3_CLIENT;
    $ssl['security_level'] = 2; // OpenSSL: no RSA keys under 2048 bits, no SHA-1 signatures
}
$mail->SMTPOptions = ['ssl' => $ssl];

$mail->setFrom('app@example.org');
foreach (explode(',', $opt['to'] ?? 'user@example.org,bob@example.org') as $to) {
    $mail->addAddress(trim($to));
}
$mail->Body = "Hello from PHPMailer.\n";
$accepted = 0; // recipients the message went to, counted by PHPMailer's per-recipient callback
$mail->action_function = function (bool $sent) use (&$accepted): void {
    $accepted += (int) $sent;
};

// PHPMailer's exceptions say "Could not connect to SMTP host." for a refused certificate
// and a reset alike, and keep a refused recipient's reply text without its code: its debug
// output (connection level) has both, so each attempt's is kept and read
$log = '';
$mail->SMTPDebug = SMTP::DEBUG_CONNECTION;
$mail->Debugoutput = function (string $line) use (&$log): void {
    $log .= $line . "\n";
};

/** True when retrying cannot help: a 5yz reply, or a certificate that does not verify. */
function permanent(string $log): bool
{
    if (preg_match('/certificate verify failed|did not match expected CN|Peer certificate/i', $log)) {
        return true;
    }
    // the last failure reply of the attempt: 4yz transient, 5yz permanent
    preg_match_all('/^SERVER -> CLIENT: ([45]\d\d)[ -]/m', $log, $codes);
    $last = end($codes[1]);
    return $last !== false && (int) $last >= 500;
}

/** One message, retried on transient failures: the exit code it earns. */
function deliver(PHPMailer $mail, bool $defaults, int $attempts, int &$accepted, string &$log): int
{
    for ($attempt = 1;; $attempt++) {
        $accepted = 0;
        $log = '';
        try {
            $mail->send();
            echo "delivered on attempt $attempt\n";
            return 0;
        } catch (MailerException $error) {
            // PHPMailer keeps a connection that failed mid-transaction open and would reuse it:
            // close it without a word (after a 421 the server has closed its side)
            $mail->getSMTPInstance()->close();
            if ($accepted > 0) { // some recipients refused, the message went to the others: not resent
                fwrite(STDERR, "delivered on attempt $attempt; refused: {$error->getMessage()}\n");
                return 0;
            }
            if ($defaults) {
                fwrite(STDERR, "failed: {$error->getMessage()}\n");
                return 1;
            }
            if (permanent($log)) {
                fwrite(STDERR, "permanent failure: {$error->getMessage()}\n");
                return 2;
            }
            if ($attempt >= $attempts) {
                fwrite(STDERR, "gave up after $attempts attempts: {$error->getMessage()}\n");
                return 1;
            }
            $delay = mt_rand() / mt_getrandmax() * min(10.0, 0.2 * 2 ** ($attempt - 1)); // full jitter
            fwrite(STDERR, sprintf("attempt %d: %s; retrying in %.2fs\n", $attempt, $error->getMessage(), $delay));
            usleep((int) ($delay * 1e6));
        }
    }
}

$worst = 0;
for ($n = 1; $n <= $messages; $n++) {
    $mail->Subject = "Welcome $n";
    $mail->MessageID = sprintf('<%s.%d@example.org>', bin2hex(random_bytes(8)), getmypid()); // one id for every attempt
    $worst = max($worst, deliver($mail, $defaults, $attempts, $accepted, $log));
}
exit($worst);
