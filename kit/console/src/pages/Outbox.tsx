// Outbox (dev): the mail the embedded SMTP server of `bun run dev` received, newest first, and one
// message's text (links included: follow a verification or reset link from here). Shown to admins
// only when Kit keeps a dev outbox; nothing here leaves the developer's machine.
import { useState } from "react";
import { devOutbox, devOutboxMessage } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { Page } from "../components/Page";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

export function OutboxPage() {
  const [checks, setChecks] = useState(0);
  const [open, setOpen] = useState<string>();
  const list = useLoad(() => devOutbox(), [checks]);
  const message = useLoad(() => (open ? devOutboxMessage(open) : Promise.resolve(undefined)), [open]);

  return (
    <Page heading="Outbox (dev)" headingId="outbox-title">
      <p className="muted">
        Mail Kit sent to the embedded SMTP server{list.data ? `, kept in ${list.data.directory}` : ""}. Nothing leaves
        this machine.
      </p>
      <button type="button" onClick={() => setChecks((n) => n + 1)} disabled={list.loading}>
        Check again
      </button>
      <Alert>{list.error}</Alert>
      {list.data && list.data.messages.length === 0 && <p>No mail yet.</p>}
      {list.data && list.data.messages.length > 0 && (
        <DataTable columns={["Received", "To", "Subject"]}>
          {list.data.messages.map((mail) => (
            <tr key={mail.id} aria-selected={mail.id === open}>
              <td>{formatTime(mail.receivedAt)}</td>
              <td>{mail.to.join(", ")}</td>
              <td>
                <button type="button" className="link" onClick={() => setOpen(mail.id)}>
                  {mail.subject || "(no subject)"}
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <Alert>{message.error}</Alert>
      {message.data && (
        <article aria-labelledby="mail-subject" className="card">
          <h2 id="mail-subject">{message.data.subject}</h2>
          <p className="muted">
            From {message.data.from} to {message.data.to.join(", ")} · Message-ID {message.data.messageId ?? "none"}
          </p>
          <pre className="mail-text">{message.data.text}</pre>
        </article>
      )}
    </Page>
  );
}
