import { describe, expect, it } from 'vitest';
import { targetPosixUser } from '../../functions/shared/core/target-posix-user.js';
import { BASE_CONFIG, policyStatements, readable, resources, synthStack, type PolicyStatement } from '../helpers/synth.js';

const FS_ARN = 'arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0a1b2c3d4e5f60733';
const TWO_TARGETS = {
  ...BASE_CONFIG,
  targets: [
    { ...BASE_CONFIG.targets[0], taskRoleName: 'app-db-task' },
    { name: 'cache', engine: 'redis', cluster: 'prod', service: 'cache', container: 'redis', backupDir: '/data/backup', posixUid: 5001, posixGid: 6001 },
  ],
};

type AccessPoint = { posix_user: { uid: number; gid: number }; root_directory: { path: string; creation_info: Record<string, unknown> }; tags: { Name: string } };

function accessPoints(config: unknown = TWO_TARGETS): Map<string, AccessPoint> {
  return new Map(resources(synthStack(config), 'aws_efs_access_point').map((r) => [(r as AccessPoint).tags.Name, r as AccessPoint]));
}

describe('EFS access points', () => {
  it('gives the orchestrator one access point as root over the whole backup directory', () => {
    expect(accessPoints().get('ecs-db-backup-orchestrator')).toMatchObject({
      file_system_id: 'fs-0a1b2c3d4e5f60733',
      posix_user: { uid: 0, gid: 0 },
      root_directory: { path: '/ecs-db-backup', creation_info: { owner_uid: 0, owner_gid: 0, permissions: '0700' } },
    });
  });

  it("gives each target its own directory, uid and gid, created 0700", () => {
    const aps = accessPoints();
    expect(aps.size).toBe(3);
    const own = targetPosixUser({ efs: { posixUid: 1000, posixGid: 1000 }, target: { name: 'app-pg' } });
    expect(aps.get('ecs-db-backup-app-pg')).toMatchObject({
      posix_user: { uid: own.uid, gid: own.gid },
      root_directory: { path: '/ecs-db-backup/app-pg', creation_info: { owner_uid: own.uid, owner_gid: own.gid, permissions: '0700' } },
    });
    expect(aps.get('ecs-db-backup-cache')).toMatchObject({
      posix_user: { uid: 5001, gid: 6001 },
      root_directory: { path: '/ecs-db-backup/cache', creation_info: { owner_uid: 5001, owner_gid: 6001, permissions: '0700' } },
    });
    expect(own.uid).not.toBe(5001);
    expect(own.uid).toBeGreaterThan(1000);
  });

  it("puts every target's directory under the configured root path", () => {
    const aps = accessPoints({ ...TWO_TARGETS, efs: { ...TWO_TARGETS.efs, rootPath: '/backups/prod' } });
    expect([...aps.values()].map((a) => a.root_directory.path).sort()).toEqual(['/backups/prod', '/backups/prod/app-pg', '/backups/prod/cache']);
  });

  it('are outputs: each target by name, and the orchestrator apart', () => {
    const out = synthStack(TWO_TARGETS).output!;
    expect(Object.keys(out.target_access_point_ids!.value as object)).toEqual(['app-pg', 'cache']);
    expect((out.target_access_point_ids!.value as Record<string, string>)['cache']).toMatch(/^\$\{aws_efs_access_point\.efs-targets_cache_\S+\.id\}$/);
    expect(out.orchestrator_access_point_id?.value).toMatch(/^\$\{aws_efs_access_point\.efs_access-point_\S+\.id\}$/);
    expect(out.access_point_id).toBeUndefined();
  });
});

describe('the EFS file-system policy', () => {
  const statements = (config: unknown = TWO_TARGETS) => new Map(readable(policyStatements(synthStack(config), 'efs-policy')).map((s: PolicyStatement) => [s.sid!, s]));
  const ap = (name: string) => expect.stringMatching(new RegExp(`^\\$\\{aws_efs_access_point\\.${name}_\\S+\\.arn\\}$`));

  it('refuses every request without TLS', () => {
    expect(statements().get('DenyInsecureTransport')).toEqual({
      sid: 'DenyInsecureTransport', effect: 'Deny', principals: [{ type: '*', identifiers: ['*'] }], actions: ['*'], resources: [FS_ARN],
      condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
    });
  });

  it('refuses every mount that is not through a backup access point', () => {
    expect(statements().get('DenyOutsideBackupAccessPoints')).toMatchObject({
      effect: 'Deny',
      actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
      condition: [{ test: 'ArnNotEquals', variable: 'elasticfilesystem:AccessPointArn', values: [ap('efs_access-point'), ap('efs-targets_app-pg_access-point'), ap('efs-targets_cache_access-point')] }],
    });
  });

  it("keeps the orchestrator's root access point to the orchestrator's role", () => {
    const s = statements();
    expect(s.get('DenyOrchestratorAccessPointToOthers')?.condition).toEqual([
      { test: 'ArnEquals', variable: 'elasticfilesystem:AccessPointArn', values: [ap('efs_access-point')] },
      { test: 'ArnNotEquals', variable: 'aws:PrincipalArn', values: [expect.stringMatching(/^\$\{aws_iam_role\.role_\S+\.arn\}$/)] },
    ]);
    expect(s.get('AllowOrchestrator')?.actions).toContain('elasticfilesystem:ClientRootAccess');
  });

  it("keeps a target's access point to its task role, with or without an IAM path", () => {
    const s = statements();
    const roles = ['arn:aws:iam::123456789012:role/app-db-task', 'arn:aws:iam::123456789012:role/*/app-db-task'];
    expect(s.get('DenyTarget0AccessPointToOthers')).toMatchObject({
      effect: 'Deny',
      condition: [
        { test: 'ArnEquals', variable: 'elasticfilesystem:AccessPointArn', values: [ap('efs-targets_app-pg_access-point')] },
        { test: 'ArnNotLike', variable: 'aws:PrincipalArn', values: roles },
      ],
    });
    expect(s.get('AllowTarget0')).toMatchObject({ actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'] });
  });

  it('lets any client mount the access point of a target without a task role (nothing names its tasks), never as root', () => {
    const s = statements();
    expect(s.has('DenyTarget1AccessPointToOthers')).toBe(false);
    expect(s.get('AllowTarget1')).toMatchObject({
      principals: [{ type: '*', identifiers: ['*'] }],
      actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      condition: [{ test: 'ArnEquals', variable: 'elasticfilesystem:AccessPointArn', values: [ap('efs-targets_cache_access-point')] }],
    });
  });

  it('is attached only when the config says the file system is the backups\' alone, and always an output', () => {
    expect(resources(synthStack(TWO_TARGETS), 'aws_efs_file_system_policy')).toEqual([]);
    const managed = synthStack({ ...TWO_TARGETS, efs: { ...TWO_TARGETS.efs, manageFileSystemPolicy: true } });
    expect(resources(managed, 'aws_efs_file_system_policy')).toEqual([
      { file_system_id: 'fs-0a1b2c3d4e5f60733', policy: expect.stringMatching(/^\$\{data\.aws_iam_policy_document\.efs-policy_document_\S+\.json\}$/) },
    ]);
    expect(managed.output?.efs_file_system_policy?.value).toMatch(/^\$\{data\.aws_iam_policy_document\.efs-policy_document_\S+\.json\}$/);
  });
});
