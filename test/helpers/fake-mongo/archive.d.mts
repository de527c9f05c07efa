/** Types of archive.mjs (the fake MongoDB tools' archive writer and reader), for the tests. */
export interface FakeNamespace {
  db: string;
  collection: string;
  docs: number;
  type?: 'collection' | 'view' | 'timeseries';
}
export function crc64(buf: Uint8Array): bigint;
export function bson(pairs: [string, string | boolean | number | bigint][]): Buffer;
export function parseData(data: string | undefined, db?: string): FakeNamespace[];
export function buildArchive(namespaces: FakeNamespace[], opts?: { segment?: number; corrupt?: 'crc' | 'truncate' }): Buffer;
export function gzipArchive(archive: Buffer, opts?: { damageTrailer?: boolean }): Buffer;
export function restoreArchive(gz: Buffer, opts?: { dryRun?: boolean; include?: string; from?: string; to?: string }): string[];
