import { IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListMultipartUploadsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUser, waitForPort, type MotoCredentials } from './moto-kms.js';
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
  /** Another client like `client` (for tests that add middleware); the caller destroys it. */
  newClient(): S3Client;
  /** Ids of the bucket's multipart uploads started and neither completed nor aborted (of one key if given). */
  openUploads(key?: string): Promise<string[]>;
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

/** Starts moto on 127.0.0.1 and creates `bucket` (default "backups") with versioning enabled (unless `versioning: false`). */
export async function startMotoS3(opts: { bucket?: string; versioning?: boolean } = {}): Promise<MotoS3> {
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
  const newClient = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'MOTO', secretAccessKey: 'MOTO' },
    });
  const client = newClient();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  if (opts.versioning !== false) {
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  return {
    endpoint,
    bucket,
    client,
    newClient,
    async openUploads(key) {
      const ids: string[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const u of page.Uploads ?? []) if (u.UploadId !== undefined && (key === undefined || u.Key === key)) ids.push(u.UploadId);
        [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
      } while (keyMarker !== undefined);
      return ids;
    },
    async stop() {
      client.destroy();
      await stop();
    },
  };
}

/** moto's server for every service, with or without IAM enforcement, and credentials allowed everything. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Allowed everything: with IAM enforced an IAM user with a "*" policy, else any key. */
  admin: MotoCredentials;
  stop(): Promise<void>;
}

const MOTO_SERVER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'moto_server.py');
/** With IAM enforced, the first three calls are not authorized: they create the admin user. */
const ADMIN_SETUP_CALLS = 3;

/**
 * Starts moto (test/helpers/moto_server.py: moto.server plus the fixes it documents) on a free loopback
 * port. `enforceIam` makes moto check every call's signature and the caller's IAM policies
 * (INITIAL_NO_AUTH_ACTION_COUNT): an assumed role's credentials can do exactly what its policies allow.
 * `awsManagedPolicies` loads AWS's managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES; moto leaves them out
 * by default), so a role can attach one (AWS Backup's service role).
 */
export async function startMotoServer(opts: { enforceIam?: boolean; awsManagedPolicies?: boolean } = {}): Promise<MotoServer> {
  const port = await freePort();
  const child = spawn('python3', [MOTO_SERVER_SCRIPT, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      ...(opts.enforceIam ? { INITIAL_NO_AUTH_ACTION_COUNT: String(ADMIN_SETUP_CALLS) } : {}),
      ...(opts.awsManagedPolicies ? { MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' } : {}),
    },
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForPort(port, exited);
    let admin: MotoCredentials = { accessKeyId: 'AKIAMOTOADMIN0000000', secretAccessKey: 'moto-admin' };
    if (opts.enforceIam) {
      const iam = new IAMClient({ endpoint, region: 'us-east-1', credentials: admin });
      admin = await createUser(iam, 'moto-admin', ['*']).finally(() => iam.destroy());
    }
    return { endpoint, admin, stop };
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${stderr.trim()}`);
  }
}
