import type { DemoWorld } from './world.js';

/** Runs `npm run restore -- ARGS` against the stand-ins, printing the command and what it printed (indented). */
export async function restoreCommand(world: DemoWorld, args: readonly string[], say: (line: string) => void, comment = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  world.check();
  say(`- npm run restore -- ${args.join(' ')}${comment ? `   (${comment})` : ''}`);
  const r = await world.restoreCli(args);
  // stderr carries the progress lines and errors; stdout the result.
  for (const line of `${r.stderr}${r.stdout}`.trimEnd().split('\n')) if (line.trim() !== '') say(`  ${line}`);
  if (r.code !== 0) say(`  [exit ${r.code}]`);
  return r;
}
