import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uploadFileResumable } from '../../functions/shared/adapters/s3-transfer.js';
import { startS3rver } from '../../test/helpers/s3rver.js';
import { timed } from './timed.js';

const MiB = 1024 * 1024;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** The CLI entry point; it runs `runUploadChild` when its first argument is `child`. */
const ENTRY = fileURLToPath(new URL('../bench.ts', import.meta.url));

/** Options of the upload benchmark. */
export interface UploadBenchOptions {
  sizeMiB: number;
  partMiB: number;
  concurrency: number;
  log: (line: string) => void;
}

/** Runs one Node uploader inside the child process (argv: tool file endpoint bucket key partMiB concurrency) and prints its own timing as JSON. */
export async function runUploadChild(argv: readonly string[]): Promise<void> {
  const [tool, file, endpoint, bucket, key, partMiB, concurrency] = argv as [string, string, string, string, string, string, string];
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
  const started = performance.now();
  let seconds = 0;
  if (tool === 'baseline') {
    // Loads the same modules and uploads nothing: the RSS every Node uploader starts from.
  } else if (tool === 'ours') {
    const result = await uploadFileResumable({
      s3,
      bucket,
      key,
      filePath: file,
      progressPath: `${file}.${key.replace(/\W/g, '_')}.progress.json`,
      partSizeBytes: Number(partMiB) * MiB,
      concurrency: Number(concurrency),
    });
    if (result.status !== 'complete') throw new Error(`upload paused: ${JSON.stringify(result)}`);
  } else {
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
      partSize: Number(partMiB) * MiB,
      queueSize: Number(concurrency),
    }).done();
  }
  if (tool !== 'baseline') seconds = (performance.now() - started) / 1000;
  s3.destroy();
  process.stdout.write(`${JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

interface Measured {
  tool: string;
  wallSeconds: number;
  transferSeconds: number | null;
  cpuSeconds: number;
  maxRssKiB: number;
}

async function measure(tool: string, command: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const res = await timed(tool, command, { env });
  const own = res.stdout.trim().split('\n').pop() ?? '';
  const transferSeconds = own.startsWith('{') ? (JSON.parse(own) as { seconds: number }).seconds : null;
  return { tool, wallSeconds: res.wallSeconds, transferSeconds, cpuSeconds: res.cpuSeconds, maxRssKiB: res.maxRssKiB };
}

async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; ) {
      const chunk = randomBytes(Math.min(left, 8 * MiB));
      hash.update(chunk);
      await fh.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function objectSha256(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of res.Body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

function awsCli(): string {
  for (const candidate of ['/usr/bin/aws', '/root/.pyenv/shims/aws']) if (existsSync(candidate)) return candidate;
  throw new Error('no aws CLI found: apt-get install -y awscli');
}

function table(rows: Measured[], bytes: number): string {
  const mbps = (s: number) => bytes / 1e6 / s;
  const base = rows[0]!;
  const lines = [
    '| uploader | wall s | MB/s (process) | MB/s (transfer only) | CPU s (user+sys) | peak RSS MiB | speed vs ours | CPU vs ours | RSS vs ours |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const uploads = r.transferSeconds !== 0;
    const speed = (v: string) => (uploads ? v : 'n/a');
    lines.push(
      `| ${r.tool} | ${r.wallSeconds.toFixed(1)} | ${speed(mbps(r.wallSeconds).toFixed(1))} | ` +
        `${speed(r.transferSeconds ? mbps(r.transferSeconds).toFixed(1) : 'n/a')} | ${r.cpuSeconds.toFixed(1)} | ${(r.maxRssKiB / 1024).toFixed(0)} | ` +
        `${speed((base.wallSeconds / r.wallSeconds).toFixed(2))} | ${(r.cpuSeconds / base.cpuSeconds).toFixed(2)} | ${(r.maxRssKiB / base.maxRssKiB).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Uploads one random file to a local s3rver with our resumable uploader, lib-storage's Upload and `aws s3 cp`, each in
 * its own child process under `/usr/bin/time -v`; every object is verified by sha256. Resolves to the report.
 */
export async function benchUpload(opts: UploadBenchOptions): Promise<string> {
  const { sizeMiB, partMiB, concurrency } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  const s3 = await startS3rver({ bucket: 'bench' });
  try {
    const bytes = sizeMiB * MiB;
    const file = join(dir, 'dump.bin');
    opts.log(`writing ${sizeMiB} MiB of random data...`);
    const expected = await writeRandomFile(file, bytes);
    const awsConfig = join(dir, 'aws-config');
    // Same part size and parallelism for every uploader, so the comparison is of the code, not the settings.
    await writeFile(awsConfig, `[default]\nregion = us-east-1\ns3 =\n  multipart_chunksize = ${partMiB}MB\n  max_concurrent_requests = ${concurrency}\n  addressing_style = path\n`);
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: awsConfig, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const node = (tool: string, key: string) => [process.execPath, '--import', 'tsx', ENTRY, 'child', tool, file, s3.endpoint, s3.bucket, key, String(partMiB), String(concurrency)];
    const aws = awsCli();
    const plans: { tool: string; key: string; command: string[] }[] = [
      { tool: 'ours (uploadFileResumable)', key: 'ours.bin', command: node('ours', 'ours.bin') },
      { tool: '@aws-sdk/lib-storage Upload', key: 'lib-storage.bin', command: node('lib-storage', 'lib-storage.bin') },
      { tool: `aws s3 cp (${aws})`, key: 'aws.bin', command: [aws, 's3', 'cp', '--only-show-errors', '--endpoint-url', s3.endpoint, file, `s3://${s3.bucket}/aws.bin`] },
      { tool: 'node baseline (modules loaded, no upload)', key: '', command: node('baseline', 'none') },
    ];
    const rows: Measured[] = [];
    for (const plan of plans) {
      opts.log(`${plan.tool}...`);
      rows.push(await measure(plan.tool, plan.command, env));
      if (!plan.key) continue;
      const got = await objectSha256(s3.client, s3.bucket, plan.key);
      if (got !== expected) throw new Error(`${plan.tool} stored a corrupt object (sha256 ${got}, expected ${expected})`);
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: plan.key }));
    }
    return `${sizeMiB} MiB to s3rver, part ${partMiB} MiB x ${concurrency}, ${new Date().toISOString()}; every object verified by sha256\n\n${table(rows, bytes)}\n`;
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
