import { Construct } from 'constructs';
import { EfsAccessPoint } from '@cdktf/provider-aws/lib/efs-access-point/index.js';
import type { AccountContext } from './account-context.js';
import { ConfigError } from '../functions/shared/errors.js';

/** Permissions of an access point's root directory when EFS creates it: its owner only. */
export const BACKUP_DIR_PERMISSIONS = '0700';

/** Props of {@link BackupAccessPoint}. */
export interface BackupAccessPointProps {
  /** Name prefix for the Name tag. */
  readonly namePrefix: string;
  /** What the access point serves, the rest of the Name tag (`<namePrefix>-<name>`): "orchestrator" or a target's name. */
  readonly name: string;
  /** EFS file system holding the backup directory. */
  readonly fileSystemId: string;
  /** Directory on the file system the access point exposes as its root; created on first use. */
  readonly rootPath: string;
  /** POSIX uid every NFS operation through the access point runs as (and owner of a new root). */
  readonly posixUid: number;
  /** POSIX gid every NFS operation through the access point runs as (and group of a new root). */
  readonly posixGid: number;
  /** Directory permissions when EFS creates the root. Default: {@link BACKUP_DIR_PERMISSIONS}. */
  readonly permissions?: string;
  /** Account and partition, for the file system ARN. */
  readonly account: AccountContext;
}

/**
 * One EFS access point: a root directory on the file system (created with its owner's POSIX user and
 * `permissions` when first mounted) and the POSIX user every NFS operation through it runs as. The stack makes
 * one per target (`<rootPath>/<target>`, the target's own uid, 0700), mounted by that target's containers only,
 * and the orchestrator's (`<rootPath>`, root) that reaches every target's directory.
 */
export class BackupAccessPoint extends Construct {
  /** Access point id. */
  readonly accessPointId: string;
  /** Access point ARN. */
  readonly accessPointArn: string;
  /** ARN of the file system. */
  readonly fileSystemArn: string;

  constructor(scope: Construct, id: string, props: BackupAccessPointProps) {
    super(scope, id);
    const permissions = props.permissions ?? BACKUP_DIR_PERMISSIONS;
    if (!/^0?[0-7]{3}$/.test(permissions)) throw new ConfigError(`BackupAccessPoint: permissions must be octal like "0700", got "${permissions}"`);
    const accessPoint = new EfsAccessPoint(this, 'access-point', {
      fileSystemId: props.fileSystemId,
      posixUser: { uid: props.posixUid, gid: props.posixGid },
      rootDirectory: {
        path: props.rootPath,
        creationInfo: { ownerUid: props.posixUid, ownerGid: props.posixGid, permissions },
      },
      tags: { Name: `${props.namePrefix}-${props.name}` },
    });
    this.accessPointId = accessPoint.id;
    this.accessPointArn = accessPoint.arn;
    this.fileSystemArn = props.account.arn('elasticfilesystem', `file-system/${props.fileSystemId}`);
  }
}
