// One application: who, what they sent (documents previewed through short-lived URLs), what
// happened so far, where its wallets stand on chain (and any sanctions or fraud freeze), and the
// reviewer's actions, the larger parts in ./application/. Errors from the four-eyes rule and races
// are shown in words; a change made elsewhere reloads the page in place.
import { useState } from "react";
import { type Me, type ReviewDetail, rpc } from "../api";
import { Alert } from "../components/Alert";
import { StatusBadge } from "../components/Badge";
import { Card } from "../components/Card";
import { Facts } from "../components/Facts";
import { usePageTitle } from "../components/Page";
import { countryName, formatTime, fullName, STATUS_LABELS } from "../format";
import { useLoad } from "../hooks";
import { useLiveEvents } from "../live";
import { Link } from "../router";
import { Actions } from "./application/Actions";
import { DocumentItem } from "./application/DocumentItem";
import { type Notice, NoticeLine, type PageActions } from "./application/Notice";
import { FreezeCard, OnchainCard } from "./application/Onchain";

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
}: { me: Me; detail: ReviewDetail; notice: Notice | undefined; name: string } & PageActions) {
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
      <NoticeLine notice={notice} />
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
