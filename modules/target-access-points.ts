import { Construct } from 'constructs';
import type { Target } from '../functions/shared/config/schema.js';
import { targetPosixUser, targetRootPath } from '../functions/shared/core/target-posix-user.js';
import type { AccountContext } from './account-context.js';
import { BackupAccessPoint } from './efs-access-point.js';

/** Props of {@link TargetAccessPoints}. */
export interface TargetAccessPointsProps {
  /** Name prefix for the Name tags. */
  readonly namePrefix: string;
  /** The config's efs block: file system, root path and the base of the default POSIX ids. */
  readonly efs: { readonly fileSystemId: string; readonly rootPath: string; readonly posixUid: number; readonly posixGid: number };
  /** The targets; each gets its own access point. */
  readonly targets: readonly Target[];
  /** Account and partition, for the file system ARN. */
  readonly account: AccountContext;
}

/**
 * One access point per target, rooted at `<rootPath>/<target>` (created 0700, owned by the target's own uid/gid)
 * and running every operation as that user: a container that mounts it sees its own directory only, and no other
 * target's user can enter it. Which access point a task mounts is in the user's task definition, out of this
 * stack's reach: the exec-checker checks it, and the file-system policy (efs.manageFileSystemPolicy) denies the rest.
 */
export class TargetAccessPoints extends Construct {
  /** Each target's access point, by target name. */
  readonly byTarget: ReadonlyMap<string, BackupAccessPoint>;

  constructor(scope: Construct, id: string, props: TargetAccessPointsProps) {
    super(scope, id);
    const byTarget = new Map<string, BackupAccessPoint>();
    for (const target of props.targets) {
      const { uid, gid } = targetPosixUser({ efs: props.efs, target });
      byTarget.set(
        target.name,
        new BackupAccessPoint(this, target.name, {
          namePrefix: props.namePrefix,
          name: target.name,
          fileSystemId: props.efs.fileSystemId,
          rootPath: targetRootPath(props.efs.rootPath, target.name),
          posixUid: uid,
          posixGid: gid,
          account: props.account,
        }),
      );
    }
    this.byTarget = byTarget;
  }
}
