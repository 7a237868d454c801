# Send one message with Ruby's mail gem (over net-smtp), with retries done right.
#
# The mail gem sends; it never retries, upgrades to STARTTLS only when the server
# advertises it (enable_starttls_auto), and leaves net-smtp's timeouts at 30 s to connect
# and 60 s per read. This program sets both timeouts, requires STARTTLS and verifies the
# certificate against --cafile, retries transient failures (4yz replies, dropped and reset
# connections, timeouts) with exponential backoff and full jitter, stops at once on
# permanent ones (5yz, a certificate that does not verify, STARTTLS not offered), and
# keeps one Message-ID for every attempt.
#
#   ruby examples/ruby-mail/send.rb --host {host} --port {port} --tls {tls} --cafile {cafile}
#
# --defaults sends once with the gem's defaults (only --cafile trusted), to show what it
# does out of the box. Exit code: 0 delivered, 1 gave up after transient failures,
# 2 permanent failure. --user logs in (AUTH PLAIN, after STARTTLS, on every new connection);
# --messages N sends N distinct messages, one after the other (both default to the harness's
# HARNESS_SMTP_* variables).

require 'mail'
require 'net/smtp'
require 'openssl'
require 'optparse'
require 'securerandom'

options = { host: '127.0.0.1', port: 25, tls: 'starttls', cafile: nil, timeout: 5.0,
            attempts: 8, to: 'user@example.org,bob@example.org', defaults: false,
            user: ENV.fetch('HARNESS_SMTP_USER', ''), password: ENV.fetch('HARNESS_SMTP_PASSWORD', ''),
            messages: [ENV.fetch('HARNESS_SMTP_MESSAGES', '1').to_i, 1].max }
OptionParser.new do |parser|
  parser.on('--host HOST') { |v| options[:host] = v }
  parser.on('--port PORT', Integer) { |v| options[:port] = v }
  parser.on('--tls MODE', %w[none starttls implicit]) { |v| options[:tls] = v }
  parser.on('--cafile FILE') { |v| options[:cafile] = v unless v.empty? }
  parser.on('--timeout SECONDS', Float) { |v| options[:timeout] = v }
  parser.on('--attempts N', Integer) { |v| options[:attempts] = v }
  parser.on('--to LIST') { |v| options[:to] = v }
  parser.on('--defaults') { options[:defaults] = true }
  parser.on('--user NAME') { |v| options[:user] = v }
  parser.on('--password SECRET') { |v| options[:password] = v }
  parser.on('--messages N', Integer) { |v| options[:messages] = v }
end.parse!

settings = { address: options[:host], port: options[:port], ca_file: options[:cafile] }
settings[:tls] = true if options[:tls] == 'implicit'
unless options[:user].empty?
  settings.update(user_name: options[:user], password: options[:password], authentication: :plain)
end
unless options[:defaults]
  settings[:enable_starttls] = true if options[:tls] == 'starttls' # required, not "if offered"
  settings[:enable_starttls_auto] = false # never the opportunistic upgrade
  settings[:openssl_verify_mode] = 'peer' # the default; never 'none'
  settings[:open_timeout] = options[:timeout] # default 30 s
  settings[:read_timeout] = options[:timeout] # default 60 s, per read
end

# After the 250 to the final dot the message is the server's: net-smtp's QUIT, which comes
# after, raises when the server has closed the connection (close-after-250), and a retry
# would deliver it twice. This delivery method remembers that the 250 came.
class AcceptedSMTP < Mail::SMTP
  attr_reader :accepted

  def deliver!(mail)
    @accepted = false
    super
  end

  private

  def start_smtp_session
    super { |smtp| yield(smtp).tap { @accepted = true } }
  end
end

# net-smtp raises SMTPFatalError and SMTPSyntaxError for 5yz replies, SMTPServerBusy for
# 4yz, SMTPUnsupportedCommand when STARTTLS is not offered, and OpenSSL's SSLError for a
# certificate that does not verify as for a handshake that breaks.
PERMANENT = [Net::SMTPFatalError, Net::SMTPSyntaxError, Net::SMTPAuthenticationError,
             Net::SMTPUnsupportedCommand].freeze
TRANSIENT = [Net::SMTPServerBusy, Net::SMTPUnknownError, Net::OpenTimeout, Net::ReadTimeout,
             EOFError, IOError, SystemCallError, OpenSSL::SSL::SSLError].freeze

def permanent?(error)
  # net-smtp raises SMTPAuthenticationError for any reply to AUTH but 2yz and 334, the
  # transient 454 and 421 too: its code decides
  return error.message.start_with?('5') if error.is_a?(Net::SMTPAuthenticationError)
  return true if PERMANENT.any? { |kind| error.is_a?(kind) }
  # the certificate, not the handshake: the same certificate comes back next time
  error.is_a?(OpenSSL::SSL::SSLError) &&
    error.message.match?(/certificate verify failed|does not match the server certificate/)
end

def message(number, options, settings)
  mail = Mail.new do
    from 'app@example.org'
    to options[:to].split(',')
    subject "Welcome #{number}"
    body "Hello from Ruby's mail gem.\n"
  end
  mail.message_id = "<#{SecureRandom.hex(8)}.#{Process.pid}@example.org>" # one id for every attempt
  mail.delivery_method AcceptedSMTP, settings
  mail
end

# Send once with the gem's defaults: the exit code it earns.
def send_with_defaults(mail)
  mail.deliver!
  puts 'delivered'
  0
rescue StandardError => e
  warn "failed: #{e.class}: #{e.message}"
  1
end

# One message, retried on transient failures: the exit code it earns.
def deliver(mail, options)
  (1..options[:attempts]).each do |attempt|
    begin
      mail.deliver!
      puts "delivered on attempt #{attempt}"
      return 0
    rescue *PERMANENT, *TRANSIENT => e
      if mail.delivery_method.accepted
        warn "delivered on attempt #{attempt}; then #{e.class}: #{e.message}"
        return 0
      end
      if permanent?(e)
        warn "permanent failure: #{e.class}: #{e.message}"
        return 2
      end
      break if attempt == options[:attempts]

      delay = rand * [10.0, 0.2 * 2**(attempt - 1)].min # full jitter
      warn format('attempt %d: %s: %s; retrying in %.2fs', attempt, e.class, e.message.strip, delay)
      sleep delay
    end
  end
  warn "gave up after #{options[:attempts]} attempts"
  1
end

codes = (1..options[:messages]).map do |number|
  mail = message(number, options, settings)
  options[:defaults] ? send_with_defaults(mail) : deliver(mail, options)
end
exit codes.max
