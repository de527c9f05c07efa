import { describe, expect, it } from 'vitest';
import { defaultJsonPath, DEFAULTS, parseBenchArgs, UsageError } from '../../scripts/bench/options.js';
import { SECTIONS } from '../../scripts/bench/results.js';

const NOW = new Date('2026-11-22T07:08:09.123Z');

describe('parseBenchArgs', () => {
  it('measures every section with the defaults when given no arguments', () => {
    expect(parseBenchArgs([], NOW)).toEqual({
      pgSizeMb: DEFAULTS.pgSizeMb,
      redisKeys: DEFAULTS.redisKeys,
      uploadSizesMiB: [256, 1024],
      repeats: 3,
      resumeUpload: false,
      jsonPath: 'bench-results/bench-2026-11-22T07-08-09Z.json',
      only: [...SECTIONS],
    });
  });

  it('reads every option', () => {
    const argv = ['--pg-size-mb', '50', '--redis-keys', '10000', '--upload-sizes-mib', '16, 32', '--repeats', '1', '--json', 'out/x.json', '--only', 'restore,dump'];
    expect(parseBenchArgs(argv, NOW)).toEqual({
      pgSizeMb: 50,
      redisKeys: 10_000,
      uploadSizesMiB: [16, 32],
      repeats: 1,
      resumeUpload: false,
      jsonPath: 'out/x.json',
      only: ['dump', 'restore'],
    });
  });

  it.each([
    ['500m', 500, false],
    ['1g', 1000, false],
    ['10g', 10_000, true],
    ['10GB', 10_000, true],
  ])('reads --size %s as %i MB, resuming the upload from 5 GB on: %s', (size, mb, resume) => {
    expect(parseBenchArgs(['--size', size], NOW)).toMatchObject({ pgSizeMb: mb, resumeUpload: resume });
  });

  it('resumes the upload at any size with --resume-upload', () => {
    expect(parseBenchArgs(['--size', '50m', '--resume-upload'], NOW)).toMatchObject({ pgSizeMb: 50, resumeUpload: true });
  });

  it.each([['--help'], ['-h']])('answers help to %s', (flag) => {
    expect(parseBenchArgs([flag], NOW)).toBe('help');
  });

  it.each([
    [['--pg-size-mb', 'big'], '--pg-size-mb'],
    [['--size', '10t'], '--size'],
    [['--size', '1m'], '--size'],
    [['--size', '1g', '--pg-size-mb', '1000'], '--size and --pg-size-mb'],
    [['--pg-size-mb', '8'], '--pg-size-mb'],
    [['--pg-size-mb', '1.5'], '--pg-size-mb'],
    [['--redis-keys', '0'], '--redis-keys'],
    [['--redis-keys', '-5'], '--redis-keys'],
    [['--upload-sizes-mib', '16,,32'], '--upload-sizes-mib'],
    [['--upload-sizes-mib', '16,x'], '--upload-sizes-mib'],
    [['--upload-sizes-mib', '16,16'], '--upload-sizes-mib'],
    [['--upload-sizes-mib', '0'], '--upload-sizes-mib'],
    [['--repeats', '0'], '--repeats'],
    [['--repeats', ''], '--repeats'],
    [['--only', 'dump,uploads'], '--only'],
    [['--only', ''], '--only'],
    [['--json', ''], '--json'],
    [['--suite', 'dump'], '--suite'],
    [['--repeats'], '--repeats'],
    [['extra'], 'extra'],
  ])('rejects %j with a usage error naming %s', (argv, flag) => {
    expect(() => parseBenchArgs(argv, NOW)).toThrow(UsageError);
    expect(() => parseBenchArgs(argv, NOW)).toThrow(flag);
  });
});

describe('defaultJsonPath', () => {
  it('names the file after the start time, without colons or milliseconds', () => {
    expect(defaultJsonPath(new Date('2027-01-02T03:04:05.678Z'))).toBe('bench-results/bench-2027-01-02T03-04-05Z.json');
  });
});
