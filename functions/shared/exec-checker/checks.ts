import { backupMount } from './backup-mount.js';
import { bucketVersioning } from './bucket-versioning.js';
import { callerPermissions } from './caller-permissions.js';
import { clusterConfiguration } from './cluster-configuration.js';
import { efsMountTargets } from './efs-mount-targets.js';
import { environmentCredentials } from './environment-credentials.js';
import { execEnabled } from './exec-enabled.js';
import { execKms } from './exec-kms.js';
import { execLogEncryption } from './exec-log-encryption.js';
import { initProcess } from './init-process.js';
import { managedAgent } from './managed-agent.js';
import { orchestratorNetwork } from './orchestrator-network.js';
import { orchestratorPermission } from './orchestrator-permission.js';
import { pidMode } from './pid-mode.js';
import { platformVersion } from './platform-version.js';
import { readonlyRoot } from './readonly-root.js';
import { taskRole } from './task-role.js';
import { taskStatus } from './task-status.js';
import { vpcEndpoints } from './vpc-endpoints.js';
import { errorMessage } from '../errors.js';
import type { Check, CheckContext, CheckResult } from './types.js';

/** Every check in report order: the twelve of amazon-ecs-exec-checker, exec log encryption, then the backup path. */
export const CHECKS: readonly (readonly [id: string, check: Check])[] = [
  ['cluster-configuration', clusterConfiguration],
  ['caller-permissions', callerPermissions],
  ['task-status', taskStatus],
  ['platform-version', platformVersion],
  ['exec-enabled', execEnabled],
  ['managed-agent', managedAgent],
  ['init-process', initProcess],
  ['readonly-root', readonlyRoot],
  ['task-role', taskRole],
  ['vpc-endpoints', vpcEndpoints],
  ['environment-credentials', environmentCredentials],
  ['pid-mode', pidMode],
  ['exec-log-encryption', execLogEncryption],
  ['orchestrator-permission', orchestratorPermission],
  ['orchestrator-network', orchestratorNetwork],
  ['efs-mount-targets', efsMountTargets],
  ['backup-mount', backupMount],
  ['bucket-versioning', bucketVersioning],
  ['exec-kms', execKms],
];

/** Runs the checks one after another; a check that throws becomes a red line naming the failed call, not a crash. */
export async function runChecks(ctx: CheckContext, checks: typeof CHECKS = CHECKS): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [id, check] of checks) {
    try {
      results.push(...(await check(ctx)));
    } catch (error) {
      results.push({
        check: id,
        title: id,
        verdict: 'red',
        message: `the check could not run: ${errorMessage(error)}`,
        fix: 'grant the caller the read permissions listed in the README (exec-checker section) and run it again',
      });
    }
  }
  return results;
}
