// The signal handler in a real child process: a nested `bun run` repeats each Ctrl-C, which must
// not cut the graceful stop short; a second Ctrl-C pressed later still exits at once.
import { expect, test } from "bun:test";
import { join } from "node:path";

const child = () => {
  const script = `
    import { handleShutdownSignals } from ${JSON.stringify(join(import.meta.dir, "shutdown.ts"))};
    const log = { info: (_o, m) => console.log(m ?? _o), warn: (_o, m) => console.log(m), error: (_o, m) => console.log(m) };
    handleShutdownSignals(log, 5000, () => Bun.sleep(1500).then(() => console.log("pools closed")));
    console.log("ready");
    setInterval(() => {}, 1000);
  `;
  return Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "inherit" });
};

async function untilReady(process: ReturnType<typeof child>): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = process.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("ready");
  return reader;
}

async function rest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += new TextDecoder().decode(value);
  }
}

test("the same Ctrl-C delivered twice stops gracefully and exits 0", async () => {
  const process = child();
  const reader = await untilReady(process);
  process.kill("SIGINT");
  await Bun.sleep(20);
  process.kill("SIGINT");
  expect(await process.exited).toBe(0);
  const output = await rest(reader);
  expect(output).toContain("pools closed");
  expect(output).not.toContain("second signal");
});

test("a second Ctrl-C well after the first exits at once", async () => {
  const process = child();
  const reader = await untilReady(process);
  process.kill("SIGINT");
  await Bun.sleep(800);
  process.kill("SIGINT");
  expect(await process.exited).toBe(1);
  const output = await rest(reader);
  expect(output).toContain("second signal");
  expect(output).not.toContain("pools closed");
});
