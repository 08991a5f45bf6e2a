// A table of records: a header for each column, the rows the page draws, and a line in words
// across the table when there are none.
import type { ReactNode } from "react";

/** A column's header; a numeric one is right-aligned, as its cells are (`<td className="number">`). */
export type Column = string | { label: string; numeric: true };

export function DataTable({
  columns,
  empty,
  busy,
  caption,
  label,
  className,
  children,
}: {
  columns: Column[];
  /** Said across the table in place of rows; no line while false or absent. */
  empty?: ReactNode;
  /** While the rows are (re)loading. */
  busy?: boolean;
  /** What the table lists, for screen readers only. */
  caption?: string;
  /** The table's accessible name, where no caption or heading gives one. */
  label?: string;
  className?: string;
  /** The rows (`<tr>`). */
  children: ReactNode;
}) {
  return (
    <table className={className} aria-busy={busy} aria-label={label}>
      {caption && <caption className="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          {columns.map((column) =>
            typeof column === "string" ? (
              <th key={column} scope="col">
                {column}
              </th>
            ) : (
              <th key={column.label} scope="col" className="number">
                {column.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>
        {children}
        {empty && (
          <tr>
            <td colSpan={columns.length} className="empty">
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
