import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { MULTIPART } from '../../functions/shared/adapters/s3-transfer.js';
import { startBenchS3rver, type BenchS3 } from './s3rver.js';
import { withStarted } from './cleanup.js';
import type { UploadResult, UploadRow, UploadSize } from './results.js';
import { roundRobin, type Plan, type Sample } from './runner.js';
import { median, timed } from './timed.js';

const MiB = 1024 * 1024;
const CHILD_SOURCE = fileURLToPath(new URL('./upload-child.ts', import.meta.url));
/** The AWS CLI of the Debian package (awscli v2), not a pyenv shim that may come first on PATH. */
export const AWS_CLI = '/usr/bin/aws';
// As modules/orchestrator-bundle.ts: bundled CommonJS dependencies call require() for Node built-ins.
const REQUIRE_BANNER = "import { createRequire as __cjsRequire } from 'node:module'; const require = __cjsRequire(import.meta.url);";

/** Options of the upload benchmark. */
export interface UploadBenchOptions {
  sizesMiB: readonly number[];
  repeats: number;
  work: string;
  log: (line: string) => void;
  /** The S3 server to upload to. Default: plain s3rver (measured faster than moto here, see s3rver.ts). */
  startS3?: (bucket: string) => Promise<BenchS3>;
}

/** Bundles upload-child.ts the way the orchestrator is bundled (esbuild, node, esm, node20) into dir; returns the file. */
export function bundleUploadChild(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'upload-child.mjs');
  buildSync({
    entryPoints: [CHILD_SOURCE],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    banner: { js: REQUIRE_BANNER },
    outfile,
    logLevel: 'silent',
  });
  return outfile;
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

type UploadSample = Sample & { transferSeconds: number | null };

function uploadRow(label: string, runs: readonly UploadSample[], bytes: number): UploadRow {
  const wallSeconds = median(runs.map((r) => r.wallSeconds));
  const transfers = runs.map((r) => r.transferSeconds).filter((t): t is number => t !== null);
  return {
    label,
    wallSeconds,
    transferSeconds: transfers.length > 0 ? median(transfers) : null,
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    maxRssKiB: median(runs.map((r) => r.maxRssKiB)),
    mbPerSecond: bytes / 1e6 / wallSeconds,
  };
}

/**
 * Uploads random files of each size to a local S3 (s3rver unless told) with our uploader (bundled, product defaults), lib-storage's
 * Upload and `aws s3 cp` (its defaults), each in its own process under `/usr/bin/time -v`, round robin;
 * every object is verified by sha256 and deleted.
 */
export async function benchUpload(opts: UploadBenchOptions): Promise<UploadResult> {
  const dir = join(opts.work, 'upload');
  mkdirSync(dir, { recursive: true });
  const child = bundleUploadChild(join(dir, 'bundle'));
  const awsVersion = execFileSync(AWS_CLI, ['--version'], { encoding: 'utf8' }).trim();
  return withStarted(() => (opts.startS3 ?? startBenchS3rver)('bench'), async (s3) => {
    const awsConfig = join(dir, 'aws-config');
    // Region and path-style addressing only: `aws s3 cp` keeps its default part size and concurrency.
    await writeFile(awsConfig, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_CONFIG_FILE: awsConfig,
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_REGION: 'us-east-1',
      NODE_NO_WARNINGS: '1',
    };
    const node = (tool: string, file: string, key: string) => [process.execPath, child, tool, file, s3.endpoint, s3.bucket, key];
    const baseline = await timed('node baseline', node('baseline', '/dev/null', 'none'), { env });
    const sizes: UploadSize[] = [];
    for (const sizeMiB of opts.sizesMiB) {
      const bytes = sizeMiB * MiB;
      const file = join(dir, `file-${sizeMiB}.bin`);
      opts.log(`upload: writing ${sizeMiB} MiB of random data...`);
      const expected = await writeRandomFile(file, bytes);
      const plan = (label: string, key: string, command: string[]): Plan<UploadSample> => ({
        label: `${label}, ${sizeMiB} MiB`,
        async run() {
          const res = await timed(label, command, { env });
          const got = await objectSha256(s3.client, s3.bucket, key);
          if (got !== expected) throw new Error(`${label} stored a corrupt object (sha256 ${got}, expected ${expected})`);
          await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
          const own = res.stdout.trim().split('\n').pop() ?? '';
          const transferSeconds = own.startsWith('{') ? (JSON.parse(own) as { seconds: number }).seconds : null;
          return { wallSeconds: res.wallSeconds, cpuSeconds: res.cpuSeconds, maxRssKiB: res.maxRssKiB, bytes, transferSeconds };
        },
      });
      const plans = [
        plan('ours (uploadFileResumable)', 'ours.bin', node('ours', file, 'ours.bin')),
        plan('@aws-sdk/lib-storage Upload', 'lib-storage.bin', node('lib-storage', file, 'lib-storage.bin')),
        plan('aws s3 cp', 'aws.bin', [AWS_CLI, 's3', 'cp', '--only-show-errors', '--endpoint-url', s3.endpoint, file, `s3://${s3.bucket}/aws.bin`]),
      ];
      const [ours, lib, aws] = await roundRobin(plans, opts.repeats, null, opts.log);
      sizes.push({
        sizeMiB,
        ours: uploadRow('ours (uploadFileResumable, bundled, defaults)', ours!, bytes),
        libStorage: uploadRow('@aws-sdk/lib-storage Upload (same part size and queue)', lib!, bytes),
        aws: uploadRow(`aws s3 cp (${AWS_CLI}, defaults)`, aws!, bytes),
      });
      await rm(file, { force: true });
    }
    return {
      partSizeMiB: MULTIPART.defaultPartSize / MiB,
      concurrency: MULTIPART.defaultConcurrency,
      awsVersion,
      nodeBaselineRssKiB: baseline.maxRssKiB,
      sizes,
    };
  });
}
