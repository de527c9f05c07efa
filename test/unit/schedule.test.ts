import { describe, expect, it } from 'vitest';
import { backupAgeLimitHours, firesRepeatedly, isDue, latestSlot, longestGapMs, nextSlot, ScheduleError, SLOT_GRACE_HOURS } from '../../functions/shared/core/schedule.js';

const at = (iso: string) => new Date(iso);

describe('latestSlot', () => {
  it.each([
    { name: 'the same day, after midnight UTC', schedule: '0 0 * * *', tz: 'UTC', now: '2026-11-22T05:30:00Z', slot: '2026-11-22T00:00:00.000Z' },
    { name: 'the slot itself at its exact time', schedule: '0 0 * * *', tz: 'UTC', now: '2026-11-22T00:00:00Z', slot: '2026-11-22T00:00:00.000Z' },
    { name: 'the previous day one millisecond before midnight', schedule: '0 0 * * *', tz: 'UTC', now: '2026-11-21T23:59:59.999Z', slot: '2026-11-21T00:00:00.000Z' },
    { name: 'midnight in Berlin in winter (UTC+1)', schedule: '0 0 * * *', tz: 'Europe/Berlin', now: '2026-11-22T05:00:00Z', slot: '2026-11-21T23:00:00.000Z' },
    { name: 'midnight in Berlin after the spring DST switch (UTC+2)', schedule: '0 0 * * *', tz: 'Europe/Berlin', now: '2026-03-30T05:00:00Z', slot: '2026-03-29T22:00:00.000Z' },
    { name: 'the last hourly slot', schedule: '15 * * * *', tz: 'UTC', now: '2026-11-22T05:14:00Z', slot: '2026-11-22T04:15:00.000Z' },
    { name: 'the last Sunday for a weekly schedule', schedule: '30 3 * * 0', tz: 'UTC', now: '2026-11-25T12:00:00Z', slot: '2026-11-22T03:30:00.000Z' },
  ])('finds $name', ({ schedule, tz, now, slot }) => {
    expect(latestSlot(schedule, tz, at(now))?.toISOString()).toBe(slot);
  });

  it('rejects an expression croner cannot parse, naming it', () => {
    expect(() => latestSlot('61 * * * *', 'UTC', at('2026-11-22T00:00:00Z'))).toThrow(ScheduleError);
    expect(() => latestSlot('61 * * * *', 'UTC', at('2026-11-22T00:00:00Z'))).toThrow(/invalid schedule "61 \* \* \* \*"/);
  });
});

describe('nextSlot', () => {
  it('is strictly after now', () => {
    expect(nextSlot('0 0 * * *', 'UTC', at('2026-11-22T00:00:00Z'))?.toISOString()).toBe('2026-11-23T00:00:00.000Z');
  });
});

describe('isDue', () => {
  const base = { schedule: '0 0 * * *', timeZone: 'UTC', now: at('2026-11-22T05:00:00Z') };
  const slot = '2026-11-22T00:00:00.000Z';
  it.each([
    { name: 'due when nothing ever succeeded', lastSuccess: null, lastFailedSlot: null, due: true, reason: undefined },
    { name: 'due when the last success is before the slot', lastSuccess: '2026-11-21T00:03:00Z', lastFailedSlot: null, due: true, reason: undefined },
    { name: 'done when the last success is after the slot', lastSuccess: '2026-11-22T00:03:00Z', lastFailedSlot: null, due: false, reason: 'done' },
    { name: 'done when the last success is exactly at the slot', lastSuccess: slot, lastFailedSlot: null, due: false, reason: 'done' },
    { name: 'not retried when this slot already failed', lastSuccess: '2026-11-21T00:03:00Z', lastFailedSlot: slot, due: false, reason: 'failed-slot' },
    { name: 'due when only an earlier slot failed', lastSuccess: '2026-11-20T00:03:00Z', lastFailedSlot: '2026-11-21T00:00:00Z', due: true, reason: undefined },
  ])('is $name', ({ lastSuccess, lastFailedSlot, due, reason }) => {
    const result = isDue({ ...base, lastSuccess: lastSuccess ? at(lastSuccess) : null, lastFailedSlot: lastFailedSlot ? at(lastFailedSlot) : null });
    expect(result.due).toBe(due);
    expect(result.slot?.toISOString()).toBe(slot);
    if (!result.due) expect(result.reason).toBe(reason);
  });

  it('retries at the next scheduled time after a failed slot', () => {
    const next = isDue({ ...base, now: at('2026-11-23T00:00:30Z'), lastSuccess: null, lastFailedSlot: at(slot) });
    expect(next).toEqual({ due: true, slot: at('2026-11-23T00:00:00Z') });
  });
});

describe('longestGapMs', () => {
  const HOUR = 3_600_000;
  it.each([
    { name: 'a daily schedule in UTC', schedule: '0 0 * * *', tz: 'UTC', hours: 24 },
    { name: 'a daily schedule in Berlin (the autumn DST switch makes one day 25 hours)', schedule: '0 0 * * *', tz: 'Europe/Berlin', hours: 25 },
    { name: 'a weekly schedule', schedule: '30 3 * * 0', tz: 'UTC', hours: 168 },
    { name: 'weekdays only (Friday to Monday)', schedule: '0 1 * * 1-5', tz: 'UTC', hours: 72 },
    { name: 'an hourly schedule', schedule: '15 * * * *', tz: 'UTC', hours: 1 },
    { name: 'every five minutes (one backup per hour at most)', schedule: '*/5 * * * *', tz: 'UTC', hours: 1 },
    { name: 'the 31st of the month (July to August is 31 days, August to October 61)', schedule: '0 0 31 * *', tz: 'UTC', hours: 61 * 24 },
    { name: 'once a year', schedule: '0 0 1 6 *', tz: 'UTC', hours: 365 * 24 },
  ])('measures $name', ({ schedule, tz, hours }) => {
    expect(longestGapMs(schedule, tz)).toBe(hours * HOUR);
  });

  it('is null for a schedule that fires fewer than twice in two years', () => {
    expect(longestGapMs('0 0 30 2 *', 'UTC')).toBeNull();
    expect(longestGapMs('0 0 29 2 *', 'UTC')).toBeNull();
    expect(firesRepeatedly('0 0 29 2 *', 'UTC')).toBe(false);
    expect(firesRepeatedly('0 0 1 6 *', 'UTC')).toBe(true);
  });
});

describe('backupAgeLimitHours', () => {
  it('adds the orchestrator grace and the dump timeout to the longest gap', () => {
    expect(backupAgeLimitHours({ schedule: '0 0 * * *', timeZone: 'UTC', dumpTimeoutMinutes: 180 })).toBe(24 + SLOT_GRACE_HOURS + 3);
    expect(backupAgeLimitHours({ schedule: '0 0 * * *', timeZone: 'UTC', dumpTimeoutMinutes: 61 })).toBe(24 + SLOT_GRACE_HOURS + 2);
  });

  it('throws for a schedule that does not repeat, naming it', () => {
    expect(() => backupAgeLimitHours({ schedule: '0 0 30 2 *', timeZone: 'UTC', dumpTimeoutMinutes: 60 })).toThrow(/schedule "0 0 30 2 \*" in UTC fires less than once a year/);
  });

  /** Hourly ages (hours since the newest backup's start) over `weeks` of a schedule whose backups start up to 59 min late and take the dump timeout, skipping `skip`. */
  function hourlyAges(schedule: string, tz: string, dumpTimeoutMinutes: number, weeks: number, skip?: number): number[] {
    const start = Date.parse('2026-03-02T00:00:00Z');
    const finished: { startedAt: number; doneAt: number }[] = [];
    let from = new Date(start - 1);
    for (let i = 0; ; i++) {
      const slot = nextSlot(schedule, tz, from)!;
      if (slot.getTime() > start + weeks * 7 * 86_400_000) break;
      from = slot;
      if (i === skip) continue;
      const startedAt = slot.getTime() + 59 * 60_000;
      finished.push({ startedAt, doneAt: startedAt + dumpTimeoutMinutes * 60_000 });
    }
    const ages: number[] = [];
    for (let t = finished[0]!.doneAt; t < start + weeks * 7 * 86_400_000; t += 3_600_000) {
      const newest = finished.filter((b) => b.doneAt <= t).at(-1)!;
      ages.push((t - newest.startedAt) / 3_600_000);
    }
    return ages;
  }

  it.each([
    { schedule: '30 3 * * 0', tz: 'UTC', dump: 60 },
    { schedule: '0 0 * * *', tz: 'Europe/Berlin', dump: 180 },
    { schedule: '0 1 * * 1-5', tz: 'America/New_York', dump: 45 },
  ])('keeps "$schedule" in $tz out of alarm while every backup lands, and alarms when one is missing', ({ schedule, tz, dump }) => {
    const limit = backupAgeLimitHours({ schedule, timeZone: tz, dumpTimeoutMinutes: dump });
    expect(Math.max(...hourlyAges(schedule, tz, dump, 10))).toBeLessThanOrEqual(limit);
    expect(Math.max(...hourlyAges(schedule, tz, dump, 10, 5))).toBeGreaterThan(limit);
  });
});
