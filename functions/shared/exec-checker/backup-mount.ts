import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import type { Check } from './types.js';

const { green, red } = lines('backup-mount');

/** Backup path: the target's container mounts the backup file system's directory (access point or root directory) at backupDir, writable. */
export const backupMount: Check = async (ctx) => {
  const backup = ctx.backup;
  if (backup === undefined) return [];
  const { target, config } = backup;
  const title = `Backup mount (${target.container})`;
  const { fileSystemId, rootPath } = config.efs;
  const def = ctx.taskDefinition.containerDefinitions?.find((c) => c.name === target.container);
  if (def === undefined) {
    return [red(title, `the task definition has no container ${target.container}`, `set targets[].container of ${target.name} to one of: ${(ctx.taskDefinition.containerDefinitions ?? []).map((c) => c.name).join(', ')}`)];
  }
  const mount = def.mountPoints?.find((m) => m.containerPath === target.backupDir);
  const howTo = `add an EFS volume (fileSystemId ${fileSystemId}, the backup access point or rootDirectory ${rootPath}, transit encryption) to the task definition and mount it in ${target.container} at ${target.backupDir}`;
  if (mount === undefined) return [red(title, `nothing is mounted at ${target.backupDir}`, howTo)];
  const efs = ctx.taskDefinition.volumes?.find((v) => v.name === mount.sourceVolume)?.efsVolumeConfiguration;
  if (efs === undefined) return [red(title, `volume ${mount.sourceVolume} at ${target.backupDir} is not an EFS volume`, howTo)];
  if (efs.fileSystemId !== fileSystemId) {
    return [red(title, `${target.backupDir} is on file system ${efs.fileSystemId}, not the backup file system ${fileSystemId}`, howTo)];
  }
  if (mount.readOnly === true) {
    return [red(title, `${target.backupDir} is mounted read-only`, `set readOnly = false on the mount point ${target.backupDir} of ${target.container}: the dump is written there`)];
  }
  const accessPointId = efs.authorizationConfig?.accessPointId;
  if (accessPointId === undefined) {
    const dir = efs.rootDirectory ?? '/';
    return dir.replace(/\/+$/, '') === rootPath
      ? [green(title, `${fileSystemId}:${rootPath} at ${target.backupDir}`)]
      : [red(title, `${target.backupDir} mounts ${fileSystemId}:${dir}, but the orchestrator reads ${rootPath}`, `set rootDirectory = ${rootPath} on volume ${mount.sourceVolume}, or use the backup access point`)];
  }
  let path: string | undefined;
  try {
    const out = await ctx.clients.efs.send(new DescribeAccessPointsCommand({ AccessPointId: accessPointId }));
    path = out.AccessPoints?.[0]?.RootDirectory?.Path ?? '/';
  } catch (error) {
    return [red(title, `cannot describe access point ${accessPointId}: ${errorMessage(error)}`, `allow elasticfilesystem:DescribeAccessPoints for the caller, or check that ${accessPointId} exists`)];
  }
  return path.replace(/\/+$/, '') === rootPath
    ? [green(title, `access point ${accessPointId} (${fileSystemId}:${rootPath}) at ${target.backupDir}`)]
    : [red(title, `access point ${accessPointId} is rooted at ${path}, but the orchestrator reads ${rootPath}`, `use an access point rooted at ${rootPath} on volume ${mount.sourceVolume}`)];
};
