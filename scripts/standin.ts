import { KMSClient } from '@aws-sdk/client-kms';
import { Command, InvalidArgumentError } from 'commander';
import { errorMessage } from '../functions/shared/errors.js';
import { loadDefinitionFile } from './standin/definition.js';
import { REAL_AGENT_TIMINGS, startStandin, type StandinFaults } from './standin/index.js';

/** CLI: runs the ECS + ECS Exec agent stand-in until SIGINT/SIGTERM, after printing its endpoint as JSON. */
async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('standin')
    .description('Local stand-in for the ECS API and the ECS Exec agent (data channel), for tests and the demo.')
    // checked after parsing, so an unknown option is reported as such rather than as a missing --definition
    .option('--definition <file>', 'JSON definition of clusters, tasks and containers (required)')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', parsePort)
    .option('--faults <json>', 'faults to inject, as JSON (see scripts/standin/faults.ts)', parseFaults)
    .option('--real-timings', "use the real agent's 1 s initial silence", false)
    .option('--kms-endpoint <url>', 'KMS the agent decrypts session data keys with, for clusters with a kmsKeyId (e.g. moto: http://127.0.0.1:5000)', parseUrl)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv);
    if (program.opts().definition === undefined) program.error("error: required option '--definition <file>' not specified");
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const opts = program.opts<{ definition: string; port?: number; faults?: StandinFaults; realTimings: boolean; kmsEndpoint?: string }>();
  const definition = await loadDefinitionFile(opts.definition);
  // The agent's KMS credentials come from the usual chain (moto accepts any).
  const kms = opts.kmsEndpoint === undefined ? undefined : new KMSClient({ endpoint: opts.kmsEndpoint, region: definition.region ?? 'us-east-1' });
  const standin = await startStandin(definition, {
    port: opts.port,
    faults: opts.faults,
    timings: opts.realTimings ? REAL_AGENT_TIMINGS : undefined,
    ...(kms ? { kms } : {}),
  });
  const info = {
    endpoint: standin.endpoint,
    region: standin.region,
    accountId: standin.accountId,
    credentials: standin.credentials,
    env: {
      AWS_ENDPOINT_URL_ECS: standin.endpoint,
      AWS_ENDPOINT_URL_SSM: standin.endpoint,
      AWS_REGION: standin.region,
      AWS_ACCESS_KEY_ID: standin.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: standin.credentials.secretAccessKey,
    },
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await standin.stop();
  kms?.destroy();
  return 0;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

function parseUrl(value: string): string {
  if (!/^https?:\/\/[^/]+/.test(value)) throw new InvalidArgumentError('must be an http(s) URL');
  return value;
}

function parseFaults(value: string): StandinFaults {
  try {
    return JSON.parse(value) as StandinFaults;
  } catch {
    throw new InvalidArgumentError('must be a JSON object');
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
