#!/usr/bin/perl
# Send one message with Perl's Net::SMTP, with retries done right.
#
# Net::SMTP sends; it never retries, waits 120 s for each reply by default, and uses TLS only
# when asked (SSL => 1, or starttls()), through IO::Socket::SSL. This program sets the
# timeout, requires STARTTLS and verifies the certificate against --cafile, retries
# transient failures (4yz replies, dropped and reset connections, timeouts) with exponential
# backoff and full jitter, stops at once on permanent ones (5yz, a certificate that does
# not verify, STARTTLS not offered), and keeps one Message-ID for every attempt.
#
#   perl examples/perl-net-smtp/send.pl --host {host} --port {port} --tls {tls} --cafile {cafile}
#
# --defaults sends once as Net::SMTP's synopsis does, each call checked (only --cafile
# trusted), to show what it does out of the box. Exit code: 0 delivered, 1 gave up after
# transient failures, 2 permanent failure. --user logs in (AUTH, after STARTTLS, on every new
# connection; Authen::SASL); --messages N sends N distinct messages, one after the other
# (both default to the harness's HARNESS_SMTP_* variables).
use strict;
use warnings;
use Getopt::Long;
use IO::Socket::SSL;
use Net::SMTP;
use Time::HiRes qw(sleep);

my %opt = (host => '127.0.0.1', port => 25, tls => 'starttls', cafile => '', timeout => 5,
           attempts => 8, to => 'user@example.org,bob@example.org', defaults => 0,
           user => $ENV{HARNESS_SMTP_USER} // '', password => $ENV{HARNESS_SMTP_PASSWORD} // '',
           messages => $ENV{HARNESS_SMTP_MESSAGES} || 1);
GetOptions(\%opt, 'host=s', 'port=i', 'tls=s', 'cafile=s', 'timeout=f', 'attempts=i', 'to=s',
           'defaults', 'user=s', 'password=s', 'messages=i') or exit 2;
my @to = split /,/, $opt{to};
my $message;  # the one being sent: one Message-ID for every attempt

my %ssl = (SSL_verify_mode => SSL_VERIFY_PEER);  # the default; never SSL_VERIFY_NONE
$ssl{SSL_ca_file} = $opt{cafile} if $opt{cafile};
unless ($opt{defaults}) {
    $ssl{SSL_version} = 'SSLv23:!SSLv3:!TLSv1:!TLSv1_1';  # TLS 1.2 or later
    $ssl{SSL_cipher_list} = 'DEFAULT:@SECLEVEL=2';       # no RSA keys under 2048 bits
}

# A write to a connection the server has closed raises SIGPIPE, whose default action ends
# the process before Net::SMTP can report the failure: ignored, the write fails instead.
$SIG{PIPE} = 'IGNORE' unless $opt{defaults};

my $worst = 0;
for my $number (1 .. $opt{messages}) {
    my $id = sprintf '<%x.%d.%d@example.org>', int(rand(2**32)), $$, $number;
    $message = join "\n", 'From: app@example.org', 'To: ' . join(', ', @to),
        "Subject: Welcome $number", "Message-ID: $id", '', "Hello from Perl's Net::SMTP.", '';
    my $code = $opt{defaults} ? send_with_defaults() : deliver();
    $worst = $code if $code > $worst;
}
exit $worst;

# One message, retried on transient failures: the exit code it earns.
sub deliver {
    for my $attempt (1 .. $opt{attempts}) {
        my ($code, $error) = send_once();
        unless (defined $error) {
            print "delivered on attempt $attempt\n";
            return 0;
        }
        if (permanent($code, $error)) {
            print STDERR "permanent failure: $error\n";
            return 2;
        }
        last if $attempt == $opt{attempts};
        my $delay = rand() * min(10, 0.2 * 2**($attempt - 1));  # full jitter
        printf STDERR "attempt %d: %s; retrying in %.2fs\n", $attempt, $error, $delay;
        sleep $delay;
    }
    print STDERR "gave up after $opt{attempts} attempts\n";
    return 1;
}

sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# One attempt on a new connection: (undef, undef) when the server took the message, else the
# reply code (0 when there was none: a refused, reset or timed-out connection, a broken
# handshake) and what went wrong.
sub send_once {
    my $smtp = Net::SMTP->new($opt{host}, Port => $opt{port}, Timeout => $opt{timeout},
                              Hello => 'client.example.org',
                              ($opt{tls} eq 'implicit' ? (SSL => 1, %ssl) : ()));
    unless ($smtp) {  # the greeting, EHLO or the implicit TLS handshake: the reason is in $@
        my $why = $@ || $IO::Socket::SSL::SSL_ERROR || $! || 'no connection';
        return ($why =~ /^Net::SMTP\S*: (\d{3})/ ? $1 : 0, $why);
    }
    my $fail = sub {  # what the server said last; the connection is closed without a word
        my ($what) = @_;
        my ($code, $text) = ($smtp->code || 0, join '', $smtp->message);
        $text =~ s/\s+$//;
        $smtp->close;
        return ($code =~ /^[45]/ ? $code : 0, "$what: $code $text");
    };
    if ($opt{tls} eq 'starttls') {
        unless (defined $smtp->supports('STARTTLS')) {  # its value is '' when offered
            $smtp->quit;
            return (0, 'the server offers no STARTTLS; not sending in clear', 'permanent');
        }
        unless ($smtp->starttls(%ssl)) {
            return $fail->('STARTTLS') if $smtp->code != 220;  # the reply to STARTTLS
            my $why = $IO::Socket::SSL::SSL_ERROR || $@;     # the handshake
            $smtp->close;
            return (0, "TLS handshake: $why");
        }
    }
    if ($opt{user} ne '' && defined $smtp->supports('AUTH')) {  # over TLS: after STARTTLS
        $smtp->auth($opt{user}, $opt{password}) or return $fail->('AUTH');
    }
    $smtp->mail('app@example.org') or return $fail->('MAIL');
    # One RCPT at a time, not to(..., { SkipBad => 1 }): that skips a 421 as if it refused one
    # recipient, and sends the next RCPT on the channel the server is closing.
    my @accepted;
    for my $rcpt (@to) {
        if ($smtp->to($rcpt)) {
            push @accepted, $rcpt;
            next;
        }
        return $fail->('RCPT') unless $smtp->code =~ /^5/;  # 4yz: the whole transaction again
        print STDERR "refused recipient $rcpt: ", $smtp->code, "\n";  # 5yz: the others go on
    }
    return $fail->('RCPT') unless @accepted;
    $smtp->data or return $fail->('DATA');
    $smtp->datasend($message) or return $fail->('message');
    $smtp->dataend or return $fail->('final dot');
    $smtp->quit;  # the 250 came: a failing QUIT changes nothing
    return (undef, undef);
}

# A 5yz reply, a certificate that does not verify, STARTTLS not offered: retrying cannot help.
sub permanent {
    my ($code, $error) = @_;
    return 1 if $code >= 500;
    return 1 if $error =~ /certificate verify failed|hostname verification failed|offers no STARTTLS/;
    return 0;
}

sub send_with_defaults {
    my $smtp = Net::SMTP->new($opt{host}, Port => $opt{port},
                              ($opt{tls} eq 'implicit' ? (SSL => 1, %ssl) : ()))
        or return failed("connect: $@");
    if ($opt{tls} eq 'starttls') {
        $smtp->starttls(%ssl) or return failed('starttls: ' . $smtp->code);
    }
    if ($opt{user} ne '') {
        $smtp->auth($opt{user}, $opt{password}) or return failed('AUTH: ' . $smtp->code);
    }
    $smtp->mail('app@example.org') or return failed('MAIL: ' . $smtp->code);
    $smtp->to(@to) or return failed('RCPT: ' . $smtp->code);
    $smtp->data or return failed('DATA: ' . $smtp->code);
    $smtp->datasend($message);
    $smtp->dataend or return failed('final dot: ' . $smtp->code);
    $smtp->quit;
    print "delivered\n";
    return 0;
}

sub failed {
    print STDERR "failed: $_[0]\n";
    return 1;
}
