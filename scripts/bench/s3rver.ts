import { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Plain s3rver 3.7.1 in-process on a free loopback port, as the upload benchmark's S3 only. The tests and the
 * demo use moto (test/helpers/moto.ts), which has real versioning, ListParts and AbortMultipartUpload; a fresh
 * upload needs none of them, and for this workload s3rver is the faster server. Measured 2026-12-03 with
 * benchUpload (repeats 3, medians, the two servers taking turns by size; 2 cores shared with other work, load 20-30):
 *
 *   our uploader   256 MiB      1 GiB        (lib-storage / aws s3 cp at 1 GiB)
 *   s3rver         20.7 MB/s    21.2 MB/s    (12.9 / 19.4 MB/s)
 *   moto 5.2.1      8.3 MB/s     9.7 MB/s    (15.5 / 15.0 MB/s)
 *
 * A previous attempt measured 42/35 MB/s (s3rver) and 34/37 MB/s (moto): close at 1 GiB on a quieter machine,
 * but s3rver was never slower at 256 MiB. s3rver checks no signature,
 * stores the aws-chunked framing of a streamed PutObject (the uploaders here only upload multipart) and has no
 * `…-N` multipart ETag.
 */

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;

/** A running s3rver with a client for it. */
export interface BenchS3 {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  bucket: string;
  /** Path-style client with dummy credentials. */
  client: S3Client;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 with a fresh temp directory and one bucket. */
export async function startBenchS3rver(bucket: string): Promise<BenchS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return {
    endpoint,
    bucket,
    client,
    async stop() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
