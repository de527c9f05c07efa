import { lastSuccessfulBackup, listBackups, readManifest } from '../../shared/adapters/s3-backups.js';
import type { Target } from '../../shared/config/schema.js';
import type { Manifest } from '../../shared/core/manifest.js';
import { manifestKey } from '../../shared/core/s3-keys.js';
import { BackupError } from '../../shared/errors.js';
import type { Deps } from '../deps.js';
import { sourceBucket, type SourceBucket } from './restore-bucket.js';
import { describeSelector, type BackupSelector } from './restore-request.js';
import type { JobSource } from './restore-state.js';

/** The backup asked for does not exist or cannot be verified; nothing was started. */
export class BackupNotFoundError extends BackupError {}

/** The object and checksum a manifest vouches for, pinned to the object's version when the bucket has one. */
export function sourceOf(manifest: Manifest, versionId: string | null = manifest.objectVersionId): JobSource {
  return {
    key: manifest.key,
    versionId,
    weekday: manifest.weekday,
    size: manifest.size,
    sha256: manifest.sha256,
    backupRunId: manifest.runId,
    uploadedAt: manifest.uploadedAt,
    counts: manifest.counts,
  };
}

/**
 * Finds the object a selector means and the manifest written with it (S3 is the source of truth):
 * `latest` the newest manifest, a weekday its current manifest, a version id the manifest version
 * whose `objectVersionId` names it. The object is pinned to its version, so a backup finishing
 * meanwhile cannot swap the bytes under the restore. `from` is the bucket read (default: the deployment's); a
 * replica keeps the source's version ids (S3 replication does), so its manifests name its own objects.
 */
export async function resolveSource(deps: Deps, target: Target, selector: BackupSelector, from?: SourceBucket): Promise<JobSource> {
  const { keyPrefix } = deps.env;
  const { s3, bucket } = from ?? sourceBucket(deps, undefined);
  let manifest: Manifest | null;
  let versionId: string | null | undefined;
  if (selector === 'latest') {
    manifest = await lastSuccessfulBackup(s3, bucket, keyPrefix, target.name);
    if (!manifest) throw new BackupNotFoundError(`target "${target.name}" has no backup in s3://${bucket}/${keyPrefix}${target.name}/ yet`);
  } else if (typeof selector === 'string') {
    const key = manifestKey(keyPrefix, target.name, selector);
    manifest = await readManifest(s3, bucket, key);
    if (!manifest) throw new BackupNotFoundError(`target "${target.name}" has no ${selector} backup (s3://${bucket}/${key} does not exist); list the backups and pick one`);
  } else {
    const listed = await listBackups(s3, bucket, keyPrefix, target.name, { includeVersions: true });
    const found = listed.find((l) => l.versionId === selector.versionId);
    if (!found) {
      throw new BackupNotFoundError(`target "${target.name}" has no backup object with version id ${selector.versionId}; list the backups (with versions) and pick one`);
    }
    if (!found.manifest) {
      throw new BackupNotFoundError(
        `no manifest version names object ${found.key} version ${selector.versionId}, so its checksum cannot be verified; pick another version`,
      );
    }
    manifest = found.manifest;
    versionId = selector.versionId;
  }
  if (manifest.target !== target.name || manifest.engine !== target.engine) {
    throw new BackupNotFoundError(
      `the ${describeSelector(selector)} manifest of "${target.name}" describes a ${manifest.engine} backup of "${manifest.target}", not this ${target.engine} target`,
    );
  }
  return sourceOf(manifest, versionId ?? manifest.objectVersionId);
}
