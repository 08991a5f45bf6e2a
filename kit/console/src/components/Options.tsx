// The choices of a <select>: an <option> a value, in the order given, each said in words.
import type { ReactNode } from "react";

export function Options<T extends string>({
  values,
  label = (value) => value,
}: {
  values: readonly T[];
  label?: (value: T) => ReactNode;
}) {
  return values.map((value) => (
    <option key={value} value={value}>
      {label(value)}
    </option>
  ));
}
