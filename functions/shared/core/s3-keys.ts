import { BackupError } from '../errors.js';

/**
 * S3 key naming for the rolling week: `<prefix><target>/<weekday>.<ext>` and the manifest
 * `<prefix><target>/<weekday>.json` beside it. Pure: no I/O, no clock.
 */

/** The seven weekdays, Monday first; their names are the key stems. */
export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;

/** A weekday name as it appears in object keys. */
export type Weekday = (typeof WEEKDAYS)[number];

/** A key, prefix, target or extension that cannot name a backup object. */
export class KeyNamingError extends BackupError {}

const PREFIX = /^(?:[A-Za-z0-9_-]+\/)*$/;
const TARGET = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const EXTENSION = /^[a-z0-9]+(?:\.[a-z0-9]+)*$/;

function checked(value: string, re: RegExp, what: string, hint: string): string {
  if (!re.test(value)) throw new KeyNamingError(`invalid ${what} ${JSON.stringify(value)}: must be ${hint}`);
  return value;
}

/** Day of the week of `instant` on the wall clock of `timeZone` (an IANA name such as "Europe/Berlin"). */
export function weekdayOf(instant: Date, timeZone: string): Weekday {
  let name: string;
  try {
    name = new Intl.DateTimeFormat('en-US', { weekday: 'long', timeZone }).format(instant).toLowerCase();
  } catch (error) {
    throw new KeyNamingError(`invalid time zone ${JSON.stringify(timeZone)}: use an IANA name such as "UTC"`, {
      cause: error,
    });
  }
  if (!(WEEKDAYS as readonly string[]).includes(name)) {
    throw new KeyNamingError(`cannot tell the weekday of ${instant.toISOString()} in ${timeZone} (got "${name}")`);
  }
  return name as Weekday;
}

/**
 * The weekday a run's dump is kept under: its scheduled slot's, so a slot at 23:59 that starts at 00:01 (firing
 * jitter, an hourly orchestrator) still fills its own day and never writes the next day's key twice; a manual run
 * (no slot) takes the day it started.
 */
export function runWeekday(run: { slot: string | null; startedAt: string }, timeZone: string): Weekday {
  return weekdayOf(new Date(run.slot ?? run.startedAt), timeZone);
}

/** The folder of one target's objects: `<prefix><target>/`. */
export function targetPrefix(prefix: string, target: string): string {
  checked(prefix, PREFIX, 'key prefix', 'empty or segments of letters, digits, "_" or "-", each ending in "/"');
  checked(target, TARGET, 'target name', '1-40 lowercase letters, digits or hyphens');
  return `${prefix}${target}/`;
}

/** The dump object of one weekday: `<prefix><target>/<weekday>.<ext>` (ext without the leading dot, e.g. "sql.gz"). */
export function backupKey(prefix: string, target: string, weekday: Weekday, ext: string): string {
  checked(ext, EXTENSION, 'extension', 'dot-separated lowercase letters and digits without a leading dot, e.g. "sql.gz"');
  if (ext === 'json') throw new KeyNamingError('invalid extension "json": it is reserved for manifests');
  return `${targetPrefix(prefix, target)}${checkedWeekday(weekday)}.${ext}`;
}

/** The manifest of one weekday: `<prefix><target>/<weekday>.json`. */
export function manifestKey(prefix: string, target: string, weekday: Weekday): string {
  return `${targetPrefix(prefix, target)}${checkedWeekday(weekday)}.json`;
}

/** What a key under a target's folder names: a weekday's dump, its manifest, or (null) something else. */
export function parseBackupKey(
  prefix: string,
  target: string,
  key: string,
): { weekday: Weekday; kind: 'dump' | 'manifest'; ext: string } | null {
  const folder = targetPrefix(prefix, target);
  if (!key.startsWith(folder)) return null;
  const name = key.slice(folder.length);
  const dot = name.indexOf('.');
  if (dot < 0) return null;
  const stem = name.slice(0, dot);
  const ext = name.slice(dot + 1);
  if (!(WEEKDAYS as readonly string[]).includes(stem) || !EXTENSION.test(ext)) return null;
  return { weekday: stem as Weekday, kind: ext === 'json' ? 'manifest' : 'dump', ext };
}

function checkedWeekday(weekday: Weekday): Weekday {
  if (!(WEEKDAYS as readonly string[]).includes(weekday)) {
    throw new KeyNamingError(`invalid weekday ${JSON.stringify(weekday)}: must be one of ${WEEKDAYS.join(', ')}`);
  }
  return weekday;
}
