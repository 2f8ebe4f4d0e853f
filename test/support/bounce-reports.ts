import SMTPConnection from 'nodemailer/lib/smtp-connection';

/**
 * Reports as remote MTAs send them to the bounce intake: over SMTP with MAIL FROM:<>, to the
 * VERP return path of the message they are about.
 */

/** Sends raw mail to the intake listener the way a remote MTA returns a DSN: MAIL FROM:<>. */
export async function deliverReport(
  port: number,
  to: string,
  raw: string,
): Promise<{ ok: boolean; response: string }> {
  const conn = new SMTPConnection({
    host: '127.0.0.1',
    port,
    ignoreTLS: true,
    name: 'mx.remote.test',
    logger: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
    return await new Promise((resolve) => {
      conn.send({ from: '', to: [to] }, raw.replace(/\r?\n/g, '\r\n'), (err, info) =>
        resolve(
          err
            ? { ok: false, response: String((err as { response?: string }).response ?? err.message) }
            : { ok: true, response: info!.response },
        ),
      );
    });
  } finally {
    conn.quit();
  }
}

/** An ARF abuse report (RFC 5965) from a feedback loop about one delivered message. */
export function arf(returnPath: string, recipient: string): string {
  return `From: feedback@fbl.rcpt.test
To: ${returnPath}
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report for an email message received from IP 127.0.0.2.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: ${returnPath}
Original-Rcpt-To: ${recipient}
Source-IP: 127.0.0.2

--F
Content-Type: message/rfc822

From: hello@acme.test
To: ${recipient}
Subject: hi

body
--F--
`;
}
