import { DescribeAccessPointsCommand, type AccessPointDescription } from '@aws-sdk/client-efs';
import type { EFSVolumeConfiguration } from '@aws-sdk/client-ecs';
import type { Target } from '../config/schema.js';
import { targetPosixUser, targetRootPath } from '../core/target-posix-user.js';
import { errorMessage } from '../errors.js';
import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, yellow, red } = lines('backup-mount');

/**
 * Backup path: the target's container mounts the target's own access point (`<rootPath>/<target>`, the target's
 * POSIX user) at backupDir, writable, with transit encryption and, for a target with a task role, IAM authorization.
 * Any other mount either shows other targets' directories or cannot work, and the file-system policy
 * (efs.manageFileSystemPolicy) refuses it: task definitions are the user's, so this check is where it is enforced.
 */
export const backupMount: Check = async (ctx) => {
  const backup = ctx.backup;
  if (backup === undefined) return [];
  const { target, config } = backup;
  const title = `Backup mount (${target.container})`;
  const { fileSystemId } = config.efs;
  const ownRoot = targetRootPath(config.efs.rootPath, target.name);
  const def = ctx.taskDefinition.containerDefinitions?.find((c) => c.name === target.container);
  if (def === undefined) {
    return [red(title, `the task definition has no container ${target.container}`, `set targets[].container of ${target.name} to one of: ${(ctx.taskDefinition.containerDefinitions ?? []).map((c) => c.name).join(', ')}`)];
  }
  const mount = def.mountPoints?.find((m) => m.containerPath === target.backupDir);
  const howTo = `add an EFS volume (fileSystemId ${fileSystemId}, access point target_access_point_ids["${target.name}"] of the stack's outputs, transit encryption and IAM authorization enabled) to the task definition and mount it in ${target.container} at ${target.backupDir}`;
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
    return [red(title, `${target.backupDir} mounts ${fileSystemId}:${efs.rootDirectory ?? '/'} without an access point: the container would see other targets' directories, or none of its own`, howTo)];
  }
  let accessPoint: AccessPointDescription | undefined;
  try {
    accessPoint = (await ctx.clients.efs.send(new DescribeAccessPointsCommand({ AccessPointId: accessPointId }))).AccessPoints?.[0];
  } catch (error) {
    return [red(title, `cannot describe access point ${accessPointId}: ${errorMessage(error)}`, `allow elasticfilesystem:DescribeAccessPoints for the caller, or check that ${accessPointId} exists`)];
  }
  const wrong = notOwnAccessPoint(accessPoint, ownRoot, targetPosixUser({ efs: config.efs, target }));
  if (wrong !== null) {
    return [red(title, `access point ${accessPointId} ${wrong}: it is not ${target.name}'s own access point`, `mount target_access_point_ids["${target.name}"] (rooted at ${ownRoot}) on volume ${mount.sourceVolume}`)];
  }
  return [green(title, `access point ${accessPointId} (${fileSystemId}:${ownRoot}) at ${target.backupDir}`), ...transportWarnings(efs, target, mount.sourceVolume ?? '')];
};

/** Why an access point is not the target's own (root directory, POSIX user), or null when it is. */
function notOwnAccessPoint(ap: AccessPointDescription | undefined, ownRoot: string, own: { uid: number; gid: number }): string | null {
  const path = (ap?.RootDirectory?.Path ?? '/').replace(/\/+$/, '') || '/';
  if (path !== ownRoot) return `is rooted at ${path}, not ${ownRoot}`;
  const user = ap?.PosixUser;
  if (user?.Uid !== own.uid || user?.Gid !== own.gid) return `runs as ${user ? `${user.Uid}:${user.Gid}` : 'the client\'s own user'}, not ${own.uid}:${own.gid}`;
  return null;
}

/** Transit encryption off, or IAM authorization off for a target with a task role: the managed file-system policy refuses the mount. */
function transportWarnings(efs: EFSVolumeConfiguration, target: Target, volume: string): CheckResult[] {
  const out: CheckResult[] = [];
  const policy = 'the file-system policy (efs.manageFileSystemPolicy, or the efs_file_system_policy output merged into yours) refuses it';
  if (efs.transitEncryption !== 'ENABLED') {
    out.push(yellow('Backup mount encryption', `volume ${volume} is mounted without transit encryption: dumps cross the network in the clear and ${policy}`, `set transitEncryption = ENABLED on volume ${volume}`));
  }
  if (target.taskRoleName !== undefined && efs.authorizationConfig?.iam !== 'ENABLED') {
    out.push(yellow('Backup mount authorization', `volume ${volume} mounts without IAM authorization: EFS cannot tell ${target.name}'s tasks (role ${target.taskRoleName}) from others, and ${policy}`, `set authorizationConfig.iam = ENABLED on volume ${volume}`));
  }
  return out;
}
