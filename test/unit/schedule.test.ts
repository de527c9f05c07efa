import { describe, expect, it } from 'vitest';
import { isDue, latestSlot, nextSlot, ScheduleError } from '../../functions/shared/core/schedule.js';

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
