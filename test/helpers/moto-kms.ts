import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { freePort } from './postgres.js';

/**
 * moto's KMS (`python3 -m moto.server`, a real KMS API: it encrypts, and refuses a ciphertext whose
 * encryption context differs) on a free loopback port, behind a small proxy that fills two moto 5.2 gaps:
 *
 * - moto does not refuse a disabled key: GenerateDataKey and Decrypt still work (AWS: DisabledException).
 *   The proxy asks moto for the key's state (DescribeKey) after each such call and answers AWS's error
 *   when moto says Disabled (or PendingDeletion: KMSInvalidStateException).
 * - With IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT), moto answers a denied KMS call with an XML error that
 *   no JSON client can read; the proxy turns it into AWS's JSON error (AccessDeniedException). moto matches
 *   KMS policies against the resource "*" only, so the tests' policies use "*".
 *
 * Everything else goes to moto unchanged (headers too: the SigV4 signature covers the Host).
 */

/** Credentials of a moto IAM user. */
export interface MotoCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A running moto KMS with its proxy. */
export interface MotoKms {
  /** KMS endpoint for clients (the proxy). */
  endpoint: string;
  region: string;
  /** Allowed everything (an IAM user when IAM is enforced). */
  admin: MotoCredentials;
  /** A KMS client through the proxy (admin credentials unless given). */
  client(credentials?: MotoCredentials): KMSClient;
  /** Creates a symmetric key; returns its id and ARN. */
  createKey(): Promise<{ keyId: string; arn: string }>;
  disableKey(keyId: string): Promise<void>;
  /** With IAM enforced: an IAM user allowed exactly `actions` (on "*", see above). */
  user(name: string, actions: string[]): Promise<MotoCredentials>;
  /** Holds every call of `operation` (e.g. "GenerateDataKey") back this long before it reaches moto. */
  delay(operation: string, ms: number): void;
  /** KMS operations seen by the proxy, in order. */
  readonly operations: string[];
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const ANONYMOUS: MotoCredentials = { accessKeyId: 'AKIAMOTOSETUP0000000', secretAccessKey: 'moto-setup' };
/** With IAM enforced, the first three calls are not authorized: they create the admin user. */
const SETUP_CALLS = 3;

/** Starts moto and the proxy; `enforceIam` makes moto check every call against the IAM users' policies. */
export async function startMotoKms(opts: { enforceIam?: boolean } = {}): Promise<MotoKms> {
  const port = await freePort();
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, ...(opts.enforceIam ? { INITIAL_NO_AUTH_ACTION_COUNT: String(SETUP_CALLS) } : {}) },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, exited);
  const moto = `http://127.0.0.1:${port}`;
  const iamFor = (credentials: MotoCredentials) => new IAMClient({ endpoint: moto, region: REGION, credentials });
  let admin = ANONYMOUS;
  if (opts.enforceIam) {
    const iam = iamFor(ANONYMOUS);
    admin = await createUser(iam, 'moto-admin', ['*']);
    iam.destroy();
  }
  const direct = new KMSClient({ endpoint: moto, region: REGION, credentials: admin });
  const delays = new Map<string, number>();
  const operations: string[] = [];
  const proxy = await startProxy(port, { delays, operations, keyState: async (keyId) => (await direct.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState });
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const clients: KMSClient[] = [];
  const client = (credentials = admin) => {
    const made = new KMSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
    clients.push(made);
    return made;
  };
  return {
    endpoint,
    region: REGION,
    admin,
    client,
    async createKey() {
      const meta = (await direct.send(new CreateKeyCommand({ Description: 'ECS Exec session key (test)' }))).KeyMetadata!;
      return { keyId: meta.KeyId!, arn: meta.Arn! };
    },
    async disableKey(keyId) {
      // moto's DisableKey takes a key id, not an ARN (it looks the ARN up as an id and fails).
      await direct.send(new DisableKeyCommand({ KeyId: keyId.slice(keyId.lastIndexOf('/') + 1) }));
    },
    async user(name, actions) {
      if (!opts.enforceIam) throw new Error('moto-kms: users need enforceIam');
      const iam = iamFor(admin);
      try {
        return await createUser(iam, name, actions);
      } finally {
        iam.destroy();
      }
    },
    delay: (operation, ms) => delays.set(operation, ms),
    operations,
    async stop() {
      for (const c of clients) c.destroy();
      direct.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Creates IAM user `name` allowed `actions` on "*"; returns its access key. */
export async function createUser(iam: IAMClient, name: string, actions: string[]): Promise<MotoCredentials> {
  await iam.send(new CreateUserCommand({ UserName: name }));
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'test', PolicyDocument: JSON.stringify(policy) }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
}

/** Waits until moto accepts TCP connections (no HTTP request: with IAM enforced, every request counts). */
export async function waitForPort(port: number, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300; i++) {
    if (gone) throw new Error('moto.server exited before it listened; is moto installed (python3 -m moto.server)?');
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`moto.server did not listen on port ${port}`);
}

interface ProxyState {
  delays: Map<string, number>;
  operations: string[];
  keyState(keyId: string): Promise<string | undefined>;
}

function startProxy(motoPort: number, state: ProxyState): Promise<ReturnType<typeof createServer>> {
  const server = createServer((req, res) => {
    void relay(req, res, motoPort, state).catch(() => res.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function relay(req: IncomingMessage, res: ServerResponse, motoPort: number, state: ProxyState): Promise<void> {
  const body = await readAll(req);
  const operation = String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
  if (req.headers['x-amz-target']) state.operations.push(operation);
  const delay = state.delays.get(operation) ?? 0;
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  const upstream = await forward(req, body, motoPort);
  if (upstream.status === 403 && upstream.body.subarray(0, 1).toString() === '<') {
    sendError(res, xmlErrorToAws(upstream.body.toString('utf8')));
    return;
  }
  if (upstream.status === 200 && (operation === 'GenerateDataKey' || operation === 'Decrypt')) {
    const keyId = (JSON.parse(upstream.body.toString('utf8')) as { KeyId?: string }).KeyId;
    const keyState = keyId ? await state.keyState(keyId) : undefined;
    if (keyState === 'Disabled') return sendError(res, { type: 'DisabledException', message: `${keyId} is disabled.` });
    if (keyState === 'PendingDeletion') return sendError(res, { type: 'KMSInvalidStateException', message: `${keyId} is pending deletion.` });
  }
  res.writeHead(upstream.status, upstream.headers);
  res.end(upstream.body);
}

function forward(req: IncomingMessage, body: Buffer, port: number): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const out = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent: false }, (upstream) => {
      readAll(upstream).then((data) => resolve({ status: upstream.statusCode ?? 502, headers: upstream.headers, body: data }), reject);
    });
    out.on('error', reject);
    out.end(body);
  });
}

/** moto's `<ErrorResponse>…<Code>AccessDenied</Code><Message>…` as the JSON error KMS itself sends. */
function xmlErrorToAws(xml: string): { type: string; message: string } {
  const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? 'AccessDenied';
  const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? 'Access denied';
  const type = { AccessDenied: 'AccessDeniedException', InvalidClientTokenId: 'UnrecognizedClientException', SignatureDoesNotMatch: 'InvalidSignatureException' }[code] ?? code;
  return { type, message };
}

function sendError(res: ServerResponse, error: { type: string; message: string }): void {
  const text = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
