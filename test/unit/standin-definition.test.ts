import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/shared/errors.js';
import { parseDefinition } from '../../scripts/standin/definition.js';

const task = { id: 'a'.repeat(32), service: 'pg', containers: [{ name: 'db' }] };

describe('parseDefinition', () => {
  it('accepts a minimal definition and keeps every field', () => {
    const def = {
      region: 'eu-west-1',
      accountId: '210987654321',
      clusters: [{ name: 'c', kmsKeyId: 'k', logging: 'NONE', tasks: [{ ...task, containers: [{ name: 'db', env: { A: '1' }, mounts: { '/backup': '/tmp/b' }, shell: 'busybox', agentStatus: 'PENDING' }] }] }],
    };
    expect(parseDefinition(def)).toEqual(def);
  });

  it.each([
    ['a task without containers', { clusters: [{ name: 'c', tasks: [{ ...task, containers: [] }] }] }, 'clusters.0.tasks.0.containers: Too small: expected array to have >=1 items'],
    ['a relative container path', { clusters: [{ name: 'c', tasks: [{ ...task, containers: [{ name: 'db', mounts: { backup: '/tmp' } }] }] }] }, 'clusters.0.tasks.0.containers.0.mounts.backup: container paths must be absolute'],
    ['an unknown shell', { clusters: [{ name: 'c', tasks: [{ ...task, containers: [{ name: 'db', shell: 'bash' }] }] }] }, 'clusters.0.tasks.0.containers.0.shell: Invalid option: expected one of "dash"|"busybox"'],
    ['a short account id', { accountId: '123', clusters: [] }, 'accountId: must be 12 digits'],
    ['an unknown field', { clusters: [], extra: 1 }, '(root): Unrecognized key: "extra"'],
  ])('rejects %s, naming the field', (_name, input, problem) => {
    let error: unknown;
    try {
      parseDefinition(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([problem]);
  });
});
