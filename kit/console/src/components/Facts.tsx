// What is known of one thing, as label–value pairs in two columns (a definition list).
import { Fragment, type ReactNode } from "react";

/** `facts` in the order written: each label and its value. */
export function Facts({ facts }: { facts: Record<string, ReactNode> }) {
  return (
    <dl className="facts">
      {Object.entries(facts).map(([label, value]) => (
        <Fragment key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
