// One document of an application, previewed in place through a short-lived URL (a PDF from a copy
// of its bytes, since the store sends PDFs as attachments).
import { useEffect, useRef, useState } from "react";
import { describeError, type KycDocument, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { formatBytes, formatTime } from "../../format";

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

export function DocumentItem({ document }: { document: KycDocument }) {
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
