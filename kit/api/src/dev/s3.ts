// An S3-compatible server (s3rver) in-process, for development and tests. It accepts only the
// access key id "S3RVER" and does not verify signatures: see README, "S3 in development".
import S3rver from "s3rver";

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startLocalS3(options: {
  directory: string;
  port?: number;
  keepData?: boolean;
}): Promise<LocalS3> {
  const server = new S3rver({
    port: options.port ?? 0,
    address: "127.0.0.1",
    directory: options.directory,
    silent: true,
    resetOnClose: !options.keepData,
  });
  const { port } = await server.run();
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      stopped ??= server.close();
      await stopped;
    },
  };
}
