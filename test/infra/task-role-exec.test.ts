import { describe, expect, it } from 'vitest';
import { SSMMESSAGES_ACTIONS } from '../../modules/task-role-exec.js';
import { BASE_CONFIG, onlyResource, policyStatements, resources, synthStack } from '../helpers/synth.js';

const target = (name: string, taskRoleName?: string) => ({
  ...BASE_CONFIG.targets[0],
  name,
  ...(taskRoleName === undefined ? {} : { taskRoleName }),
});

describe('task role ECS Exec policy', () => {
  it('grants the four ssmmessages actions', () => {
    const synth = synthStack({ ...BASE_CONFIG, targets: [target('a', 'a-task')] });
    expect(policyStatements(synth, 'task-exec')).toEqual([{ sid: 'EcsExecDataChannel', actions: [...SSMMESSAGES_ACTIONS], resources: ['*'] }]);
    expect(SSMMESSAGES_ACTIONS).toEqual([
      'ssmmessages:CreateControlChannel',
      'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel',
    ]);
    expect(onlyResource(synth, 'aws_iam_policy')).toMatchObject({ name: 'ecs-db-backup-ecs-exec' });
  });

  it('attaches it once to each distinct task role', () => {
    const synth = synthStack({ ...BASE_CONFIG, targets: [target('a', 'shared-task'), target('b', 'shared-task'), target('c', 'other-task'), target('d')] });
    expect(resources(synth, 'aws_iam_role_policy_attachment').map((a) => a.role)).toEqual(['other-task', 'shared-task']);
  });

  it('adds kms:Decrypt on the exec keys of the clusters whose targets name a task role', () => {
    const key = (n: number) => `arn:aws:kms:eu-west-1:123456789012:key/0000000${n}-0000-0000-0000-000000000000`;
    const synth = synthStack({
      ...BASE_CONFIG,
      execKmsKeys: { blue: key(1), green: key(2), plain: key(3) },
      targets: [
        { ...target('a', 'blue-task'), cluster: 'blue' },
        { ...target('b', 'green-task'), cluster: 'green' },
        { ...target('c'), cluster: 'plain' },
      ],
    });
    expect(policyStatements(synth, 'task-exec')).toEqual([
      { sid: 'EcsExecDataChannel', actions: [...SSMMESSAGES_ACTIONS], resources: ['*'] },
      { sid: 'EcsExecSessionKeys', actions: ['kms:Decrypt'], resources: [key(1), key(2)] },
    ]);
  });

  it('creates nothing when no target names a task role', () => {
    const synth = synthStack();
    expect(resources(synth, 'aws_iam_policy')).toEqual([]);
    expect(resources(synth, 'aws_iam_role_policy_attachment')).toEqual([]);
  });
});
