// Send one message with Jakarta Mail, with retries done right.
//
// Jakarta Mail sends; it never retries, and its network timeouts default to infinite. This
// program sets the three timeouts, requires STARTTLS, checks the server's identity and
// trusts only --cafile, refuses RSA keys under 2048 bits and SHA-1 signatures, retries
// transient failures (4yz replies, dropped and reset connections, timeouts) with
// exponential backoff and full jitter, stops at once on permanent ones (5yz, a certificate
// that does not verify, STARTTLS not offered), and keeps one Message-ID for every attempt.
// With --user it logs in (after STARTTLS, on every new connection); --messages N sends N
// distinct messages, one after the other (both default to the harness's HARNESS_SMTP_*).
//
//   javac -cp "$CP" -d build SendMail.java        (CP: jakarta-mail.jar and jakarta-activation.jar)
//   java -cp "build:$CP" SendMail --host {host} --port {port} --tls {tls} --cafile {cafile}
//
// --defaults sends once with Transport.send and the library's defaults (no timeouts, STARTTLS
// only when advertised, no identity check in 2.0), only trusting --cafile, to show what the
// library does out of the box. Exit code: 0 delivered, 1 gave up after transient failures,
// 2 permanent failure.

import com.sun.mail.smtp.SMTPTransport;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.SendFailedException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

public final class SendMail {
    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        boolean defaults = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--defaults")) defaults = true;
            else if (i + 1 < args.length) opt.put(args[i].replaceFirst("^--", ""), args[++i]);
        }
        String tls = opt.getOrDefault("tls", "starttls");
        String cafile = opt.getOrDefault("cafile", "");
        int attempts = Integer.parseInt(opt.getOrDefault("attempts", "8"));
        String timeoutMs = String.valueOf((long) (Double.parseDouble(opt.getOrDefault("timeout", "5")) * 1000));
        String user = opt.getOrDefault("user", System.getenv().getOrDefault("HARNESS_SMTP_USER", ""));
        String password = opt.getOrDefault("password", System.getenv().getOrDefault("HARNESS_SMTP_PASSWORD", ""));
        int messages = Integer.parseInt(opt.getOrDefault("messages",
                System.getenv().getOrDefault("HARNESS_SMTP_MESSAGES", "1")));

        Properties props = new Properties();
        props.put("mail.smtp.host", opt.getOrDefault("host", "127.0.0.1"));
        props.put("mail.smtp.port", opt.getOrDefault("port", "25"));
        props.put("mail.smtp.starttls.enable", String.valueOf(tls.equals("starttls")));
        props.put("mail.smtp.ssl.enable", String.valueOf(tls.equals("implicit")));
        props.put("mail.smtp.auth", String.valueOf(!user.isEmpty()));  // AUTH when offered
        SSLSocketFactory factory = cafile.isEmpty() ? (SSLSocketFactory) SSLSocketFactory.getDefault() : trusting(cafile);
        // Jakarta Mail 2.0's own identity check (mail.smtp.ssl.checkserveridentity, off by
        // default) matches host names only, never an IP address in the certificate: the
        // JDK's endpoint identification, as HTTPS does it, checks both
        props.put("mail.smtp.ssl.socketFactory", defaults ? factory : new IdentityChecking(factory));
        props.put("mail.smtp.ssl.socketFactory.fallback", "false");  // never retry without it
        if (!defaults) {
            // the JDK accepts RSA keys of 1024 bits, and SHA-1 signatures from private CAs
            Security.setProperty("jdk.certpath.disabledAlgorithms",
                    "MD2, MD5, SHA1, RSA keySize < 2048, DSA keySize < 2048, EC keySize < 224");
            props.put("mail.smtp.connectiontimeout", timeoutMs);  // default: infinite
            props.put("mail.smtp.timeout", timeoutMs);            // reads; default: infinite
            props.put("mail.smtp.writetimeout", timeoutMs);       // default: infinite
            props.put("mail.smtp.starttls.required", String.valueOf(tls.equals("starttls")));
            props.put("mail.smtp.ssl.protocols", "TLSv1.3 TLSv1.2");
            props.put("mail.smtp.quitwait", "false");  // the 250 is what counts (close-after-250)
            props.put("mail.smtp.sendpartial", "true");  // deliver to the recipients accepted
            // never mail.smtp.ssl.trust=* : it trusts every certificate
        }

        Session session = Session.getInstance(props);
        int worst = 0;
        for (int n = 1; n <= messages; n++) {
            MimeMessage message = new MimeMessage(session);
            message.setFrom(new InternetAddress(opt.getOrDefault("from", "app@example.org")));
            message.setRecipients(Message.RecipientType.TO,
                    opt.getOrDefault("to", "user@example.org, bob@example.org"));
            message.setSubject("Welcome " + n);
            message.setText("Hello from Jakarta Mail.\n");
            worst = Math.max(worst, defaults ? sendWithDefaults(message, user, password)
                    : deliver(session, message, user, password, attempts));
        }
        System.exit(worst);
    }

    /** Transport.send once, as documented; the exit code it earns. */
    static int sendWithDefaults(MimeMessage message, String user, String password) {
        try {
            if (user.isEmpty()) Transport.send(message);
            else Transport.send(message, user, password);
        } catch (MessagingException e) {
            System.err.println("failed: " + e);
            return 1;
        }
        System.out.println("delivered");
        return 0;
    }

    /** One message, retried on transient failures; the exit code it earns. */
    static int deliver(Session session, MimeMessage message, String user, String password,
                       int attempts) throws Exception {
        message.saveChanges();  // once: the Message-ID is fixed from here on
        for (int attempt = 1; ; attempt++) {
            // "smtp" with mail.smtp.ssl.enable for implicit TLS: the "smtps" protocol would
            // read mail.smtps.* properties instead, and none of the above would apply
            SMTPTransport transport = (SMTPTransport) session.getTransport("smtp");
            int failed;
            try {
                if (user.isEmpty()) transport.connect();
                else transport.connect(user, password);
                transport.sendMessage(message, message.getAllRecipients());  // no saveChanges()
                failed = -1;
            } catch (SendFailedException e) {
                if (e.getValidSentAddresses() != null && e.getValidSentAddresses().length > 0) {
                    System.err.println("delivered on attempt " + attempt + ", some recipients refused: " + e);
                    closeQuietly(transport);
                    return 0;  // the message was accepted for the others: never resend it
                }
                failed = handleFailure(transport, e, attempt, attempts);
            } catch (MessagingException e) {
                failed = handleFailure(transport, e, attempt, attempts);
            }
            if (failed > 0) return failed;
            if (failed == 0) continue;
            closeQuietly(transport);  // the 250 came: a failing QUIT changes nothing
            System.out.println("delivered on attempt " + attempt);
            return 0;
        }
    }

    /** The exit code on a permanent failure (2) or the last attempt (1); otherwise waits
     *  and returns 0: try again. */
    static int handleFailure(SMTPTransport transport, MessagingException e, int attempt, int attempts)
            throws InterruptedException {
        int code = transport.getLastReturnCode();  // the last reply, whichever command failed
        closeQuietly(transport);
        if (!worthRetrying(e, code)) {
            System.err.println("permanent failure: " + e);
            return 2;
        }
        if (attempt == attempts) {
            System.err.println("gave up after " + attempts + " attempts: " + e);
            return 1;
        }
        double cap = Math.min(10.0, 0.2 * Math.pow(2, attempt - 1));
        long delayMs = (long) (ThreadLocalRandom.current().nextDouble() * cap * 1000);  // full jitter
        System.err.println("attempt " + attempt + ": " + e + "; retrying in " + delayMs + " ms");
        Thread.sleep(delayMs);
        return 0;
    }

    static void closeQuietly(Transport transport) {
        try {
            transport.close();
        } catch (MessagingException ignored) {
            // the connection is gone either way
        }
    }

    /** 4yz replies and I/O failures are worth a retry; 5yz and certificate failures are not. */
    static boolean worthRetrying(MessagingException e, int code) {
        for (Throwable t = e; t != null; t = t.getCause() != null ? t.getCause()
                : t instanceof MessagingException m ? m.getNextException() : null) {
            if (t instanceof CertificateException || t instanceof CertPathValidatorException
                    || t instanceof SSLPeerUnverifiedException) return false;
        }
        if (String.valueOf(e.getMessage()).contains("STARTTLS is required")) return false;
        return code < 500;  // 4yz, or no reply at all: refused, reset, timed out, a broken handshake
    }

    /** A socket factory that trusts only the CAs in the given PEM file. */
    static SSLSocketFactory trusting(String cafile) throws Exception {
        KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
        store.load(null, null);
        try (FileInputStream in = new FileInputStream(cafile)) {
            int n = 0;
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in))
                store.setCertificateEntry("ca" + n++, cert);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context.getSocketFactory();
    }

    /** Every socket it makes checks the server's name (or address) against its certificate. */
    static final class IdentityChecking extends SSLSocketFactory {
        private final SSLSocketFactory inner;

        IdentityChecking(SSLSocketFactory inner) {
            this.inner = inner;
        }

        private static Socket checking(Socket socket) {
            SSLSocket ssl = (SSLSocket) socket;
            SSLParameters parameters = ssl.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(parameters);
            return ssl;
        }

        @Override public Socket createSocket() throws IOException {
            return checking(inner.createSocket());
        }
        @Override public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return checking(inner.createSocket(s, host, port, autoClose));  // STARTTLS
        }
        @Override public Socket createSocket(String host, int port) throws IOException {
            return checking(inner.createSocket(host, port));
        }
        @Override public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
            return checking(inner.createSocket(host, port, local, localPort));
        }
        @Override public Socket createSocket(InetAddress host, int port) throws IOException {
            return checking(inner.createSocket(host, port));
        }
        @Override public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
            return checking(inner.createSocket(host, port, local, localPort));
        }
        @Override public String[] getDefaultCipherSuites() {
            return inner.getDefaultCipherSuites();
        }
        @Override public String[] getSupportedCipherSuites() {
            return inner.getSupportedCipherSuites();
        }
    }
}
