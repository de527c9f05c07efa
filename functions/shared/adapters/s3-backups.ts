import {
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ManifestError, parseManifest, serializeManifest, type Manifest } from '../core/manifest.js';
import { manifestKey, parseBackupKey, targetPrefix, type Weekday } from '../core/s3-keys.js';
import { BackupError, errorMessage } from '../errors.js';

/** Reading or writing backup objects and manifests failed. */
export class BackupStoreError extends BackupError {}

/** One dump object (or one version of it) with its manifest, as listed in S3. */
export interface BackupListing {
  weekday: Weekday;
  key: string;
  manifestKey: string;
  size: number;
  lastModified: Date;
  versionId: string | null;
  isLatest: boolean;
  /** The manifest written for this object (matched by version id when versions are listed), or null. */
  manifest: Manifest | null;
}

const isNotFound = (error: unknown) =>
  error instanceof Error &&
  (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.name === 'NoSuchVersion' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

/** Writes `<prefix><target>/<weekday>.json` for a validated manifest (a string body, so no checksum quirks). */
export async function putManifest(
  s3: S3Client,
  bucket: string,
  prefix: string,
  manifest: Manifest,
  options: { kmsKeyId?: string } = {},
): Promise<void> {
  const body = serializeManifest(manifest);
  const key = manifestKey(prefix, manifest.target, manifest.weekday);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        // Named, not left to the client's checksum setting: a bucket with Object Lock refuses a PutObject without one.
        ChecksumAlgorithm: 'CRC32',
        ...(options.kmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: options.kmsKeyId } : {}),
      }),
    );
  } catch (error) {
    throw new BackupStoreError(`writing manifest s3://${bucket}/${key} failed: ${errorMessage(error)}`, { cause: error });
  }
}

/** Reads and validates a manifest; null when the key (or version) does not exist. */
export async function readManifest(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<Manifest | null> {
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    text = await res.Body!.transformToString('utf-8');
  } catch (error) {
    if (isNotFound(error)) return null;
    throw new BackupStoreError(`reading manifest s3://${bucket}/${key} failed: ${errorMessage(error)}`, { cause: error });
  }
  return parseManifest(text);
}

interface Listed {
  key: string;
  size: number;
  lastModified: Date;
  versionId: string | null;
  isLatest: boolean;
}

async function listCurrent(s3: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0), versionId: null, isLatest: true });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function listAllVersions(s3: S3Client, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
    );
    for (const v of page.Versions ?? []) {
      if (!v.Key) continue;
      const versionId = v.VersionId && v.VersionId !== 'null' ? v.VersionId : null;
      out.push({ key: v.Key, size: v.Size ?? 0, lastModified: v.LastModified ?? new Date(0), versionId, isLatest: v.IsLatest ?? false });
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return out;
}

/**
 * An invalid manifest does not hide its dump (the listing shows it without one); S3 errors still throw,
 * so a failed read is never mistaken for "no backup yet" (which would start a dump every hour).
 */
async function manifestOrNull(s3: S3Client, bucket: string, key: string, versionId: string | null): Promise<Manifest | null> {
  try {
    return await readManifest(s3, bucket, key, versionId ?? undefined);
  } catch (error) {
    if (error instanceof ManifestError) return null;
    throw error;
  }
}

/**
 * The dumps of one target, newest first, each with its manifest. With `includeVersions`, every kept
 * (non-current) version is listed too, matched to the manifest version whose `objectVersionId` names it.
 */
export async function listBackups(
  s3: S3Client,
  bucket: string,
  prefix: string,
  target: string,
  opts: { includeVersions?: boolean } = {},
): Promise<BackupListing[]> {
  const folder = targetPrefix(prefix, target);
  let listed: Listed[];
  try {
    listed = opts.includeVersions ? await listAllVersions(s3, bucket, folder) : await listCurrent(s3, bucket, folder);
  } catch (error) {
    throw new BackupStoreError(`listing s3://${bucket}/${folder} failed: ${errorMessage(error)}`, { cause: error });
  }
  const named = listed.map((o) => ({ ...o, name: parseBackupKey(prefix, target, o.key) }));
  const manifests = await Promise.all(
    named
      .filter((o) => o.name?.kind === 'manifest')
      .map(async (o) => ({ ...o, manifest: await manifestOrNull(s3, bucket, o.key, o.versionId) })),
  );
  const dumps = named.filter((o) => o.name?.kind === 'dump');
  const result = dumps.map((o): BackupListing => {
    const weekday = o.name!.weekday;
    const mKey = manifestKey(prefix, target, weekday);
    const candidates = manifests.filter((m) => m.key === mKey && m.manifest?.key === o.key);
    // A versioned object is matched by version id; without versions, the current manifest describes the current object.
    const match = o.versionId
      ? candidates.find((m) => m.manifest?.objectVersionId === o.versionId)
      : candidates.find((m) => m.isLatest);
    return {
      weekday,
      key: o.key,
      manifestKey: mKey,
      size: o.size,
      lastModified: o.lastModified,
      versionId: o.versionId,
      isLatest: o.isLatest,
      manifest: match?.manifest ?? null,
    };
  });
  const uploaded = (l: BackupListing) => (l.manifest ? Date.parse(l.manifest.uploadedAt) : 0);
  return result.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime() || uploaded(b) - uploaded(a));
}

/** The newest current manifest of a target by `uploadedAt` (S3 is the source of truth), or null if none. */
export async function lastSuccessfulBackup(s3: S3Client, bucket: string, prefix: string, target: string): Promise<Manifest | null> {
  const folder = targetPrefix(prefix, target);
  let listed: Listed[];
  try {
    listed = await listCurrent(s3, bucket, folder);
  } catch (error) {
    throw new BackupStoreError(`listing s3://${bucket}/${folder} failed: ${errorMessage(error)}`, { cause: error });
  }
  const keys = listed.filter((o) => parseBackupKey(prefix, target, o.key)?.kind === 'manifest').map((o) => o.key);
  const manifests = await Promise.all(keys.map((key) => manifestOrNull(s3, bucket, key, null)));
  let newest: Manifest | null = null;
  for (const m of manifests) {
    if (m && (!newest || Date.parse(m.uploadedAt) > Date.parse(newest.uploadedAt))) newest = m;
  }
  return newest;
}
