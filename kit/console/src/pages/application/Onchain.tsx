// Where the applicant's wallets stand on chain: each registration (admins may queue a failed one
// again), and a sanctions or fraud freeze per wallet and token (admins lift it with a reason).
import type { FormEvent } from "react";
import { can, type Freezes, type KycStatus, type Me, type OnchainRegistration, rpc } from "../../api";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { Hex } from "../../components/Hex";
import { formatTime, shortHex as short } from "../../format";
import { type PageActions, useApplicationAction } from "./Notice";

const ONCHAIN_LABELS: Record<OnchainRegistration["status"], { label: string; tone: KycStatus }> = {
  pending: { label: "In progress", tone: "submitted" },
  registered: { label: "Verified", tone: "approved" },
  failed: { label: "Failed", tone: "rejected" },
  revoked: { label: "Revoked", tone: "expired" },
  recovering: { label: "Moving to a new wallet", tone: "in_review" },
  recovered: { label: "Moved to a new wallet", tone: "expired" },
};

/** Each wallet of the applicant as Kit registered it on chain; admins may queue a failed one again. */
export function OnchainCard({
  me,
  registrations,
  ...page
}: { me: Me; registrations: OnchainRegistration[] } & PageActions) {
  const { busy, run } = useApplicationAction(page);
  const mayRetry = can(me, "kyc", "manage_onchain");
  const retry = (wallet: string) =>
    run(() => rpc.kyc.onchain.retry({ wallet }), `The on-chain registration of ${short(wallet)} is queued again.`);
  return (
    <Card heading="On chain" headingId="onchain-title">
      {registrations.length === 0 && (
        <p>No wallet on chain yet: Kit registers the applicant's linked wallets once approved.</p>
      )}
      <ul className="documents">
        {registrations.map((r) => (
          <li key={r.wallet}>
            <Hex value={r.wallet} />{" "}
            <Badge tone={ONCHAIN_LABELS[r.status].tone}>{ONCHAIN_LABELS[r.status].label}</Badge>
            <div className="muted">
              {r.lastTxHash ? (
                <>
                  last transaction <Hex value={r.lastTxHash} />
                </>
              ) : (
                "no transaction yet"
              )}
              {r.identity && (
                <>
                  {" · identity "}
                  <Hex value={r.identity} />
                </>
              )}
              {" · "}
              {formatTime(r.updatedAt)}
            </div>
            {r.error && <p className="error">{r.error}</p>}
            {r.status === "failed" && mayRetry && (
              <button type="button" disabled={busy} onClick={() => void retry(r.wallet)}>
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
export function FreezeCard({ me, freezes, ...page }: { me: Me; freezes: Freezes } & PageActions) {
  const { busy, run } = useApplicationAction(page);
  const mayLift = can(me, "kyc", "lift_freeze");
  const lift = (event: FormEvent<HTMLFormElement>, applicationId: string) => {
    event.preventDefault();
    const form = event.currentTarget;
    const reason = String(new FormData(form).get("reason") ?? "").trim();
    void run(
      () => rpc.kyc.onchain.liftFreeze({ applicationId, reason }),
      "Freeze lifted; Kit is unfreezing the wallets.",
      {
        onSuccess: () => form.reset(),
      },
    );
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
                <form onSubmit={(event) => lift(event, c.applicationId)}>
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
            <Hex value={w.wallet} /> on <Hex value={w.token} />{" "}
            <Badge tone={FREEZE_LABELS[w.status].tone}>{FREEZE_LABELS[w.status].label}</Badge>
            {w.frozenBefore && <span className="muted"> (frozen by its issuer before)</span>}
            {w.error && <p className="error">{w.error}</p>}
          </li>
        ))}
      </ul>
    </Card>
  );
}
