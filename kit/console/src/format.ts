// How values read to a person: statuses and roles in words, times in the browser's locale, countries by name.
import type { KycStatus, RoleName } from "./api";

export const STATUS_LABELS: Record<KycStatus, string> = {
  draft: "Draft",
  submitted: "Submitted",
  in_review: "In review",
  approved: "Approved",
  rejected: "Rejected",
  changes_requested: "Changes requested",
  expired: "Expired",
  revoked: "Revoked",
};

export function roleLabel(role: RoleName): string {
  return role.replace("_", " ");
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const regions = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

export function formatTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function countryName(code: string | null | undefined): string {
  if (!code) return "—";
  return `${regions.of(code) ?? code} (${code})`;
}

export function fullName(person: { firstName: string | null; lastName: string | null }): string {
  return [person.firstName, person.lastName].filter(Boolean).join(" ") || "(no name yet)";
}

const plurals = new Intl.PluralRules("en");

/** "1 rate", "3 rates": a count as a person reads it (`plural` when adding an s is wrong). */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${plurals.select(count) === "one" ? singular : plural}`;
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}
