// Users and roles (admin): search, filter by role, change a role. Kit refuses an admin demoting
// themselves; that answer is shown as it comes.
import { type FormEvent, useEffect, useState } from "react";
import { describeError, type Me, ROLES, type RoleName, rpc, type UserView } from "../api";
import { formatTime } from "../format";
import { useLoad } from "../hooks";

const PAGE_SIZE = 25;

export function UsersPage({ me }: { me: Me }) {
  const [search, setSearch] = useState("");
  const [role, setRole] = useState<RoleName | "">("");
  const [page, setPage] = useState(1);
  const users = useLoad(
    () => rpc.users.list({ search: search || undefined, role: role || undefined, page, pageSize: PAGE_SIZE }),
    [search, role, page],
  );
  useEffect(() => {
    document.title = "Users · Kit console";
  }, []);

  const applySearch = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setSearch(String(new FormData(event.currentTarget).get("search") ?? "").trim());
    setPage(1);
  };

  const total = users.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and roles</h1>
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
              setPage(1);
            }}
          >
            <option value="">Any role</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r.replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
      </form>
      {users.error && (
        <p role="alert" className="error">
          {users.error}
        </p>
      )}
      <table aria-busy={users.loading}>
        <thead>
          <tr>
            <th scope="col">E-mail</th>
            <th scope="col">Name</th>
            <th scope="col">Since</th>
            <th scope="col">State</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((user) => (
            <UserRow key={user.id} user={user} me={me} onChanged={users.reload} />
          ))}
          {users.data?.items.length === 0 && (
            <tr>
              <td colSpan={5} className="empty">
                No user matches.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          ← Previous
        </button>
        <span>
          Page {page} of {pages} · {total} users
        </span>
        <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
          Next →
        </button>
      </nav>
    </section>
  );
}

function UserRow({ user, me, onChanged }: { user: UserView; me: Me; onChanged: () => Promise<void> }) {
  const [role, setRole] = useState<RoleName>(user.role);
  const [message, setMessage] = useState<{ error: boolean; text: string }>();
  const [busy, setBusy] = useState(false);
  useEffect(() => setRole(user.role), [user.role]);

  const save = async () => {
    setBusy(true);
    try {
      await rpc.users.setRole({ id: user.id, role });
      setMessage({ error: false, text: "Saved." });
      await onChanged();
    } catch (error) {
      setMessage({ error: true, text: describeError(error) });
      setRole(user.role);
    } finally {
      setBusy(false);
    }
  };

  const selectId = `role-${user.id}`;
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
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r.replace("_", " ")}
            </option>
          ))}
        </select>{" "}
        <button type="button" disabled={busy || role === user.role} onClick={() => void save()}>
          Save
        </button>
        {message && (
          <span role={message.error ? "alert" : "status"} className={message.error ? "error" : "muted"}>
            {" "}
            {message.text}
          </span>
        )}
      </td>
    </tr>
  );
}
