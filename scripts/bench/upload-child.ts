/**
 * The uploader as it ships, for the upload benchmark: scripts/bench/upload.ts bundles this file with esbuild and
 * runs the bundle with plain `node` under `/usr/bin/time -v` (no tsx, whose loader would inflate the RSS).
 * argv: tool (ours | lib-storage | baseline) file endpoint bucket key; credentials from the environment.
 * Prints `{"seconds":…,"maxRssKiB":…}`: the transfer alone, and the peak RSS as Node sees it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { SDK_REQUEST_HANDLER } from '../../functions/shared/adapters/sdk-request-handler.js';
import { MULTIPART, uploadFileResumable } from '../../functions/shared/adapters/s3-transfer.js';


async function main(argv: readonly string[]): Promise<void> {
  const [tool, file, endpoint, bucket, key] = argv;
  if (tool === undefined || file === undefined || endpoint === undefined || bucket === undefined || key === undefined) {
    throw new Error('usage: upload-child <ours|lib-storage|baseline> FILE ENDPOINT BUCKET KEY');
  }
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, requestHandler: SDK_REQUEST_HANDLER });
  const started = performance.now();
  if (tool === 'ours') {
    // No part size or concurrency: the product's defaults.
    const progressPath = `${file}.${process.pid}.progress.json`;
    const result = await uploadFileResumable({ s3, bucket, key, filePath: file, progressPath });
    await rm(progressPath, { force: true });
    if (result.status !== 'complete') throw new Error(`upload paused: ${JSON.stringify(result)}`);
  } else if (tool === 'lib-storage') {
    // lib-storage with the same part size and parallelism as ours.
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
      partSize: MULTIPART.defaultPartSize,
      queueSize: MULTIPART.defaultConcurrency,
    }).done();
  } else if (tool !== 'baseline') {
    throw new Error(`unknown tool ${tool}`);
  }
  const seconds = tool === 'baseline' ? 0 : (performance.now() - started) / 1000;
  s3.destroy();
  process.stdout.write(`${JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
