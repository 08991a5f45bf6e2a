// One application: who, what they sent (documents previewed through short-lived URLs), what
// happened so far, where its wallets stand on chain (and any sanctions or fraud freeze), and the
// reviewer's actions, the larger parts in ./application/. Errors from the four-eyes rule and races
// are shown in words; a change made elsewhere reloads the page in place.
import { useState } from "react";
import { can, type Me, type ReviewDetail, rpc } from "../api";
import { Alert } from "../components/Alert";
import { StatusBadge } from "../components/Badge";
import { Card } from "../components/Card";
import { usePageTitle } from "../components/Page";
import { formatTime, fullName, STATUS_LABELS } from "../format";
import { useLoad } from "../hooks";
import { useLiveEvents } from "../live";
import { Link } from "../router";
import { Actions } from "./application/Actions";
import { DocumentItem } from "./application/DocumentItem";
import { type Notice, NoticeLine, type PageActions } from "./application/Notice";
import { FreezeCard, OnchainCard } from "./application/Onchain";
import { HistoryCard, PersonalDataCard } from "./application/Record";

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
  const { application, documents, reviewerId } = detail;
  const mayRejectDocuments =
    application.status === "in_review" &&
    can(me, "kyc", "decide") &&
    (reviewerId === me.user.id || me.user.role === "admin");

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
        {can(me, "kyc", "export") && (
          // A signed ZIP of everything Kit holds on the application; the export is logged and audited.
          <a className="button" href={`/api/kyc/review/${application.id}/dossier`} download>
            Download the dossier
          </a>
        )}
      </header>
      <NoticeLine notice={notice} />
      <div className="columns">
        <div>
          <PersonalDataCard detail={detail} />
          <HistoryCard me={me} detail={detail} />
        </div>
        <div>
          <Actions me={me} detail={detail} setNotice={setNotice} reload={reload} />
          <Card heading="Documents" headingId="documents-title">
            {documents.length === 0 && <p>No documents.</p>}
            <ul className="documents">
              {documents.map((document) => (
                <DocumentItem
                  key={document.id}
                  document={document}
                  mayReject={mayRejectDocuments}
                  page={{ setNotice, reload }}
                />
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
