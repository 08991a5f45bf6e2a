// A page of the console: a region named by its heading, and the browser tab saying where one is.
import { type ReactNode, useEffect } from "react";

/** Titles the browser tab ("… · Kit console") while the calling component is shown. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Kit console`;
  }, [title]);
}

/** `tabTitle` is the heading unless the tab wants a shorter one. */
export function Page({
  heading,
  headingId,
  tabTitle = heading,
  children,
}: {
  heading: string;
  headingId: string;
  tabTitle?: string;
  children: ReactNode;
}) {
  usePageTitle(tabTitle);
  return (
    <section aria-labelledby={headingId}>
      <h1 id={headingId}>{heading}</h1>
      {children}
    </section>
  );
}
