import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, type IpPermission } from '@aws-sdk/client-ec2';
import { DescribeMountTargetSecurityGroupsCommand, DescribeMountTargetsCommand } from '@aws-sdk/client-efs';
import { cidrContains } from './cidr.js';
import { orchestratorOf } from './orchestrator.js';
import { lines } from './result.js';
import type { Check, CheckResult } from './types.js';

const { green, red } = lines('efs-mount-targets');
const NFS_PORT = 2049;

/** Backup path: the backup file system has an available mount target in each AZ of the Lambda's subnets, and it allows NFS from the Lambda. */
export const efsMountTargets: Check = async (ctx) => {
  const found = orchestratorOf(ctx);
  const subnetIds = found?.fn.VpcConfig?.SubnetIds ?? [];
  if (found === undefined || subnetIds.length === 0) return [];
  const { backup, fn } = found;
  const fileSystemId = backup.config.efs.fileSystemId;
  const lambdaGroups = fn.VpcConfig?.SecurityGroupIds ?? [];
  const [subnetsOut, targetsOut] = await Promise.all([
    ctx.clients.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...subnetIds] })),
    ctx.clients.efs.send(new DescribeMountTargetsCommand({ FileSystemId: fileSystemId })),
  ]);
  const subnets = subnetsOut.Subnets ?? [];
  const targets = (targetsOut.MountTargets ?? []).filter((t) => t.LifeCycleState === 'available');
  const zones = [...new Set(subnets.map((s) => s.AvailabilityZone ?? '?'))].sort();
  const results: CheckResult[] = [];
  for (const zone of zones) {
    const title = `EFS mount target (${zone})`;
    const inZone = subnets.filter((s) => s.AvailabilityZone === zone);
    const target = targets.find((t) => t.AvailabilityZoneName === zone);
    if (target?.MountTargetId === undefined) {
      results.push(
        red(
          title,
          `file system ${fileSystemId} has no available mount target in ${zone} (orchestrator subnet ${inZone.map((s) => s.SubnetId).join(', ')})`,
          `create a mount target for ${fileSystemId} in ${zone}, or put the orchestrator in subnets of zones that have one`,
        ),
      );
      continue;
    }
    const groupsOut = await ctx.clients.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: target.MountTargetId }));
    const groupIds = groupsOut.SecurityGroups ?? [];
    const sgOut = await ctx.clients.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [...groupIds] }));
    const rules = (sgOut.SecurityGroups ?? []).flatMap((g) => g.IpPermissions ?? []);
    const cidrs = inZone.map((s) => s.CidrBlock ?? '');
    const allowed = rules.some((r) => coversNfs(r) && (r.UserIdGroupPairs?.some((p) => lambdaGroups.includes(p.GroupId ?? '')) || cidrs.every((c) => r.IpRanges?.some((ip) => cidrContains(ip.CidrIp ?? '', c)))));
    results.push(
      allowed
        ? green(title, `${target.MountTargetId} allows NFS from the orchestrator`)
        : red(
            title,
            `security groups ${groupIds.join(', ')} of ${target.MountTargetId} do not allow TCP ${NFS_PORT} from the orchestrator's security groups ${lambdaGroups.join(', ') || '(none)'}`,
            `add an inbound rule TCP ${NFS_PORT} from ${lambdaGroups[0] ?? "the orchestrator's security group"} to ${groupIds[0] ?? 'the mount target security group'} (set efs.mountTargetSecurityGroupId in the config to that group and deploy)`,
          ),
    );
  }
  return results;
};

function coversNfs(rule: IpPermission): boolean {
  if (rule.IpProtocol === '-1') return true;
  return rule.IpProtocol === 'tcp' && (rule.FromPort ?? 0) <= NFS_PORT && NFS_PORT <= (rule.ToPort ?? 0);
}
