import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { freePort } from './postgres.js';

/**
 * moto's server (`python3 -m moto.server`) on a free loopback port, as the tests' S3 with real versioning:
 * one bucket, created and versioned at start. moto takes any credentials; path-style addressing.
 */

/** A running moto server with a versioned bucket and a client for it. */
export interface MotoS3 {
  /** `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL_S3 (and any other service moto serves). */
  endpoint: string;
  bucket: string;
  client: S3Client;
  stop(): Promise<void>;
}

async function waitUntilUp(endpoint: string, exited: () => string | null): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const gone = exited();
    if (gone !== null) throw new Error(`moto server exited before it answered: ${gone}`);
    try {
      // moto answers its own dashboard route once the server is listening
      if ((await fetch(`${endpoint}/moto-api/`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`moto server at ${endpoint} did not answer within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts moto on 127.0.0.1 and creates `bucket` (default "backups") with versioning enabled. */
export async function startMotoS3(opts: { bucket?: string } = {}): Promise<MotoS3> {
  const bucket = opts.bucket ?? 'backups';
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exit: string | null = null;
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
  child.on('exit', (code, signal) => (exit = `${code ?? signal}: ${stderr.trim()}`));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exit !== null || child.pid === undefined) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  };
  try {
    await waitUntilUp(endpoint, () => exit);
  } catch (error) {
    await stop();
    throw error;
  }
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return {
    endpoint,
    bucket,
    client,
    async stop() {
      client.destroy();
      await stop();
    },
  };
}
