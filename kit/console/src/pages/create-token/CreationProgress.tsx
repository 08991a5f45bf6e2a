// The creation operation as it goes: its status in words, the token's address, then a link to it.
import type { OperationView } from "../../api";
import { Card } from "../../components/Card";
import { OPERATION_STATUS_LABELS } from "../../format";
import { Link } from "../../router";

export function CreationProgress({ operation }: { operation: OperationView }) {
  return (
    <Card heading="Creation" headingId="create-token-progress">
      <p role="status">
        {OPERATION_STATUS_LABELS[operation.status]}
        {operation.status === "failed" && operation.error ? `: ${operation.error.message}` : ""}
      </p>
      <p>
        Address <code>{operation.token}</code>
      </p>
      {operation.status === "confirmed" && <Link to={`/tokens/${operation.token}`}>Open the new token</Link>}
    </Card>
  );
}
