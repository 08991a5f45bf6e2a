// One document of an application, previewed in place through a short-lived URL (a PDF from a copy
// of its bytes, since the store sends PDFs as attachments); the reviewer in charge may reject just
// this document, with a label and a message the applicant reads (per-document feedback).
import { type FormEvent, useEffect, useRef, useState } from "react";
import { describeError, type KycDocument, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Options } from "../../components/Options";
import { formatBytes, formatTime, REJECTION_LABEL_WORDS } from "../../format";
import { type PageActions, useApplicationAction } from "./Notice";

type FeedbackLabel = NonNullable<KycDocument["feedback"]>["label"];
const FEEDBACK_LABELS: FeedbackLabel[] = [
  "document_expired",
  "document_unreadable",
  "data_mismatch",
  "selfie_mismatch",
  "other",
];

/** The feedback a document carries, or (for the reviewer in charge) the form to give it. */
function Feedback({ document, mayReject, page }: { document: KycDocument; mayReject: boolean; page: PageActions }) {
  const { busy, run } = useApplicationAction(page);
  if (document.feedback) {
    return (
      <p className="error">
        Rejected: {REJECTION_LABEL_WORDS[document.feedback.label]}
        {document.feedback.message && ` — told to the applicant: ${document.feedback.message}`}
      </p>
    );
  }
  if (!mayReject || document.status !== "confirmed") return null;
  const reject = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const message = String(data.get("message") ?? "").trim();
    void run(
      () =>
        rpc.kyc.review.rejectDocument({
          documentId: document.id,
          label: String(data.get("label")) as FeedbackLabel,
          messageToApplicant: message || undefined,
        }),
      `${document.fileName} rejected; ask for changes so that the applicant replaces it.`,
    );
  };
  return (
    <details>
      <summary>Reject this document</summary>
      <form onSubmit={reject}>
        <label>
          Label
          <select name="label">
            <Options values={FEEDBACK_LABELS} label={(l) => REJECTION_LABEL_WORDS[l]} />
          </select>
        </label>
        <label>
          What the applicant should fix (optional; they read it)
          <textarea name="message" rows={2} maxLength={1000} />
        </label>
        <button type="submit" disabled={busy}>
          Send feedback on {document.fileName}
        </button>
      </form>
    </details>
  );
}

const DOCUMENT_LABELS: Record<string, string> = {
  passport: "Passport",
  national_id: "National identity card",
  driving_licence: "Driving licence",
  proof_of_address: "Proof of address",
};

type Preview =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "ready"; url: string; expiresAt: string; objectUrl?: string }
  | { state: "error"; message: string; url?: string };

export function DocumentItem({
  document,
  mayReject,
  page,
}: {
  document: KycDocument;
  mayReject: boolean;
  page: PageActions;
}) {
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const objectUrl = useRef<string>(undefined);
  useEffect(
    () => () => {
      if (objectUrl.current) URL.revokeObjectURL(objectUrl.current);
    },
    [],
  );
  const label = DOCUMENT_LABELS[document.type] ?? document.type;
  const isPdf = document.contentType === "application/pdf";

  const open = async () => {
    setPreview({ state: "loading" });
    let url: string | undefined;
    try {
      const link = await rpc.kyc.review.documentUrl({ documentId: document.id });
      url = link.url;
      if (!isPdf) return setPreview({ state: "ready", url: link.url, expiresAt: link.expiresAt });
      // The store sends PDFs as attachments: shown from our own copy of the bytes instead.
      const response = await fetch(link.url);
      if (!response.ok) throw new Error(`The file store answered ${response.status}.`);
      const blob = new Blob([await response.arrayBuffer()], { type: "application/pdf" });
      if (objectUrl.current) URL.revokeObjectURL(objectUrl.current);
      objectUrl.current = URL.createObjectURL(blob);
      setPreview({ state: "ready", url: link.url, expiresAt: link.expiresAt, objectUrl: objectUrl.current });
    } catch (error) {
      setPreview({
        state: "error",
        message: url ? "The PDF cannot be shown here; download it instead." : describeError(error),
        url,
      });
    }
  };

  return (
    <li className="document">
      <div className="document-head">
        <span>
          <strong>{label}</strong> · {document.fileName} · {formatBytes(document.size)}
        </span>
        {document.status === "confirmed" ? (
          <button type="button" onClick={() => void open()} disabled={preview.state === "loading"}>
            {preview.state === "ready" ? "Reload preview" : `Preview ${label.toLowerCase()}`}
          </button>
        ) : (
          <span className="muted">upload not confirmed</span>
        )}
      </div>
      <Feedback document={document} mayReject={mayReject} page={page} />
      {preview.state === "loading" && <p>Loading…</p>}
      {preview.state === "error" && (
        <Alert>
          {preview.message}{" "}
          {preview.url && (
            <a href={preview.url} rel="noreferrer">
              Download {document.fileName}
            </a>
          )}
        </Alert>
      )}
      {preview.state === "ready" && (
        <figure className="preview">
          {preview.objectUrl ? (
            <iframe src={preview.objectUrl} title={`${label}: ${document.fileName}`} />
          ) : (
            <img src={preview.url} alt={`${label}: ${document.fileName}`} />
          )}
          <figcaption className="muted">
            Link valid until {formatTime(preview.expiresAt)} ·{" "}
            <a href={preview.url} rel="noreferrer">
              Download
            </a>
          </figcaption>
        </figure>
      )}
    </li>
  );
}
