import { describe, expect, it } from 'vitest';
import { median, parseTimeReport } from '../../scripts/bench/timed.js';

const REPORT = `\tCommand being timed: "pg_dump -Fc"
\tUser time (seconds): 1.25
\tSystem time (seconds): 0.50
\tPercent of CPU this job got: 90%
\tMaximum resident set size (kbytes): 13312
\tExit status: 0
`;

describe('parseTimeReport', () => {
  it('reads user + system CPU and the peak RSS', () => {
    expect(parseTimeReport(REPORT)).toEqual({ cpuSeconds: 1.75, maxRssKiB: 13_312 });
  });

  it('names the field it misses', () => {
    expect(() => parseTimeReport('Command exited with non-zero status 1')).toThrow('User time');
  });
});

describe('median', () => {
  it.each([
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('of %j is %f', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow('median of nothing');
  });
});
