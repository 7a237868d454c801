#!/usr/bin/env node
// Send one message with nodemailer, with retries done right.
//
// nodemailer sends; without a pool it does not retry. This wrapper sets the three
// timeouts, requires STARTTLS (requireTLS) and verifies the certificate against --cafile,
// retries transient failures (4yz, drops, resets, timeouts) with exponential backoff and
// full jitter, stops at once on permanent ones (5yz, a certificate that does not verify),
// and keeps one Message-ID for every attempt.
//
//   node examples/nodemailer/send.js --host {host} --port {port} --tls {tls} --cafile {cafile}
//
// --opportunistic-tls keeps nodemailer's default (STARTTLS only when advertised), to show
// what it costs. Exit code: 0 delivered, 1 gave up after transient failures, 2 permanent.
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const nodemailer = require('nodemailer');

const { values: args } = parseArgs({
    options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '587' },
        tls: { type: 'string', default: 'starttls' }, // none | starttls | implicit
        cafile: { type: 'string', default: '' },
        timeout: { type: 'string', default: '5' }, // seconds, for each of the three timeouts
        attempts: { type: 'string', default: '8' },
        'opportunistic-tls': { type: 'boolean', default: false }
    }
});

const timeoutMs = Number(args.timeout) * 1000;
const transport = nodemailer.createTransport({
    host: args.host,
    port: Number(args.port),
    secure: args.tls === 'implicit', // TLS from the first byte (port 465)
    requireTLS: args.tls === 'starttls' && !args['opportunistic-tls'],
    tls: {
        rejectUnauthorized: true, // the default; never turn it off to "fix" a certificate error
        ca: args.cafile ? [fs.readFileSync(args.cafile)] : undefined, // undefined: system CAs
        minVersion: 'TLSv1.2',
        // Node's OpenSSL runs at security level 1, which accepts RSA keys of 1024 bits;
        // level 2 refuses keys under 2048 bits (and SHA-1 signatures, as level 1 does).
        ciphers: 'DEFAULT:@SECLEVEL=2'
    },
    connectionTimeout: timeoutMs, // default 2 minutes
    greetingTimeout: timeoutMs, // default 30 s
    socketTimeout: timeoutMs // default 10 minutes of silence
});

const message = {
    from: 'app@example.org',
    to: 'user@example.org',
    subject: 'Welcome',
    text: 'Hello from nodemailer.\n',
    messageId: `<${Date.now()}.${process.pid}@example.org>` // one id for every attempt
};

// A certificate that does not verify: nodemailer reports the socket error as ESOCKET and
// keeps Node's code (CERT_HAS_EXPIRED, ...) in originalCode; some verification errors
// (a key too weak) come with a code of UNSPECIFIED, so the message is read too.
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

function permanent(err) {
    if (err.code === 'EENVELOPE' && Array.isArray(err.rejectedErrors)) {
        return err.rejectedErrors.every((e) => e.responseCode >= 500);
    }
    if (err.responseCode >= 500) return true; // 5yz: the same request would fail again
    if (err.responseCode) return false; // 4yz
    return CERTIFICATE.test(String(err.originalCode || '')) || /certificate/i.test(err.message);
}

async function main() {
    const attempts = Number(args.attempts);
    for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
            const info = await transport.sendMail(message);
            console.log(`delivered on attempt ${attempt}: ${info.response}`);
            return 0;
        } catch (err) {
            if (permanent(err)) {
                console.error(`permanent failure: ${err.code} ${err.originalCode || ''} ${err.message}`);
                return 2;
            }
            if (attempt === attempts) {
                console.error(`gave up after ${attempts} attempts: ${err.code} ${err.originalCode || ''} ${err.message}`);
                return 1;
            }
            const delay = Math.random() * Math.min(10, 0.2 * 2 ** (attempt - 1)); // full jitter
            console.error(`attempt ${attempt}: ${err.code} ${err.message}; retrying in ${delay.toFixed(2)}s`);
            await new Promise((resolve) => setTimeout(resolve, delay * 1000));
        }
    }
    return 1;
}

main().then((code) => process.exit(code));
