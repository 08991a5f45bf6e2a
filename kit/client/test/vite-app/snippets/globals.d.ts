// What the README's snippets take as given: a client, where Kit answers, a wallet account and the
// page's own helpers. A snippet that imports a name itself shadows these.
import type { createKitClient as CreateKitClient, KitClient } from "@kit/client";
import type { LocalAccount } from "viem";

declare global {
  const createKitClient: typeof CreateKitClient;
  const kit: KitClient;
  const baseUrl: string;
  const account: LocalAccount;
  function showMessage(message: string): void;
  function markField(path: string, message: string): void;
}
