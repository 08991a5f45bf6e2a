// A card on a page: a region named by its own heading.
import type { ReactNode } from "react";

export function Card({
  heading,
  headingId,
  className,
  children,
}: {
  heading: ReactNode;
  headingId: string;
  /** Added to `card`, for a card laid out its own way. */
  className?: string;
  children: ReactNode;
}) {
  return (
    <section className={className ? `card ${className}` : "card"} aria-labelledby={headingId}>
      <h2 id={headingId}>{heading}</h2>
      {children}
    </section>
  );
}
