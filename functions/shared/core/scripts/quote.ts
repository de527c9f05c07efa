/** Quotes a value for POSIX sh: single quotes, each `'` becomes `'"'"'`; the result is always one literal word. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}
