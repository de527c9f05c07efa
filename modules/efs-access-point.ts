import { Construct } from 'constructs';
import { EfsAccessPoint } from '@cdktf/provider-aws/lib/efs-access-point/index.js';
import type { AccountContext } from './account-context.js';
import { ConfigError } from '../functions/shared/errors.js';

/** Permissions of the backup directory when EFS creates it: owner rwx, group r-x, others nothing. */
export const BACKUP_DIR_PERMISSIONS = '0750';

/** Props of {@link BackupAccessPoint}. */
export interface BackupAccessPointProps {
  /** Name prefix for the Name tag. */
  readonly namePrefix: string;
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
 * The EFS access point of the backup directory. The Lambda mounts it; the database tasks should
 * mount it too (task definition `authorizationConfig.accessPointId`), so that dumps written in the
 * container and files read by the Lambda have the same owner whatever uid the database runs as.
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
    if (!/^0?[0-7]{3}$/.test(permissions)) throw new ConfigError(`BackupAccessPoint: permissions must be octal like "0750", got "${permissions}"`);
    const accessPoint = new EfsAccessPoint(this, 'access-point', {
      fileSystemId: props.fileSystemId,
      posixUser: { uid: props.posixUid, gid: props.posixGid },
      rootDirectory: {
        path: props.rootPath,
        creationInfo: { ownerUid: props.posixUid, ownerGid: props.posixGid, permissions },
      },
      tags: { Name: `${props.namePrefix}-backup` },
    });
    this.accessPointId = accessPoint.id;
    this.accessPointArn = accessPoint.arn;
    this.fileSystemArn = props.account.arn('elasticfilesystem', `file-system/${props.fileSystemId}`);
  }
}
