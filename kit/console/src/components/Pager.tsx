// Paging by cursor, both ways: Kit answers a page and the cursor of the next one; the console keeps
// the cursors of the pages it has passed, to go back.
import { useState } from "react";

export interface CursorPaging {
  /** The current page's cursor; none on the first page. */
  cursor: string | undefined;
  /** Where the current page starts, counting rows from 1. */
  first: number;
  hasPrevious: boolean;
  previous(): void;
  next(cursor: string): void;
  /** Back to the first page. */
  restart(): void;
}

/** The cursors of the pages passed so far, the current one last. A new `key` (the filters) starts at the first page. */
export function useCursorPaging(pageSize: number, key = ""): CursorPaging {
  const [paging, setPaging] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key,
    cursors: [undefined],
  });
  const cursors = paging.key === key ? paging.cursors : [undefined];
  return {
    cursor: cursors[cursors.length - 1],
    first: (cursors.length - 1) * pageSize + 1,
    hasPrevious: cursors.length > 1,
    previous: () => setPaging({ key, cursors: cursors.slice(0, -1) }),
    next: (cursor) => setPaging({ key, cursors: [...cursors, cursor] }),
    restart: () => setPaging({ key, cursors: [undefined] }),
  };
}

/**
 * "← Previous · 26–50 · Next →" below a paged table; the last page also says the total ("of 60").
 * `noun` leads the range ("Users 1–25"); `none` is said for an empty page.
 */
export function Pager({
  paging,
  page,
  noun,
  none,
}: {
  paging: CursorPaging;
  page: { items: unknown[]; nextCursor: string | null } | undefined;
  noun?: string;
  none: string;
}) {
  const shown = page?.items.length ?? 0;
  const nextCursor = page?.nextCursor;
  const last = paging.first + shown - 1;
  const range = `${paging.first}–${last}${nextCursor ? "" : ` of ${last}`}`;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={!paging.hasPrevious} onClick={paging.previous}>
        ← Previous
      </button>
      <span>{shown === 0 ? none : noun ? `${noun} ${range}` : range}</span>
      <button
        type="button"
        disabled={!nextCursor}
        onClick={() => {
          if (nextCursor) paging.next(nextCursor);
        }}
      >
        Next →
      </button>
    </nav>
  );
}
