import { shQuote } from './quote.js';

/**
 * Shell snippet (run by /bin/sh -c in the container through ECS Exec) that creates runDir, writes the job script to
 * runDir/job.sh, starts it detached (`setsid nohup /bin/sh job.sh </dev/null >runDir/log 2>&1 &`, falling back to
 * `nohup` when setsid is missing), prints one line `started <pid>` and exits 0 at once; exits non-zero with a message
 * if it could not start (dir not writable, etc.).
 */
export function buildLaunchScript(runDir: string, jobScript: string): string {
  // printf is a shell builtin, so the script text never meets the kernel's argument size limit.
  return [
    'umask 022',
    `d=${shQuote(runDir)}`,
    'mkdir -p -- "$d" || { echo "error: cannot create the run directory $d; check that the backup directory is mounted and writable" >&2; exit 1; }',
    `printf '%s' ${shQuote(jobScript)} >"$d/job.sh.tmp" && mv -f -- "$d/job.sh.tmp" "$d/job.sh" || { echo "error: cannot write $d/job.sh; check free space and permissions of the backup directory" >&2; exit 1; }`,
    'cd -- "$d" || { echo "error: cannot enter $d" >&2; exit 1; }',
    // The ECS Exec agent sends SIGHUP at the end of the session: a new session (setsid) and an ignored HUP (nohup, and
    // `trap '' HUP`, which children inherit, for images without nohup such as some busybox builds) both keep the job alive.
    "trap '' HUP",
    's=; n=',
    'command -v setsid >/dev/null 2>&1 && s=setsid',
    'command -v nohup >/dev/null 2>&1 && n=nohup',
    '$s $n /bin/sh job.sh </dev/null >log 2>&1 &',
    'pid=$!',
    'echo "started $pid"',
    'exit 0',
    '',
  ].join('\n');
}
