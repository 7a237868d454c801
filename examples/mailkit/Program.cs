// Send one message with MailKit, with retries done right.
//
// MailKit's SmtpClient sends; it never retries, waits 2 minutes per operation by default,
// and SecureSocketOptions.Auto upgrades to STARTTLS only when the server advertises it. This
// program sets the timeout, requires STARTTLS and verifies the certificate against --cafile
// (refusing RSA keys under 2048 bits and SHA-1 signatures on every platform), retries
// transient failures (4yz replies, dropped and reset connections, timeouts) with Polly's
// exponential backoff and jitter on a new client each time, stops at once on permanent ones
// (5yz, a certificate that does not verify, STARTTLS not offered), and keeps one
// Message-ID for every attempt.
//
//   dotnet publish -c Release -o out
//   dotnet out/SendMail.dll --host {host} --port {port} --tls {tls} --cafile {cafile}
//
// --defaults sends once with MailKit's defaults (only --cafile trusted), to show what it
// does out of the box. Exit code: 0 delivered, 1 gave up after transient failures,
// 2 permanent failure.

using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MimeKit.Utils;
using Polly;
using Polly.Retry;

var defaults = args.Contains("--defaults");
var opt = args.Where(a => a != "--defaults").Chunk(2)
    .ToDictionary(p => p[0].TrimStart('-'), p => p.Length > 1 ? p[1] : "");
string host = opt.GetValueOrDefault("host", "127.0.0.1");
string tls = opt.GetValueOrDefault("tls", "starttls");
int port = int.Parse(opt.GetValueOrDefault("port", "25"));
string? caFile = string.IsNullOrEmpty(opt.GetValueOrDefault("cafile")) ? null : opt["cafile"];
var timeout = TimeSpan.FromSeconds(double.Parse(opt.GetValueOrDefault("timeout", "5"),
                                                System.Globalization.CultureInfo.InvariantCulture));
int attempts = int.Parse(opt.GetValueOrDefault("attempts", "8"));

var message = new MimeMessage();
message.From.Add(MailboxAddress.Parse("app@example.org"));
foreach (var to in opt.GetValueOrDefault("to", "user@example.org,bob@example.org").Split(','))
    message.To.Add(MailboxAddress.Parse(to));
message.Subject = "Welcome";
message.MessageId = MimeUtils.GenerateMessageId("example.org"); // one id for every attempt
message.Body = new TextPart("plain") { Text = "Hello from MailKit.\n" };

var certificateRejected = false; // set by the validation callback: a refusal is permanent

if (defaults)
{
    try
    {
        using var client = new SmtpClient(); // Timeout 2 min, revocation checked
        client.ServerCertificateValidationCallback = (s, c, h, e) => TrustedByCaFile(c, h, e);
        var security = tls == "implicit" ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.Auto;
        await client.ConnectAsync(host, port, security);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
        Console.WriteLine("delivered");
        return 0;
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"failed: {e.GetType().Name}: {e.Message}");
        return 1;
    }
}

bool IsTransient(Exception e) => e switch
{
    SmtpCommandException c => (int)c.StatusCode is >= 400 and < 500, // 5yz: permanent
    SmtpProtocolException => true,          // unexpected disconnect, garbled reply
    SslHandshakeException => !certificateRejected, // a broken handshake, not a bad certificate
    MailKit.Security.AuthenticationException a => a.Message.StartsWith("4"), // MailKit#1106
    NotSupportedException => false,         // StartTls required and not offered
    ServiceNotConnectedException or IOException or SocketException
        or TimeoutException or OperationCanceledException => true,
    _ => false,
};

var retry = new ResiliencePipelineBuilder()
    .AddRetry(new RetryStrategyOptions
    {
        ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
        MaxRetryAttempts = attempts - 1,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        Delay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(10),
    })
    .Build();

try
{
    await retry.ExecuteAsync(async token => await SendOnce(token));
    Console.WriteLine("delivered");
    return 0;
}
catch (Exception e) when (!IsTransient(e))
{
    Console.Error.WriteLine($"permanent failure: {e.GetType().Name}: {e.Message}");
    return 2;
}
catch (Exception e)
{
    Console.Error.WriteLine($"gave up: {e.GetType().Name}: {e.Message}");
    return 1;
}

async Task SendOnce(CancellationToken token)
{
    using var client = new SmtpClient(); // a new client per attempt (MailKit#857)
    client.Timeout = (int)timeout.TotalMilliseconds;
    client.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
    client.ServerCertificateValidationCallback = Validate;
    var security = tls switch
    {
        "starttls" => SecureSocketOptions.StartTls,     // required, never ...WhenAvailable
        "implicit" => SecureSocketOptions.SslOnConnect,
        _ => SecureSocketOptions.None,
    };
    await client.ConnectAsync(host, port, security, token);
    await client.SendAsync(message, token);
    try { await client.DisconnectAsync(true, token); }
    catch (Exception) { } // the 250 came: a QUIT that fails changes nothing (MailKit#1748)
}

// The name must match and the chain lead to the trusted CA; RSA under 2048 bits and SHA-1
// signatures are refused on every platform (SChannel and OpenSSL defaults differ).
bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
{
    bool ok = TrustedByCaFile(certificate, chain, errors);
    if (ok)
    {
        var leaf = new X509Certificate2(certificate!);
        ok = (leaf.GetRSAPublicKey()?.KeySize ?? 2048) >= 2048
            && !(leaf.SignatureAlgorithm.FriendlyName ?? "").Contains("sha1", StringComparison.OrdinalIgnoreCase);
    }
    certificateRejected |= !ok;
    return ok;
}

// System trust, or only the CAs of --cafile, and the host name checked either way.
bool TrustedByCaFile(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
{
    if (certificate is null
        || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch
                      | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        return false;
    if (caFile is null)
        return errors == SslPolicyErrors.None;
    using var custom = new X509Chain();
    custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
    var roots = new X509Certificate2Collection();
    roots.ImportFromPemFile(caFile);
    custom.ChainPolicy.CustomTrustStore.AddRange(roots);
    custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // test CA: no CRL
    if (chain is not null)  // the intermediates the server sent
        foreach (var element in chain.ChainElements)
            custom.ChainPolicy.ExtraStore.Add(element.Certificate);
    return custom.Build(new X509Certificate2(certificate));
}
