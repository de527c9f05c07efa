import type { Target } from '../../config/schema.js';
import { BackupError } from '../../errors.js';
import { CHUNK_BYTES } from '../marker.js';
import { PRIORITY_FUNCTIONS, priorityOf } from './priority.js';
import { shQuote } from './quote.js';

/** Where the job runs and which run it is; runDir is the path inside the container. */
export interface JobContext {
  runId: string;
  runDir: string;
  startedAt: string;
}

/** A job script cannot be generated from these inputs (e.g. a file name with a slash); the message says what to fix. */
export class ScriptError extends BackupError {}

/** Standard ports used when a target has none. */
const DEFAULT_PORTS = { postgres: 5432, redis: 6379, mysql: 3306, mariadb: 3306, mongodb: 27017 } as const;

/** Escapes a string for JSON (ASCII bytes 0x20-0x7e kept, tab and newline escaped, other control bytes as `?`). */
export const AWK_ESC = `function esc(s,  o, i, c) {
  o = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\\\") o = o "\\\\\\\\"
    else if (c == "\\"") o = o "\\\\\\""
    else if (c == "\\t") o = o "\\\\t"
    else if (c < " " || c == "\\177") o = o "?"
    else o = o c
  }
  return o
}
`;

/**
 * awk `jname(s)`: a name as a JSON string body: esc(), with tabs as `?` too, like the other control bytes (the
 * MySQL client's own escapes are read the same way, so dump and live counts name a table alike); the count programs
 * put it in front of their own code.
 */
export const AWK_JNAME = `${AWK_ESC}function jname(s) {
  gsub(/\t/, "?", s)
  return esc(s)
}
`;

/**
 * sh functions hash_stream and hash_file (need CHUNK_BYTES and log): the sha256 of a stream or a file and of each of
 * its chunks, for promote, the engines that hash while they dump, and the bench.
 */
export const HASH_FUNCTIONS = `# hash_chunks: the sha256 of each CHUNK_BYTES bytes of stdin, one per line (the last chunk may be shorter). dd with
# iflag=fullblock reads exactly one chunk from a pipe, under dash and busybox alike (busybox head -c reads ahead);
# 128 KiB blocks cost less than one chunk-sized buffer per dd (measured: a third less system time).
hash_chunks() {
  while :; do
    _hc=$( { dd bs=131072 count=$((CHUNK_BYTES / 131072)) iflag=fullblock status=none 2>.hc.err; echo $? >.hc; } | sha256sum) || return $?
    read -r _hcs <.hc || _hcs=1
    [ "$_hcs" = 0 ] || { log "error: dd failed (status $_hcs): $(cat .hc.err)"; rm -f .hc .hc.err; return 1; }
    _hc=\${_hc%% *}
    # An empty read is the end of the input (a chunk of data never hashes like no data).
    [ "$_hc" != e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ] || { rm -f .hc .hc.err; return 0; }
    printf '%s\\n' "$_hc"
  done
}
# chunks_done STATUS: keeps .chunks.tmp as .chunks if hash_chunks exited with STATUS 0; a failed one leaves no list.
chunks_done() {
  if [ "$1" = 0 ]; then mv -f .chunks.tmp .chunks; else log "warning: no chunk list (status $1)"; rm -f .chunks.tmp; fi
}
# hash_stream: reads stdin to its end and prints its sha256 as sha256sum does; in the same pass (tee into a fifo) the
# sha256 of every chunk goes to .chunks, so the Lambda checks each part it sends and never reads a sent part again.
# Without a fifo or a working dd there is no .chunks (the upload then hashes the whole file), never a wrong one.
hash_stream() {
  rm -f .chunks .chunks.tmp .hs.fifo .hs1 .hs2
  mkfifo .hs.fifo 2>/dev/null || { log "warning: cannot make a fifo: no chunk list"; sha256sum; return $?; }
  sha256sum <.hs.fifo &
  _hs_pid=$!
  # cat drains what a failed hash_chunks leaves unread, so tee always feeds the whole stream to sha256sum.
  { tee .hs.fifo; echo $? >.hs1; } | { hash_chunks >.chunks.tmp; echo $? >.hs2; cat >/dev/null; }
  wait "$_hs_pid"
  _hs=$?
  rm -f .hs.fifo
  read -r _hs1 <.hs1 || _hs1=1
  read -r _hs2 <.hs2 || _hs2=1
  rm -f .hs1 .hs2
  [ "$_hs" = 0 ] && [ "$_hs1" = 0 ] || { log "error: hashing failed (sha256sum $_hs, tee $_hs1)"; rm -f .chunks.tmp; return 1; }
  chunks_done "$_hs2"
}
# hash_file FILE: hash_stream for a finished file: sha256sum and hash_chunks read it side by side, which costs less CPU
# than copying it through tee and pipes (measured with npm run bench).
hash_file() {
  rm -f .chunks .chunks.tmp
  sha256sum <"$1" &
  _hf_pid=$!
  hash_chunks <"$1" >.chunks.tmp
  _hf=$?
  wait "$_hf_pid" || { log "error: sha256sum of $1 failed"; rm -f .chunks.tmp; return 1; }
  chunks_done "$_hf"
}
`;

/** Rejects a run-directory file name that is not a plain basename. */
export function assertBasename(file: string, what: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$/.test(file)) {
    throw new ScriptError(`${what} "${file}" must be a plain file name in the run directory (letters, digits, ".", "_", "-")`);
  }
}

/** The SQL string literal of a value ('' for each quote). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Copies the password variable before the script assigns any variable of its own, so a container variable with the
 * same name as one of the script's (HOST, PORT, DB...) cannot be shadowed. A variable name cannot be quoted, so it is
 * checked against the config schema's pattern here instead.
 */
function captureSecret(passwordEnv: string | undefined): string {
  if (passwordEnv === undefined) return 'SECRET_FROM_ENV=0';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(passwordEnv)) {
    throw new ScriptError(`passwordEnv "${passwordEnv}" must be an environment variable name (letters, digits, underscores)`);
  }
  return `SECRET_FROM_ENV=0\nif [ "\${${passwordEnv}+x}" = x ]; then SECRET_FROM_ENV=1; SECRET_VALUE=\${${passwordEnv}}; fi`;
}

/** The shared top of every job: variables, step bookkeeping, secret lookup, marker writing. */
function prelude(kind: 'backup' | 'restore' | 'drill', target: Target, ctx: JobContext, secretVar: string): string {
  const vars: [string, string][] = [
    ['RUN_ID_JSON', JSON.stringify(ctx.runId)],
    ['RUN_DIR', ctx.runDir],
    ['STARTED_AT_JSON', JSON.stringify(ctx.startedAt)],
    ['KIND', kind],
    ['ENGINE', target.engine],
    ['HOST', target.host],
    ['PORT', String(target.port ?? DEFAULT_PORTS[target.engine])],
    ['DB', target.database ?? ''],
    ['DBUSER', target.user ?? ''],
    ['PASSWORD_ENV', target.passwordEnv ?? ''],
    ['SECRET_VAR', secretVar],
    ['TIMEOUT_SECONDS', String(target.dumpTimeoutMinutes * 60)],
    ['ENVIRON_FILE', '/proc/1/environ'],
    ['CHUNK_BYTES', String(CHUNK_BYTES)],
    ['PRIORITY', priorityOf(kind, target)],
  ];
  return `#!/bin/sh
# ecs-db-backup ${kind} job (${target.engine}). Generated by functions/shared/core/scripts; POSIX sh only.
umask 022
${captureSecret(target.passwordEnv)}
${vars.map(([k, v]) => `${k}=${shQuote(v)}`).join('\n')}
AWK_ESC=${shQuote(AWK_ESC)}
cd "$RUN_DIR" || { echo "error: cannot enter the run directory $RUN_DIR" >&2; exit 1; }
rm -f done.gz .done.gz.tmp .done.json
STEPS=
OK=1
FILE_JSON=null
BYTES=null
SHA_JSON=null
CHUNKS_JSON=null
STREAM_SHA=
TOOL_VERSION=unknown
COUNTS_JSON=null
NOTE=
FINISHED=0

# stamp: the UTC time in ISO 8601, to the millisecond where date has %N (GNU coreutils), else to the second (busybox
# prints %N as is): a small dump must not appear to end before the orchestrator's millisecond start time.
DATE_MS=0
case $(date -u +%N 2>/dev/null) in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) DATE_MS=1;; esac
stamp() {
  if [ "$DATE_MS" = 1 ]; then _d=$(date -u +%Y-%m-%dT%H:%M:%S.%N); printf '%sZ\\n' "\${_d%??????}"; else date -u +%Y-%m-%dT%H:%M:%SZ; fi
}
log() { printf '%s %s\\n' "$(stamp)" "$*" >&2; }
${PRIORITY_FUNCTIONS}# job_cleanup: what an engine must undo however the job ends (finish runs it first, also on TERM/INT); engines redefine it.
job_cleanup() { :; }
record() {
  STEPS="$STEPS\${STEPS:+,}{\\"name\\":\\"$1\\",\\"status\\":$2}"
  [ "$2" -eq 0 ] || OK=0
  log "step $1: exit status $2"
}
# step NAME CMD...: runs CMD unless an earlier step failed, and records its exit status.
step() {
  [ "$OK" = 1 ] || return 0
  _step=$1; shift
  log "step $_step: start"
  "$@"
  record "$_step" $?
}
# always NAME CMD...: runs CMD even after a failure (cleanup), and records its exit status.
always() {
  _step=$1; shift
  log "step $_step: start"
  "$@"
  record "$_step" $?
}
# first_failure FILE...: the first non-zero status stored in the files (a missing file counts as 1).
first_failure() {
  for _f in "$@"; do
    _v=$(cat "$_f" 2>/dev/null) || _v=1
    case $_v in ''|*[!0-9]*) _v=1;; esac
    [ "$_v" -eq 0 ] || { rm -f "$@"; return "$_v"; }
  done
  rm -f "$@"
  return 0
}
json_text() {
  LC_ALL=C tr -c '\\11\\12\\40-\\176' '?' | LC_ALL=C awk "$AWK_ESC"'{ printf "%s%s", (NR > 1 ? "\\\\n" : ""), esc($0) }'
}
# read_secret NAME: SECRET=value of NAME from this process's environment (captured at the top), else from the
# container's first process: ECS Exec sessions do not always inherit the task definition's environment.
read_secret() {
  case $1 in ''|[0-9]*|*[!A-Za-z0-9_]*) return 2;; esac
  if [ "$SECRET_FROM_ENV" = 1 ]; then SECRET=$SECRET_VALUE; unset SECRET_VALUE; return 0; fi
  [ -r "$ENVIRON_FILE" ] || return 1
  # od + awk + printf instead of tr/sed: busybox sed stops at NUL, and values may hold newlines.
  _p=$(printf '%s=' "$1" | od -An -v -to1 | tr -s ' \\n' '  ')
  _e=$(od -An -v -to1 "$ENVIRON_FILE" | awk -v p="$_p" '
    BEGIN { n = split(p, pt, " "); pfx = ""; for (j = 1; j <= n; j++) pfx = pfx "\\\\" pt[j]; cur = ""; found = 0 }
    { for (i = 1; i <= NF; i++) {
        if ($i == "000") { if (!found && substr(cur, 1, length(pfx)) == pfx) { found = 1; print substr(cur, length(pfx) + 1) } cur = "" }
        else cur = cur "\\\\" $i } }
    END { exit found ? 0 : 1 }') || return 1
  SECRET=$(printf "\${_e}x")
  SECRET=\${SECRET%x}
}
load_secret() {
  if ! read_secret "$PASSWORD_ENV"; then
    log "error: the container has no environment variable $PASSWORD_ENV (looked in the job's environment and $ENVIRON_FILE); set it in the task definition or fix passwordEnv in the config"
    return 1
  fi
  eval "$SECRET_VAR=\\$SECRET; export $SECRET_VAR"
  unset SECRET
}
${HASH_FUNCTIONS}# chunk_list FINAL: moves .chunks beside FINAL and names it in the marker, if it has one line per chunk of FINAL.
chunk_list() {
  [ -f .chunks ] || return 0
  _cn=$(wc -l <.chunks | tr -d ' ')
  _cw=$(( (BYTES + CHUNK_BYTES - 1) / CHUNK_BYTES ))
  [ "$_cn" = "$_cw" ] || { log "warning: the chunk list has $_cn lines for $_cw chunks: left out"; rm -f .chunks; return 0; }
  mv -f .chunks "$1.chunks" || return 0
  _cs=$(sha256sum "$1.chunks" | cut -d ' ' -f 1)
  [ \${#_cs} -eq 64 ] || return 0
  CHUNKS_JSON="{\\"file\\":\\"$1.chunks\\",\\"chunkBytes\\":$CHUNK_BYTES,\\"count\\":$_cn,\\"sha256\\":\\"$_cs\\"}"
}
# promote TMP FINAL: renames the checked file and records its size, sha256 and chunk list: the ones hashed while it was
# written (STREAM_SHA and .chunks), else read from the file once.
promote() {
  mv -f "$1" "$2" || return $?
  FILE_JSON="\\"$2\\""
  BYTES=$(wc -c <"$2" | tr -d ' ')
  if [ \${#STREAM_SHA} -ne 64 ] && command -v sha256sum >/dev/null 2>&1; then
    rm -f .chunks
    STREAM_SHA=$(hash_file "$2" | cut -d ' ' -f 1)
  fi
  [ \${#STREAM_SHA} -eq 64 ] || return 0
  SHA_JSON="\\"$STREAM_SHA\\""
  chunk_list "$2"
  return 0
}
# finish: writes done.gz last and atomically; safe to call twice.
finish() {
  [ "$FINISHED" = 0 ] || return 0
  FINISHED=1
  job_cleanup
  if [ "$OK" = 1 ]; then _ok=true; else _ok=false; fi
  log "job finished: ok=$_ok"
  _end=$(stamp)
  _tail=$(tail -c 4096 log 2>/dev/null | json_text)
  _tv=$(printf '%s' "$TOOL_VERSION" | json_text)
  _note=
  [ -z "$NOTE" ] || _note=",\\"note\\":\\"$(printf '%s' "$NOTE" | json_text)\\""
  printf '{"runId":%s,"kind":"%s","engine":"%s","toolVersion":"%s","steps":[%s],"ok":%s,"file":%s,"bytes":%s,"sha256":%s,"chunks":%s,"startedAt":%s,"endedAt":"%s","stderrTail":"%s","counts":%s%s}\\n' \\
    "$RUN_ID_JSON" "$KIND" "$ENGINE" "$_tv" "$STEPS" "$_ok" "$FILE_JSON" "$BYTES" "$SHA_JSON" "$CHUNKS_JSON" "$STARTED_AT_JSON" "$_end" "$_tail" "$COUNTS_JSON" "$_note" >.done.json &&
    gzip -c .done.json >.done.gz.tmp && mv -f .done.gz.tmp done.gz && rm -f .done.json
}
trap 'record signal 143; finish; exit 143' TERM
trap 'record signal 130; finish; exit 130' INT
`;
}

/** Assembles a whole job: prelude, engine functions, extra variables, then the main step sequence and finish. */
export function assembleJob(parts: {
  kind: 'backup' | 'restore' | 'drill';
  target: Target;
  ctx: JobContext;
  secretVar: string;
  vars?: Record<string, string>;
  functions: string;
  main: string;
}): string {
  const vars = Object.entries(parts.vars ?? {})
    .map(([k, v]) => `${k}=${shQuote(v)}`)
    .join('\n');
  return `${prelude(parts.kind, parts.target, parts.ctx, parts.secretVar)}${vars}\n${parts.functions}\nyield_priority\n${parts.main}\nfinish\nif [ "$OK" = 1 ]; then exit 0; else exit 1; fi\n`;
}

/** The secret step, emitted only when the target names a password variable. */
export function secretStep(target: Target): string {
  return target.passwordEnv === undefined ? '' : 'step secret load_secret';
}
