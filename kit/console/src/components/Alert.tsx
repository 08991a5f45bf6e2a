// What went wrong, in words, announced at once (role="alert"); nothing while there is nothing to say.
import type { ReactNode } from "react";

export function Alert({ id, children }: { id?: string; children: ReactNode }) {
  if (!children) return null;
  return (
    <p id={id} role="alert" className="error">
      {children}
    </p>
  );
}
