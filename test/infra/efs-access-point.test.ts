import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, onlyResource, synthStack } from '../helpers/synth.js';

describe('EFS access point', () => {
  it.each([
    ['defaults', {}, { path: '/ecs-db-backup', uid: 1000, gid: 1000 }],
    ['configured', { rootPath: '/backups/prod', posixUid: 2000, posixGid: 3000 }, { path: '/backups/prod', uid: 2000, gid: 3000 }],
  ])('exposes the backup directory as one POSIX user (%s)', (_name, efs, expected) => {
    const synth = synthStack({ ...BASE_CONFIG, efs: { ...BASE_CONFIG.efs, ...efs } });
    expect(onlyResource(synth, 'aws_efs_access_point')).toMatchObject({
      file_system_id: 'fs-0a1b2c3d4e5f60733',
      posix_user: { uid: expected.uid, gid: expected.gid },
      root_directory: {
        path: expected.path,
        creation_info: { owner_uid: expected.uid, owner_gid: expected.gid, permissions: '0750' },
      },
    });
  });

  it('is an output', () => {
    expect(synthStack().output?.access_point_id?.value).toMatch(/^\$\{aws_efs_access_point\.\S+\.id\}$/);
  });
});
