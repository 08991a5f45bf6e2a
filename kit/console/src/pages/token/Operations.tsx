// The token's operations, newest first, paged by cursor; each row follows its operation live, and
// the first page reads itself again when a new one appears (requested here or by another issuer).
import { useEffect, useRef } from "react";
import { type Me, rpc } from "../../api";
import { Alert } from "../../components/Alert";
import { Card } from "../../components/Card";
import { DataTable } from "../../components/DataTable";
import { Pager, useCursorPaging } from "../../components/Pager";
import { formatTime, OPERATION_KIND_LABELS } from "../../format";
import { useLoad } from "../../hooks";
import { Link } from "../../router";
import { useOperationEvents, useOperationsLive } from "./live";
import { OperationParameters, OperationState, requesterName, type TokenUnits } from "./OperationDetails";

const PAGE_SIZE = 10;

export function OperationsCard({ me, address, units }: { me: Me; address: string; units: TokenUnits }) {
  const live = useOperationsLive();
  const paging = useCursorPaging(PAGE_SIZE, address);
  const { cursor } = paging;
  const operations = useLoad(
    () => rpc.tokens.operations.list({ address, cursor, limit: PAGE_SIZE }),
    [address, cursor, live.connections],
  );

  // A new operation belongs at the top of the first page; changes of listed ones show through `latest`.
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useOperationEvents((operation) => {
    if (paging.hasPrevious || operations.data?.items.some((o) => o.id === operation.id)) return;
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => void operations.reload(), 150);
  });
  useEffect(() => () => clearTimeout(reloadTimer.current), []);

  return (
    <Card heading="Operations" headingId="operations-title">
      <Alert>{operations.error}</Alert>
      <DataTable
        className="operations"
        columns={["Requested", "Operation", "Details", "By", "Status"]}
        busy={operations.loading}
        empty={operations.data?.items.length === 0 && "No operation on this token yet."}
      >
        {operations.data?.items.map((listed) => {
          const operation = live.latest(listed);
          const waitsForOthers = operation.status === "awaiting_approval" && operation.requestedBy !== me.user.id;
          return (
            <tr key={operation.id}>
              <td>{formatTime(operation.createdAt)}</td>
              <td>{OPERATION_KIND_LABELS[operation.kind]}</td>
              <td>
                <OperationParameters operation={operation} units={units} />
              </td>
              <td>{requesterName(me, operation.requestedBy)}</td>
              <td>
                <OperationState operation={operation} />
                {operation.decidedBy && operation.status !== "rejected" && (
                  <div className="muted">
                    Approved by {requesterName(me, operation.decidedBy).toLowerCase()}: {operation.decisionReason}
                  </div>
                )}
                {waitsForOthers && (
                  <>
                    {" "}
                    <Link to="/approvals">Decide in Approvals</Link>
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </DataTable>
      <Pager paging={paging} page={operations.data} noun="Operations" none="No operations" />
    </Card>
  );
}
