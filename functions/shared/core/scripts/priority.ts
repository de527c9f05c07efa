import type { Target } from '../../config/schema.js';

/** The nice increment of a job at priority `low` (and of the database session that serves its dump). */
export const LOW_NICE = 10;
/** The best-effort I/O class level (0 highest, 7 lowest) of a job at priority `low`. */
export const LOW_IO_LEVEL = 7;

/**
 * sh functions that let a job yield to the database it runs beside (needs `log`). `yield_priority`, with
 * PRIORITY=low: renices the job's shell, so every process it starts afterwards (dump tool, compression, hashing,
 * counting) runs at nice +LOW_NICE, and puts it in the lowest best-effort I/O class; `renice` and `ionice` are missing
 * from some images: the job then says so in its log and runs on. `yield_pid PID WHAT` does the same to another process
 * (the server's session that formats the dump), once yield_priority could renice.
 */
export const PRIORITY_FUNCTIONS = `YIELD_CPU=0
YIELD_IO=0
yield_priority() {
  if [ "$PRIORITY" != low ]; then log "priority normal: the job runs at the container's CPU and I/O priority"; return 0; fi
  _cpu="CPU priority unchanged: renice is not in this image"
  if command -v renice >/dev/null 2>&1; then
    if renice -n ${LOW_NICE} -p $$ >/dev/null 2>&1; then YIELD_CPU=1; _cpu="CPU nice +${LOW_NICE} (renice)"; else _cpu="CPU priority unchanged: renice failed"; fi
  fi
  _io="I/O priority unchanged: ionice is not in this image"
  if command -v ionice >/dev/null 2>&1; then
    if ionice -c 2 -n ${LOW_IO_LEVEL} -p $$ >/dev/null 2>&1; then YIELD_IO=1; _io="I/O best-effort ${LOW_IO_LEVEL} (ionice)"; else _io="I/O priority unchanged: ionice failed"; fi
  fi
  log "priority low: $_cpu; $_io"
  return 0
}
yield_pid() {
  [ "$YIELD_CPU" = 1 ] || return 0
  case $1 in ''|*[!0-9]*) log "warning: no process id for $2: it runs at its own priority"; return 0;; esac
  if renice -n ${LOW_NICE} -p "$1" >/dev/null 2>&1; then log "$2 (pid $1): CPU nice +${LOW_NICE}"; else log "warning: could not renice $2 (pid $1): it runs at its own priority"; fi
  [ "$YIELD_IO" = 1 ] && ionice -c 2 -n ${LOW_IO_LEVEL} -p "$1" >/dev/null 2>&1
  return 0
}
`;

/** The job's PRIORITY variable: the target's priority (backups and drills yield; restores always run at full speed). */
export function priorityOf(kind: 'backup' | 'restore' | 'drill', target: Target): 'low' | 'normal' {
  return kind === 'restore' ? 'normal' : target.priority;
}
