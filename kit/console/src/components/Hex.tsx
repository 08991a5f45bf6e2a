// An address or a hash, shortened to read in a table; the whole value is its title (hover, copy).
import { shortHex } from "../format";

export function Hex({ value }: { value: string }) {
  return <code title={value}>{shortHex(value)}</code>;
}
