/** A one-part HTML message as Gmail's messages.insert takes it (base64url). */
export function htmlMessage(from: string, to: string, subject: string, html: string): string {
  const lines = [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${subject}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${subject.replace(/\W+/g, ".")}.${Date.now()}@example.net>`,
    "MIME-Version: 1.0",
    "Content-Type: text/html; charset=UTF-8",
    "",
    html,
    "",
  ];
  return Buffer.from(lines.join("\r\n")).toString("base64url");
}
