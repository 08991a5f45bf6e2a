// A TCP proxy a test puts between Kit and a dependency (Postgres) to take the dependency away
// without stopping the shared server: `cut` drops every connection and refuses new ones, as a
// stopped database does; `cutOn` does the same the moment a client sends certain bytes (a query
// carrying a given value), so the failure lands on that very statement.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The target URL with its host and port replaced by the proxy's. */
  url: string;
  /** Drops every open connection; new ones are closed at once until `restore`. */
  cut(): void;
  /** Cuts (as `cut`) when bytes sent by a client contain `marker`; they are not forwarded. */
  cutOn(marker: string): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  let marker: Buffer | undefined;

  const cut = () => {
    down = true;
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  const server: Server = createServer((client) => {
    client.on("error", () => {});
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: targetPort });
    upstream.on("error", () => client.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forget = () => pairs.delete(pair);
    client.on("close", () => {
      forget();
      upstream.destroy();
    });
    upstream.on("close", () => {
      forget();
      client.destroy();
    });
    client.on("data", (chunk: Buffer) => {
      if (marker && chunk.includes(marker)) {
        marker = undefined;
        cut();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("proxy has no port");
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(address.port);

  return {
    url: url.toString(),
    cut,
    cutOn: (text) => {
      marker = Buffer.from(text);
    },
    restore: () => {
      down = false;
      marker = undefined;
    },
    stop: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
