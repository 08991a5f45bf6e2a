// What createKitClient sends, seen by a fetch that records instead of calling Kit.
import { expect, test } from "bun:test";
import { createKitClient } from "./index";

function recordingFetch() {
  const calls: { url: string; headers: Headers; credentials: RequestCredentials | undefined }[] = [];
  const fetch = async (input: Request | string | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, headers: new Headers(init?.headers), credentials: init?.credentials });
    return Response.json({ json: { version: "test" } });
  };
  return { calls, fetch };
}

test("RPC goes to /rpc and auth to /api/auth, each with the client's headers and credentials", async () => {
  const { calls, fetch } = recordingFetch();
  let token = "first";
  const kit = createKitClient({
    baseUrl: "https://kit.example.com/",
    fetch,
    headers: () => ({ authorization: `Bearer ${token}` }),
  });

  await kit.rpc.system.info().catch(() => {});
  token = "second";
  await kit.auth.getSession().catch(() => {});

  expect(calls.map((c) => c.url)).toEqual([
    "https://kit.example.com/rpc/system/info",
    "https://kit.example.com/api/auth/get-session",
  ]);
  // The function is asked on every request: a refreshed token is used at once.
  expect(calls.map((c) => c.headers.get("authorization"))).toEqual(["Bearer first", "Bearer second"]);
  expect(calls.map((c) => c.credentials)).toEqual(["include", "include"]);
});

test("a header set on the call wins over the client's; credentials can be turned off", async () => {
  const { calls, fetch } = recordingFetch();
  const kit = createKitClient({
    baseUrl: "https://kit.example.com",
    fetch,
    headers: { "x-api-key": "kit_client", "x-trace": "client" },
    credentials: "omit",
  });
  await kit.auth.getSession({ fetchOptions: { headers: { "x-trace": "call" } } }).catch(() => {});
  expect(calls[0]?.headers.get("x-api-key")).toBe("kit_client");
  expect(calls[0]?.headers.get("x-trace")).toBe("call");
  expect(calls[0]?.credentials).toBe("omit");
});

test("a header whose value is undefined is not sent (a bearer token not there yet)", async () => {
  const { calls, fetch } = recordingFetch();
  let token: string | undefined;
  const kit = createKitClient({
    baseUrl: "https://kit.example.com",
    fetch,
    headers: () => ({ authorization: token ? `Bearer ${token}` : undefined, "x-trace": "client" }),
  });
  await kit.rpc.system.info().catch(() => {});
  token = "abc";
  await kit.rpc.system.info().catch(() => {});
  expect(calls.map((c) => c.headers.get("authorization"))).toEqual([null, "Bearer abc"]);
  expect(calls[0]?.headers.get("x-trace")).toBe("client");
  // Not a browser here: Kit's own origin goes along, as better-auth wants of cookie requests.
  expect(calls.map((c) => c.headers.get("origin"))).toEqual(["https://kit.example.com", "https://kit.example.com"]);
});
