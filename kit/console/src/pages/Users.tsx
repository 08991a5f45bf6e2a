// Users and roles (admin): search, filter by role, page newest first (by cursor), change a role,
// ban (with a reason) or lift a ban, end a user's sessions. Kit refuses an admin demoting or
// banning themselves; that answer is shown as it comes.
import { type FormEvent, useEffect, useState } from "react";
import { type Me, ROLES, type RoleName, rpc, type UserView } from "../api";
import { Alert } from "../components/Alert";
import { DataTable } from "../components/DataTable";
import { Options } from "../components/Options";
import { Outcome, useAction } from "../components/Outcome";
import { Page } from "../components/Page";
import { Pager, useCursorPaging } from "../components/Pager";
import { formatTime, roleLabel } from "../format";
import { useLoad } from "../hooks";

const PAGE_SIZE = 25;

export function UsersPage({ me }: { me: Me }) {
  const [search, setSearch] = useState("");
  const [role, setRole] = useState<RoleName | "">("");
  // New filters (and a search again) start over at the first page.
  const paging = useCursorPaging(PAGE_SIZE);
  const { cursor } = paging;
  const users = useLoad(
    () => rpc.users.list({ search: search || undefined, role: role || undefined, cursor, limit: PAGE_SIZE }),
    [search, role, cursor],
  );

  const applySearch = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setSearch(String(new FormData(event.currentTarget).get("search") ?? "").trim());
    paging.restart();
  };

  return (
    <Page heading="Users and roles" headingId="users-title" tabTitle="Users">
      <form className="filters" onSubmit={applySearch} aria-label="Find users">
        <label>
          E-mail or name
          <input name="search" type="search" defaultValue={search} />
        </label>
        <button type="submit">Search</button>
        <label>
          Role
          <select
            value={role}
            onChange={(e) => {
              setRole(e.target.value as RoleName | "");
              paging.restart();
            }}
          >
            <option value="">Any role</option>
            <Options values={ROLES} label={roleLabel} />
          </select>
        </label>
      </form>
      <Alert>{users.error}</Alert>
      <DataTable
        columns={["E-mail", "Name", "Since", "State", "Role", "Access"]}
        busy={users.loading}
        empty={users.data?.items.length === 0 && "No user matches."}
      >
        {users.data?.items.map((user) => (
          <UserRow key={user.id} user={user} me={me} onChanged={users.reload} />
        ))}
      </DataTable>
      <Pager paging={paging} page={users.data} noun="Users" none="No users" />
    </Page>
  );
}

function UserRow({ user, me, onChanged }: { user: UserView; me: Me; onChanged: () => Promise<void> }) {
  const { role, setRole, banning, setBanning, busy, outcome, save, ban, unban, endSessions } = useUserActions(
    user,
    onChanged,
  );
  const selectId = `role-${user.id}`;
  const reasonId = `ban-reason-${user.id}`;
  return (
    <tr>
      <td>
        {user.email}
        {user.id === me.user.id && " (you)"}
      </td>
      <td>{user.name}</td>
      <td>{formatTime(user.createdAt)}</td>
      <td>{user.banned ? `Banned${user.banReason ? `: ${user.banReason}` : ""}` : "Active"}</td>
      <td>
        <label htmlFor={selectId} className="visually-hidden">
          Role of {user.email}
        </label>
        <select id={selectId} value={role} onChange={(e) => setRole(e.target.value as RoleName)}>
          <Options values={ROLES} label={roleLabel} />
        </select>{" "}
        <button type="button" disabled={busy || role === user.role} onClick={() => void save()}>
          Save
        </button>
      </td>
      <td>
        {user.banned ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => void unban()}
            aria-label={`Lift the ban on ${user.email}`}
          >
            Lift ban
          </button>
        ) : banning ? (
          <form onSubmit={ban} aria-label={`Ban ${user.email}`}>
            <label htmlFor={reasonId}>Reason</label> <input id={reasonId} name="reason" required maxLength={500} />{" "}
            <button type="submit" disabled={busy}>
              Ban user
            </button>{" "}
            <button type="button" onClick={() => setBanning(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <button type="button" disabled={busy} onClick={() => setBanning(true)} aria-label={`Ban ${user.email}`}>
            Ban
          </button>
        )}{" "}
        <button
          type="button"
          disabled={busy}
          onClick={() => void endSessions()}
          aria-label={`End the sessions of ${user.email}`}
        >
          End sessions
        </button>
        {outcome && " "}
        <Outcome outcome={outcome} inline />
      </td>
    </tr>
  );
}

/** A row's admin actions (role, ban, lift the ban, end sessions) and the form state they need. */
function useUserActions(user: UserView, onChanged: () => Promise<void>) {
  const [role, setRole] = useState<RoleName>(user.role);
  const [banning, setBanning] = useState(false);
  useEffect(() => setRole(user.role), [user.role]);
  // Each admin action's outcome is said beside the row, and the list is read again.
  const { busy, outcome, run: act } = useAction(onChanged);

  const save = () =>
    act(
      async () => {
        await rpc.users.setRole({ id: user.id, role });
        return "Saved.";
      },
      () => setRole(user.role),
    );
  const ban = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get("reason") ?? "").trim();
    void act(async () => {
      await rpc.users.ban({ id: user.id, reason });
      setBanning(false);
      return "Banned; their sessions are ended.";
    });
  };
  const unban = () =>
    act(async () => {
      await rpc.users.unban({ id: user.id });
      return "Ban lifted.";
    });
  const endSessions = () =>
    act(async () => {
      const { revoked } = await rpc.users.revokeSessions({ id: user.id });
      return `Ended ${revoked} session${revoked === 1 ? "" : "s"}.`;
    });

  return { role, setRole, banning, setBanning, busy, outcome, save, ban, unban, endSessions };
}
