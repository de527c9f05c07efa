import { describe, expect, it } from 'vitest';
import { BINARIES, findMissing, missingMessage, requiredBinaries, type BinaryName } from '../../scripts/demo/binaries.js';
import { binaryExists, checkBinaries, MissingBinaryError } from '../../scripts/demo/preflight.js';

describe('the binary → package table', () => {
  it.each([
    ['redis-server', 'redis-server is not installed: run apt-get install -y redis-server (or: bash scripts/setup.sh)'],
    ['postgres', 'postgres is not installed: run apt-get install -y postgresql-15 (or: bash scripts/setup.sh)'],
    ['pg_dump', 'pg_dump is not installed: run apt-get install -y postgresql-client-15 (or: bash scripts/setup.sh)'],
    ['mariadbd', 'mariadbd is not installed: run apt-get install -y mariadb-server (or: bash scripts/setup.sh)'],
    ['mariadb-install-db', 'mariadb-install-db is not installed: run apt-get install -y mariadb-server (or: bash scripts/setup.sh)'],
    ['busybox', 'busybox is not installed: run apt-get install -y busybox (or: bash scripts/setup.sh)'],
    ['dash', 'dash is not installed: run apt-get install -y dash (or: bash scripts/setup.sh)'],
    ['unshare', 'unshare is not installed: run apt-get install -y util-linux (or: bash scripts/setup.sh)'],
    ['mongodump', 'mongodump is not installed: install the MongoDB Database Tools (https://www.mongodb.com/try/download/database-tools)'],
  ] as const)('names the command that installs %s', (name, message) => {
    expect(missingMessage(name)).toBe(message);
  });

  it('gives every binary an install command', () => {
    for (const name of Object.keys(BINARIES) as BinaryName[]) expect(BINARIES[name].install, name).toMatch(/^(apt-get install -y [a-z0-9.+-]+|install .+)$/);
  });
});

describe('requiredBinaries', () => {
  it('needs the throwaway servers, their tools and the stand-in\'s shells for the default demo', () => {
    expect(requiredBinaries().sort()).toEqual(
      ['dash', 'unshare', 'postgres', 'initdb', 'runuser', 'redis-server', 'mariadbd', 'mariadb-install-db', 'busybox',
        'pg_dump', 'pg_restore', 'psql', 'redis-cli', 'redis-check-rdb', 'mariadb', 'mariadb-dump'].sort(),
    );
  });

  it.each([
    [['postgres'], ['dash', 'unshare', 'pg_dump', 'pg_restore', 'psql']],
    [['redis'], ['dash', 'unshare', 'redis-cli', 'redis-check-rdb', 'redis-server']],
    [['mysql', 'mariadb'], ['dash', 'unshare', 'mariadb', 'mariadb-dump']],
    [['mongodb'], ['dash', 'unshare', 'mongodump', 'mongorestore', 'mongosh']],
  ] as const)('needs only the job tools of a config with engines %j, each once', (engines, expected) => {
    expect(requiredBinaries(engines)).toEqual(expected);
  });
});

describe('findMissing and checkBinaries', () => {
  it('lists the binaries the lookup does not find, in order', () => {
    expect(findMissing(['dash', 'redis-server', 'postgres', 'unshare'], (b) => b.name === 'dash' || b.name === 'unshare')).toEqual(['redis-server', 'postgres']);
  });

  it('looks a name up on the given PATH and an absolute path as it is', () => {
    expect(binaryExists({ name: 'sh', install: '' }, '/nonexistent:/bin')).toBe(true);
    expect(binaryExists({ name: 'sh', install: '' }, '/nonexistent')).toBe(false);
    expect(binaryExists({ name: 'x', path: '/bin/sh', install: '' }, '')).toBe(true);
    expect(binaryExists({ name: 'x', path: '/nonexistent/x', install: '' }, '/bin')).toBe(false);
  });

  it('throws one error line per missing binary with its install command', () => {
    expect(() => checkBinaries(['dash', 'redis-server', 'busybox'], '/nonexistent')).toThrow(MissingBinaryError);
    expect(() => checkBinaries(['redis-server', 'busybox'], '/nonexistent')).toThrow(
      'redis-server is not installed: run apt-get install -y redis-server (or: bash scripts/setup.sh)\nerror: busybox is not installed: run apt-get install -y busybox (or: bash scripts/setup.sh)',
    );
    expect(() => checkBinaries(['dash'], '/usr/bin:/bin')).not.toThrow();
  });
});
