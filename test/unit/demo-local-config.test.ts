import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../functions/shared/config/load.js';
import { ConfigError } from '../../functions/shared/errors.js';
import { enginesOf, planLocalTasks } from '../../scripts/demo/local-config.js';

const base = {
  region: 'eu-west-1',
  bucket: { name: 'local-demo-backups' },
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0a1b2c3d4e5f60711'],
  efs: { fileSystemId: 'fs-0a1b2c3d4e5f60733', mountTargetSecurityGroupId: 'sg-0a1b2c3d4e5f60744' },
};
const pg = { name: 'app-pg', engine: 'postgres', cluster: 'prod', service: 'app-db', container: 'postgres', database: 'app', user: 'postgres', passwordEnv: 'PGPASSWORD', backupDir: '/backup' };
const redis = { name: 'cache', engine: 'redis', cluster: 'prod', service: 'app-db', container: 'redis', backupDir: '/data/backup' };
const maria = { name: 'shop', engine: 'mariadb', cluster: 'shop', service: 'shop-db', container: 'mariadb', database: 'shop', user: 'backup', passwordEnv: 'MARIADB_PASSWORD', backupDir: '/backup' };

describe('planLocalTasks', () => {
  it('names the tasks and containers as in the config and gives each container its targets\' secrets and backup dirs', () => {
    const config = parseConfig({ ...base, targets: [pg, redis, maria, { ...pg, name: 'app-pg-2', database: 'other', backupDir: '/backup2' }] });
    expect(planLocalTasks(config, { PGPASSWORD: 'pw', MARIADB_PASSWORD: 'mpw', HOME: '/root' })).toEqual([
      {
        cluster: 'prod',
        service: 'app-db',
        containers: [
          { name: 'postgres', env: { PGPASSWORD: 'pw' }, backupDirs: { '/backup': 'app-pg', '/backup2': 'app-pg-2' } },
          { name: 'redis', env: {}, backupDirs: { '/data/backup': 'cache' } },
        ],
      },
      { cluster: 'shop', service: 'shop-db', containers: [{ name: 'mariadb', env: { MARIADB_PASSWORD: 'mpw' }, backupDirs: { '/backup': 'shop' } }] },
    ]);
  });

  it('refuses two targets at one backup directory of a container: each mounts its own access point', () => {
    const config = parseConfig({ ...base, targets: [pg, { ...pg, name: 'app-pg-2', database: 'other' }] });
    expect(() => planLocalTasks(config, { PGPASSWORD: 'pw' })).toThrow(
      'targets "app-pg" and "app-pg-2" both use /backup in container postgres: each target mounts its own access point, so give each its own backupDir',
    );
  });

  it.each([
    [{ MARIADB_PASSWORD: 'x' }, ['target "app-pg" reads its password from PGPASSWORD, which is not set: export PGPASSWORD=... before running the demo']],
    [
      {},
      [
        'target "app-pg" reads its password from PGPASSWORD, which is not set: export PGPASSWORD=... before running the demo',
        'target "shop" reads its password from MARIADB_PASSWORD, which is not set: export MARIADB_PASSWORD=... before running the demo',
      ],
    ],
  ])('names every target whose secret variable is unset (env %j)', (env, problems) => {
    const config = parseConfig({ ...base, targets: [pg, redis, maria] });
    const error = (() => {
      try {
        planLocalTasks(config, env);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(problems);
  });

  it('accepts an empty password (set, though empty)', () => {
    const config = parseConfig({ ...base, targets: [pg] });
    expect(planLocalTasks(config, { PGPASSWORD: '' })[0]!.containers[0]!.env).toEqual({ PGPASSWORD: '' });
  });
});

describe('enginesOf', () => {
  it('lists each engine once', () => {
    expect(enginesOf(parseConfig({ ...base, targets: [pg, redis, { ...pg, name: 'b' }] }))).toEqual(['postgres', 'redis']);
  });
});

describe('examples/demo-local.json', () => {
  it('is a valid config whose secrets come from PGPASSWORD and MARIADB_PASSWORD', () => {
    const config = loadConfigFile('examples/demo-local.json');
    expect(() => planLocalTasks(config, {})).toThrow(/PGPASSWORD/);
    expect(planLocalTasks(config, { PGPASSWORD: 'a', MARIADB_PASSWORD: 'b', REDIS_PASSWORD: 'c' }).length).toBeGreaterThan(0);
  });
});
