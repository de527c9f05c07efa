import { lines } from './result.js';
import type { Check } from './types.js';

const { green, yellow, red } = lines('platform-version');

/** Minimum Fargate platform versions and EC2 agent version that support ECS Exec. */
export const MINIMUM_VERSIONS = { fargateLinux: '1.4.0', fargateWindows: '1.0.0', ec2Agent: '1.50.2' } as const;

/** Compares dotted versions numerically (`sort -V` for plain numbers); negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.replace(/^v/, '').split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Check 4: Fargate platform version (≥ 1.4.0 Linux, ≥ 1.0.0 Windows) or EC2 agent version (≥ 1.50.2). */
export const platformVersion: Check = async (ctx) => {
  const task = ctx.task;
  if (task.launchType === 'FARGATE' || (task.launchType === undefined && task.platformVersion !== undefined)) {
    const title = 'Fargate platform version';
    const windows = (task.platformFamily ?? '').includes('Windows');
    const required = windows ? MINIMUM_VERSIONS.fargateWindows : MINIMUM_VERSIONS.fargateLinux;
    const version = task.platformVersion;
    if (version === undefined) return [yellow(title, 'not reported by ECS')];
    return compareVersions(version, required) >= 0
      ? [green(title, version)]
      : [red(title, `${version} (required: >= ${required})`, `run the service on platform version ${required} or LATEST`)];
  }
  if (task.launchType === 'EC2') {
    const title = 'ECS agent version';
    const version = ctx.containerInstance?.versionInfo?.agentVersion;
    if (version === undefined) return [yellow(title, 'UNKNOWN (the container instance reports no agent version)')];
    return compareVersions(version, MINIMUM_VERSIONS.ec2Agent) >= 0
      ? [green(title, version)]
      : [red(title, `${version} (required: >= ${MINIMUM_VERSIONS.ec2Agent})`, 'update the ECS agent on the container instance (or use a current ECS-optimized AMI)')];
  }
  return [yellow('Platform version', `UNKNOWN (launch type ${task.launchType ?? 'not reported'})`)];
};
