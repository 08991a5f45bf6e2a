// What an application says and what happened to it: the applicant's personal data, and the
// history of its statuses with who moved it.
import type { Me, ReviewDetail } from "../../api";
import { Card } from "../../components/Card";
import { Facts } from "../../components/Facts";
import { countryName, formatTime, fullName, REJECTION_LABEL_WORDS, STATUS_LABELS } from "../../format";

export function PersonalDataCard({ detail }: { detail: ReviewDetail }) {
  const { application, applicant } = detail;
  const p = application.personalData;
  return (
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
  );
}

export function HistoryCard({ me, detail }: { me: Me; detail: ReviewDetail }) {
  const { applicant, history } = detail;
  const actorName = (actorId: string | null) =>
    actorId === null
      ? "Kit"
      : actorId === me.user.id
        ? "You"
        : actorId === applicant.id
          ? "The applicant"
          : `Reviewer ${actorId.slice(0, 8)}`;
  return (
    <Card heading="History" headingId="history-title">
      <ol className="timeline">
        {history.map((entry) => (
          <li key={`${entry.at}-${entry.toStatus}`}>
            <time dateTime={entry.at}>{formatTime(entry.at)}</time> <strong>{STATUS_LABELS[entry.toStatus]}</strong>
            {entry.fromStatus && <span className="muted"> (from {STATUS_LABELS[entry.fromStatus].toLowerCase()})</span>}
            {" · "}
            {actorName(entry.actorId)}
            {entry.labels && (
              <span className="muted">
                {" · "}
                {entry.labels.map((l) => REJECTION_LABEL_WORDS[l]).join(", ")}
                {entry.final && " (final)"}
              </span>
            )}
            {entry.internalNote && (
              <blockquote>
                <span className="muted">Internal note: </span>
                {entry.internalNote}
              </blockquote>
            )}
            {entry.messageToApplicant && (
              <blockquote>
                <span className="muted">To the applicant: </span>
                {entry.messageToApplicant}
              </blockquote>
            )}
          </li>
        ))}
      </ol>
    </Card>
  );
}
