/** Starts the real server in-process on free loopback ports with a given option list. */
import { loadServeConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { createOpsLogger } from '../../src/audit/index.js';

export interface TestServer extends RunningServer {
  readonly grpcAddress: string;
  readonly httpBase: string;
}

export async function startTestServer(args: string[], env: Record<string, string> = {}, now?: () => number): Promise<TestServer> {
  const { config, errors } = loadServeConfig(
    ['--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--log-level', 'silent', ...args],
    env,
    process.cwd(),
  );
  if (config === null) throw new Error(errors.join('\n'));
  const server = await startServer(config, { opsLogger: createOpsLogger('silent'), ...(now === undefined ? {} : { now }) });
  return { ...server, grpcAddress: `127.0.0.1:${server.grpcPort}`, httpBase: `http://127.0.0.1:${server.httpPort}` };
}
