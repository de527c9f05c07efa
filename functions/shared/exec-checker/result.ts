import type { CheckResult } from './types.js';

/** Line builders bound to one check id, so each check file reads as a list of verdicts. */
export function lines(check: string) {
  return {
    green: (title: string, message: string): CheckResult => ({ check, title, verdict: 'green', message }),
    yellow: (title: string, message: string, fix?: string): CheckResult =>
      fix === undefined ? { check, title, verdict: 'yellow', message } : { check, title, verdict: 'yellow', message, fix },
    red: (title: string, message: string, fix: string): CheckResult => ({ check, title, verdict: 'red', message, fix }),
  };
}
