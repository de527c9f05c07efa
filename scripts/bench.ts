/**
 * `npm run bench [-- --size-mib 1024 --part-mib 16 --concurrency 4]`: uploads one random file to a
 * local s3rver with our resumable uploader, lib-storage's Upload and `aws s3 cp`, each in its own child
 * process under `/usr/bin/time -v`, and prints MB/s and peak RSS side by side. The machines are noisy:
 * read the ratios within one run, not the absolute numbers.
 */
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { uploadFileResumable } from '../functions/shared/adapters/s3-transfer.js';
import { startS3rver } from '../test/helpers/s3rver.js';

const MiB = 1024 * 1024;
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface ChildArgs {
  tool: 'ours' | 'lib-storage' | 'baseline';
  file: string;
  endpoint: string;
  bucket: string;
  key: string;
  partMiB: number;
  concurrency: number;
}

/** Runs one Node uploader inside the child process and prints its own timing as JSON. */
async function runChild(args: ChildArgs): Promise<void> {
  const s3 = new S3Client({ endpoint: args.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: CREDENTIALS });
  const started = performance.now();
  let seconds = 0;
  if (args.tool === 'baseline') {
    // Loads the same modules and uploads nothing: the RSS every Node uploader starts from.
  } else if (args.tool === 'ours') {
    const result = await uploadFileResumable({
      s3,
      bucket: args.bucket,
      key: args.key,
      filePath: args.file,
      progressPath: `${args.file}.${args.key.replace(/\W/g, '_')}.progress.json`,
      partSizeBytes: args.partMiB * MiB,
      concurrency: args.concurrency,
    });
    if (result.status !== 'complete') throw new Error(`upload paused: ${JSON.stringify(result)}`);
  } else {
    await new Upload({
      client: s3,
      params: { Bucket: args.bucket, Key: args.key, Body: createReadStream(args.file) },
      partSize: args.partMiB * MiB,
      queueSize: args.concurrency,
    }).done();
  }
  if (args.tool !== 'baseline') seconds = (performance.now() - started) / 1000;
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

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

async function measure(tool: string, command: string[], env: NodeJS.ProcessEnv, dir: string): Promise<Measured> {
  const timeFile = join(dir, `${tool.replace(/\W+/g, '_')}.time`);
  const started = performance.now();
  const res = await run('/usr/bin/time', ['-v', '-o', timeFile, ...command], env);
  const wallSeconds = (performance.now() - started) / 1000;
  if (res.code !== 0) throw new Error(`${tool} failed (exit ${res.code}): ${res.stderr.trim().slice(-2000)}`);
  const report = await readFile(timeFile, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`${name}: ([\\d.]+)`).exec(report);
    if (!match) throw new Error(`no "${name}" in /usr/bin/time output for ${tool}`);
    return Number(match[1]);
  };
  const own = res.stdout.trim().split('\n').pop() ?? '';
  const transferSeconds = own.startsWith('{') ? (JSON.parse(own) as { seconds: number }).seconds : null;
  return {
    tool,
    wallSeconds,
    transferSeconds,
    cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
    maxRssKiB: field('Maximum resident set size \\(kbytes\\)'),
  };
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

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'child') {
    const [, tool, file, endpoint, bucket, key, partMiB, concurrency] = argv;
    await runChild({ tool: tool as ChildArgs['tool'], file: file!, endpoint: endpoint!, bucket: bucket!, key: key!, partMiB: Number(partMiB), concurrency: Number(concurrency) });
    return 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'size-mib': { type: 'string', default: '512' }, 'part-mib': { type: 'string', default: '16' }, concurrency: { type: 'string', default: '4' } },
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\nusage: npm run bench -- [--size-mib 512] [--part-mib 16] [--concurrency 4]\n`);
    return 2;
  }
  const sizeMiB = Number(values['size-mib']);
  const partMiB = Number(values['part-mib']);
  const concurrency = Number(values.concurrency);
  if (![sizeMiB, partMiB, concurrency].every((n) => Number.isInteger(n) && n > 0) || partMiB < 5) {
    process.stderr.write('error: --size-mib, --part-mib (>= 5) and --concurrency must be positive integers\n');
    return 2;
  }

  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  const s3 = await startS3rver({ bucket: 'bench' });
  try {
    const bytes = sizeMiB * MiB;
    const file = join(dir, 'dump.bin');
    process.stderr.write(`writing ${sizeMiB} MiB of random data...\n`);
    const expected = await writeRandomFile(file, bytes);
    const awsConfig = join(dir, 'aws-config');
    // Same part size and parallelism for every uploader, so the comparison is of the code, not the settings.
    await writeFile(awsConfig, `[default]\nregion = us-east-1\ns3 =\n  multipart_chunksize = ${partMiB}MB\n  max_concurrent_requests = ${concurrency}\n  addressing_style = path\n`);
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: awsConfig, AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const self = fileURLToPath(import.meta.url);
    const node = (tool: string, key: string) => [process.execPath, '--import', 'tsx', self, 'child', tool, file, s3.endpoint, s3.bucket, key, String(partMiB), String(concurrency)];
    const aws = awsCli();
    const plans: { tool: string; key: string; command: string[] }[] = [
      { tool: 'ours (uploadFileResumable)', key: 'ours.bin', command: node('ours', 'ours.bin') },
      { tool: '@aws-sdk/lib-storage Upload', key: 'lib-storage.bin', command: node('lib-storage', 'lib-storage.bin') },
      { tool: `aws s3 cp (${aws})`, key: 'aws.bin', command: [aws, 's3', 'cp', '--only-show-errors', '--endpoint-url', s3.endpoint, file, `s3://${s3.bucket}/aws.bin`] },
      { tool: 'node baseline (modules loaded, no upload)', key: '', command: node('baseline', 'none') },
    ];
    const rows: Measured[] = [];
    for (const plan of plans) {
      process.stderr.write(`${plan.tool}...\n`);
      rows.push(await measure(plan.tool, plan.command, env, dir));
      if (!plan.key) continue;
      const got = await objectSha256(s3.client, s3.bucket, plan.key);
      if (got !== expected) throw new Error(`${plan.tool} stored a corrupt object (sha256 ${got}, expected ${expected})`);
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: plan.key }));
    }
    process.stdout.write(`\n${sizeMiB} MiB to s3rver, part ${partMiB} MiB x ${concurrency}, ${new Date().toISOString()}; every object verified by sha256\n\n${table(rows, bytes)}\n`);
    return 0;
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
