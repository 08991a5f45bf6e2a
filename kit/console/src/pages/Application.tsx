// One application: who, what they sent (documents previewed through short-lived URLs), what
// happened so far, where its wallets stand on chain (and any sanctions or fraud freeze), and the
// reviewer's actions. Errors from the
// four-eyes rule and races are shown in words; a change made elsewhere reloads the page in place.
import { type FormEvent, useEffect, useRef, useState } from "react";
import {
  can,
  describeError,
  errorCode,
  type Freezes,
  type KycDocument,
  type KycStatus,
  type Me,
  type OnchainRegistration,
  type ReviewDetail,
  type RevocationCategory,
  rpc,
} from "../api";
import { Alert } from "../components/Alert";
import { Badge, StatusBadge } from "../components/Badge";
import { Card } from "../components/Card";
import { Facts } from "../components/Facts";
import { usePageTitle } from "../components/Page";
import { countryName, formatBytes, formatTime, fullName, STATUS_LABELS } from "../format";
import { useLoad } from "../hooks";
import { useLiveEvents } from "../live";
import { Link } from "../router";

const DOCUMENT_LABELS: Record<string, string> = {
  passport: "Passport",
  national_id: "National identity card",
  driving_licence: "Driving licence",
  proof_of_address: "Proof of address",
};

type Notice = { kind: "success" | "error" | "info"; text: string };

type Decision = "approve" | "request_changes" | "reject";
/** A reviewer's outcomes, in the order offered, as the choice and its button say them. */
const DECISION_LABELS: Record<Decision, string> = {
  approve: "Approve",
  request_changes: "Request changes",
  reject: "Reject",
};
const DECISIONS = Object.keys(DECISION_LABELS) as Decision[];

export function ApplicationPage({ me, id }: { me: Me; id: string }) {
  const detail = useLoad(() => rpc.kyc.review.get({ applicationId: id }), [id]);
  const [notice, setNotice] = useState<Notice>();

  const name = detail.data ? fullName(detail.data.application.personalData) : "Application";
  usePageTitle(name);

  useLiveEvents((event) => {
    if (event.applicationId !== id) return;
    if (event.reviewerId !== me.user.id) {
      setNotice({
        kind: "info",
        text: `This application was just changed elsewhere: it is now ${STATUS_LABELS[event.status].toLowerCase()}.`,
      });
    }
    void detail.reload();
  });

  return (
    <section aria-labelledby="application-title">
      <p className="breadcrumb">
        <Link to="/">← KYC queue</Link>
      </p>
      {detail.error && !detail.data && (
        <>
          <h1 id="application-title">Application</h1>
          <Alert>{detail.error}</Alert>
        </>
      )}
      {detail.data && (
        <Detail me={me} detail={detail.data} notice={notice} setNotice={setNotice} reload={detail.reload} name={name} />
      )}
      {!detail.data && !detail.error && <p>Loading…</p>}
    </section>
  );
}

function Detail({
  me,
  detail,
  notice,
  setNotice,
  reload,
  name,
}: {
  me: Me;
  detail: ReviewDetail;
  notice: Notice | undefined;
  setNotice: (notice: Notice | undefined) => void;
  reload: () => Promise<void>;
  name: string;
}) {
  const { application, applicant, documents, history, reviewerId } = detail;
  const p = application.personalData;
  const actorName = (actorId: string | null) =>
    actorId === null
      ? "Kit"
      : actorId === me.user.id
        ? "You"
        : actorId === applicant.id
          ? "The applicant"
          : `Reviewer ${actorId.slice(0, 8)}`;

  return (
    <>
      <header className="application-header">
        <h1 id="application-title">{name}</h1>
        <StatusBadge status={application.status} />
        <span className="muted">
          Submitted {formatTime(application.submittedAt)}
          {reviewerId &&
            ` · reviewer: ${reviewerId === me.user.id ? "you" : `another reviewer (${reviewerId.slice(0, 8)})`}`}
        </span>
      </header>
      {notice && (
        <p role={notice.kind === "error" ? "alert" : "status"} className={`notice notice-${notice.kind}`}>
          {notice.text}
        </p>
      )}
      <div className="columns">
        <div>
          <Card heading="Personal data" headingId="personal-title">
            <Facts
              facts={{
                Name: fullName(p),
                "E-mail": applicant.email,
                "Date of birth": p.dateOfBirth ?? "—",
                Nationality: countryName(p.nationality),
                "Country of residence": countryName(p.countryOfResidence),
                "Residency status": p.residencyStatus?.replaceAll("_", " ") ?? "—",
                Address: p.address
                  ? [
                      p.address.line1,
                      p.address.line2,
                      `${p.address.postalCode} ${p.address.city}`,
                      p.address.region,
                      countryName(p.address.country),
                    ]
                      .filter(Boolean)
                      .join(", ")
                  : "—",
                "National id number": p.nationalIdNumber ?? "—",
                "Tax residencies": p.taxResidencies?.map((c) => countryName(c)).join(", ") || "—",
              }}
            />
          </Card>
          <Card heading="History" headingId="history-title">
            <ol className="timeline">
              {history.map((entry) => (
                <li key={`${entry.at}-${entry.toStatus}`}>
                  <time dateTime={entry.at}>{formatTime(entry.at)}</time>{" "}
                  <strong>{STATUS_LABELS[entry.toStatus]}</strong>
                  {entry.fromStatus && (
                    <span className="muted"> (from {STATUS_LABELS[entry.fromStatus].toLowerCase()})</span>
                  )}
                  {" · "}
                  {actorName(entry.actorId)}
                  {entry.reason && <blockquote>{entry.reason}</blockquote>}
                </li>
              ))}
            </ol>
          </Card>
        </div>
        <div>
          <Actions me={me} detail={detail} setNotice={setNotice} reload={reload} />
          <Card heading="Documents" headingId="documents-title">
            {documents.length === 0 && <p>No documents.</p>}
            <ul className="documents">
              {documents.map((document) => (
                <DocumentItem key={document.id} document={document} />
              ))}
            </ul>
          </Card>
          <OnchainCard me={me} registrations={detail.onchain} setNotice={setNotice} reload={reload} />
          {detail.freezes.cases.length > 0 && (
            <FreezeCard me={me} freezes={detail.freezes} setNotice={setNotice} reload={reload} />
          )}
        </div>
      </div>
    </>
  );
}

function Actions({
  me,
  detail,
  setNotice,
  reload,
}: {
  me: Me;
  detail: ReviewDetail;
  setNotice: (notice: Notice | undefined) => void;
  reload: () => Promise<void>;
}) {
  const { application, reviewerId } = detail;
  const [busy, setBusy] = useState(false);
  const [decision, setDecision] = useState<Decision>("approve");
  const [reason, setReason] = useState("");
  const [category, setCategory] = useState<RevocationCategory>("other");
  const [formError, setFormError] = useState<string>();
  const mayDecide = can(me, "kyc", "decide");
  const isAdmin = me.user.role === "admin";

  const run = async (action: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setNotice(undefined);
    try {
      await action();
      setNotice({ kind: "success", text: done });
      setReason("");
    } catch (error) {
      setNotice({ kind: "error", text: describeError(error) });
      // The application moved on under us: show where it is now.
      if (errorCode(error) !== "CONFLICT") {
        setBusy(false);
        return;
      }
    }
    await reload();
    setBusy(false);
  };

  const decide = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = reason.trim();
    if (decision !== "approve" && !text) {
      setFormError(
        `A reason is required to ${decision === "reject" ? "reject" : "request changes"}; the applicant sees it.`,
      );
      return;
    }
    setFormError(undefined);
    const words = { approve: "Approved.", reject: "Rejected.", request_changes: "Changes requested." }[decision];
    void run(
      () =>
        rpc.kyc.review.decide({
          applicationId: application.id,
          decision,
          reason: text || undefined,
          version: application.version,
        }),
      words,
    );
  };

  const revoke = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = reason.trim();
    if (!text) {
      setFormError("A reason is required to revoke an approval.");
      return;
    }
    setFormError(undefined);
    void run(
      () => rpc.kyc.review.revoke({ applicationId: application.id, reason: text, category }),
      category === "other" ? "Approval revoked." : "Approval revoked; the applicant's wallets are being frozen.",
    );
  };

  if (application.status === "submitted") {
    return (
      <Card heading="Review" headingId="actions-title" className="actions">
        <p>Claim the application to review it; it is then yours to decide.</p>
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() =>
            void run(() => rpc.kyc.review.claim({ applicationId: application.id }), "Claimed: it is yours to decide.")
          }
        >
          Claim for review
        </button>
      </Card>
    );
  }

  if (application.status === "in_review") {
    const mine = reviewerId === me.user.id;
    if (!mayDecide || (!mine && !isAdmin)) {
      return (
        <Card heading="Review" headingId="actions-title" className="actions">
          <p>Another reviewer has claimed this application; only they (or an administrator) can decide it.</p>
        </Card>
      );
    }
    const reasonRequired = decision !== "approve";
    return (
      <Card heading="Decision" headingId="actions-title" className="actions">
        {!mine && <p className="muted">Claimed by another reviewer: as an administrator you decide in their place.</p>}
        <form onSubmit={decide}>
          <fieldset>
            <legend>Outcome</legend>
            {DECISIONS.map((outcome) => (
              <label key={outcome} className="inline">
                <input
                  type="radio"
                  name="decision"
                  value={outcome}
                  checked={decision === outcome}
                  onChange={() => setDecision(outcome)}
                />
                {DECISION_LABELS[outcome]}
              </label>
            ))}
          </fieldset>
          <label>
            Reason {reasonRequired ? "(required; the applicant sees it)" : "(optional; the applicant sees it)"}
            <textarea
              name="reason"
              rows={3}
              value={reason}
              maxLength={2000}
              aria-required={reasonRequired}
              aria-invalid={formError ? true : undefined}
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
          <Alert>{formError}</Alert>
          <button type="submit" className={decision === "approve" ? "primary" : "danger"} disabled={busy}>
            {DECISION_LABELS[decision]}
          </button>
        </form>
      </Card>
    );
  }

  if (application.status === "approved" && mayDecide) {
    return (
      <Card heading="Approved" headingId="actions-title" className="actions">
        <p>
          Valid until {formatTime(application.expiresAt)}.
          {application.decisionReason && ` Reason: ${application.decisionReason}`}
        </p>
        <form onSubmit={revoke}>
          <label>
            Why
            <select value={category} onChange={(e) => setCategory(e.target.value as RevocationCategory)}>
              <option value="other">Other (no freeze)</option>
              <option value="sanctions">Sanctions hit: freeze the wallets</option>
              <option value="fraud">Fraud: freeze the wallets</option>
            </select>
          </label>
          <label>
            Reason to revoke (required)
            <textarea
              name="reason"
              rows={2}
              value={reason}
              maxLength={2000}
              onChange={(e) => setReason(e.target.value)}
            />
          </label>
          <Alert>{formError}</Alert>
          <button type="submit" className="danger" disabled={busy}>
            Revoke approval
          </button>
        </form>
      </Card>
    );
  }

  return (
    <Card heading={STATUS_LABELS[application.status]} headingId="actions-title" className="actions">
      <p>
        Decided {formatTime(application.decidedAt)}
        {application.decisionReason && `: ${application.decisionReason}`}
      </p>
    </Card>
  );
}

const ONCHAIN_LABELS: Record<OnchainRegistration["status"], { label: string; tone: KycStatus }> = {
  pending: { label: "In progress", tone: "submitted" },
  registered: { label: "Verified", tone: "approved" },
  failed: { label: "Failed", tone: "rejected" },
  revoked: { label: "Revoked", tone: "expired" },
};

const short = (hex: string) => `${hex.slice(0, 8)}…${hex.slice(-6)}`;

/** Each wallet of the applicant as Kit registered it on chain; admins may queue a failed one again. */
function OnchainCard({
  me,
  registrations,
  setNotice,
  reload,
}: {
  me: Me;
  registrations: OnchainRegistration[];
  setNotice: (notice: Notice | undefined) => void;
  reload: () => Promise<void>;
}) {
  const [busy, setBusy] = useState<string>();
  const mayRetry = can(me, "kyc", "manage_onchain");
  const retry = async (wallet: string) => {
    setBusy(wallet);
    setNotice(undefined);
    try {
      await rpc.kyc.onchain.retry({ wallet });
      setNotice({ kind: "success", text: `The on-chain registration of ${short(wallet)} is queued again.` });
    } catch (error) {
      setNotice({ kind: "error", text: describeError(error) });
    }
    await reload();
    setBusy(undefined);
  };
  return (
    <Card heading="On chain" headingId="onchain-title">
      {registrations.length === 0 && (
        <p>No wallet on chain yet: Kit registers the applicant's linked wallets once approved.</p>
      )}
      <ul className="documents">
        {registrations.map((r) => (
          <li key={r.wallet}>
            <code title={r.wallet}>{short(r.wallet)}</code>{" "}
            <Badge tone={ONCHAIN_LABELS[r.status].tone}>{ONCHAIN_LABELS[r.status].label}</Badge>
            <div className="muted">
              {r.lastTxHash ? (
                <>
                  last transaction <code title={r.lastTxHash}>{short(r.lastTxHash)}</code>
                </>
              ) : (
                "no transaction yet"
              )}
              {r.identity && (
                <>
                  {" · identity "}
                  <code title={r.identity}>{short(r.identity)}</code>
                </>
              )}
              {" · "}
              {formatTime(r.updatedAt)}
            </div>
            {r.error && <p className="error">{r.error}</p>}
            {r.status === "failed" && mayRetry && (
              <button type="button" disabled={busy !== undefined} onClick={() => void retry(r.wallet)}>
                Retry
              </button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}

const FREEZE_LABELS: Record<Freezes["wallets"][number]["status"], { label: string; tone: KycStatus }> = {
  pending: { label: "In progress", tone: "submitted" },
  frozen: { label: "Frozen", tone: "rejected" },
  failed: { label: "Failed", tone: "rejected" },
  unfrozen: { label: "Unfrozen", tone: "expired" },
};

/** A sanctions or fraud revocation's freeze: the case, each wallet per token; admins lift it with a reason. */
function FreezeCard({
  me,
  freezes,
  setNotice,
  reload,
}: {
  me: Me;
  freezes: Freezes;
  setNotice: (notice: Notice | undefined) => void;
  reload: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const mayLift = can(me, "kyc", "lift_freeze");
  const lift = async (event: FormEvent<HTMLFormElement>, applicationId: string) => {
    event.preventDefault();
    const form = event.currentTarget;
    const reason = String(new FormData(form).get("reason") ?? "").trim();
    setBusy(true);
    setNotice(undefined);
    try {
      await rpc.kyc.onchain.liftFreeze({ applicationId, reason });
      setNotice({ kind: "success", text: "Freeze lifted; Kit is unfreezing the wallets." });
      form.reset();
    } catch (error) {
      setNotice({ kind: "error", text: describeError(error) });
    }
    await reload();
    setBusy(false);
  };
  return (
    <Card heading="Freeze" headingId="freeze-title">
      <ul className="documents">
        {freezes.cases.map((c) => (
          <li key={c.applicationId}>
            {c.category === "sanctions" ? "Sanctions" : "Fraud"}, since {formatTime(c.createdAt)}
            {c.liftedAt ? (
              <div className="muted">
                Lifted {formatTime(c.liftedAt)}: {c.liftReason}
              </div>
            ) : (
              mayLift && (
                <form onSubmit={(event) => void lift(event, c.applicationId)}>
                  <label>
                    Reason to lift (required)
                    <textarea name="reason" rows={2} maxLength={2000} required />
                  </label>
                  <button type="submit" disabled={busy}>
                    Lift freeze
                  </button>
                </form>
              )
            )}
          </li>
        ))}
      </ul>
      <ul className="documents">
        {freezes.wallets.map((w) => (
          <li key={`${w.wallet}-${w.token}`}>
            <code title={w.wallet}>{short(w.wallet)}</code> on <code title={w.token}>{short(w.token)}</code>{" "}
            <Badge tone={FREEZE_LABELS[w.status].tone}>{FREEZE_LABELS[w.status].label}</Badge>
            {w.frozenBefore && <span className="muted"> (frozen by its issuer before)</span>}
            {w.error && <p className="error">{w.error}</p>}
          </li>
        ))}
      </ul>
    </Card>
  );
}

type Preview =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "ready"; url: string; expiresAt: string; objectUrl?: string }
  | { state: "error"; message: string; url?: string };

function DocumentItem({ document }: { document: KycDocument }) {
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
