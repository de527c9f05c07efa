import { sqlLiteral } from '../common.js';
import { PG_CONTENT_AWK } from './postgres-content.js';
import { PG_DBPROPS_AWK, swapSql } from './postgres-database.js';

/** Secret variable pg tools read. */
export const POSTGRES_SECRET_VAR = 'PGPASSWORD';

const shared = `pg() {
  _tool=$1; shift
  if [ -n "$DBUSER" ]; then set -- -U "$DBUSER" "$@"; fi
  "$_tool" -h "$HOST" -p "$PORT" -w "$@"
}
pg_tool_version() {
  TOOL_VERSION=$("$1" --version) || { log "error: $1 is not on PATH in this container"; return 127; }
}
# pg_sql SQL: runs one statement in the maintenance database.
pg_sql() { pg psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
# pg_content_awk OUT: the data-only SQL on stdin as content JSON (rows, digests, sequences, large objects) into OUT.
# mawk when the image has it: measured on 1 GB, it reads the rows in ~60% of gawk's CPU and buffers its pipes itself
# (rows go to md5sum one print each); any other awk hands them over in batches.
pg_content_awk() {
  if command -v md5sum >/dev/null 2>&1; then set -- "$1" "md5sum >&3" "md5sum >$1.lo"; else set -- "$1" "" ""; fi
  if command -v mawk >/dev/null 2>&1; then set -- "$@" mawk 1; else set -- "$@" awk 0; fi
  LC_ALL=C "$4" -v direct="$5" -v hash="$2" -v lohash="$3" -v dg="$1.dg" -v lofile="$1.lo" "$PG_CONTENT_AWK" 3>"$1.dg" >"$1"
  _rc=$?
  rm -f "$1.dg" "$1.lo"
  return $_rc
}
# pg_read_content OUT CMD...: CMD's data-only SQL through pg_content_awk; both statuses checked.
pg_read_content() {
  _o=$1; shift
  { "$@"; echo $? >"$_o.s1"; } | pg_content_awk "$_o"; echo $? >"$_o.s2"
  first_failure "$_o.s1" "$_o.s2"
}
# pg_archive_start: reads the archive's content in the background (while the restore runs: the second core reads it).
ARCHIVE_PID=
pg_archive_start() {
  ( pg_read_content .ac pg_restore -a -f - "$FILE" ) &
  ARCHIVE_PID=$!
}
# pg_archive_wait: the status of that read (started now when it was not).
pg_archive_wait() {
  [ -n "$ARCHIVE_PID" ] || pg_archive_start
  wait "$ARCHIVE_PID"; _arc=$?
  ARCHIVE_PID=done
  return $_arc
}
# pg_restore_reading DB: pg_restore_into DB while the archive's content is read.
pg_restore_reading() { pg_archive_start; pg_restore_into "$1"; }
# pg_content DB: the content of the restored DB (re-dumped by pg_dump, so with pg_dump's own session settings) and
# of the archive itself (read during the restore); COUNTS_JSON holds the first with the second as "archive".
pg_content() {
  pg_read_content .rc pg pg_dump -a -d "$1"; _rrc=$?
  pg_archive_wait; _arc=$?
  [ "$_rrc" = 0 ] || log "error: reading the restored database $1 back (pg_dump -a) failed with status $_rrc"
  [ "$_arc" = 0 ] || log "error: reading the archive's data (pg_restore -a) failed with status $_arc"
  if [ "$_rrc" = 0 ] && [ "$_arc" = 0 ]; then
    _r=$(cat .rc)
    COUNTS_JSON="\${_r%?},\\"archive\\":$(cat .ac)}"
  fi
  rm -f .ac .rc
  [ "$_rrc" = 0 ] && [ "$_arc" = 0 ]
}
# pg_same A B: SAME=t when the server takes the two database names for one (its own comparison of type name).
pg_same() {
  SAME=$(printf '%s\\n' "SELECT (:'a')::name = (:'b')::name;" | pg psql -X -q -A -t -v ON_ERROR_STOP=1 -v a="$1" -v b="$2" -d postgres) || {
    log "error: could not ask the server whether databases \\"$1\\" and \\"$2\\" are one"; return 1; }
}
# pg_distinct NAME WHAT: fails, before anything is created or dropped, when NAME is the live database by the server's rules.
pg_distinct() {
  pg_same "$1" "$DB" || return $?
  [ "$SAME" = f ] && return 0
  log "error: refusing: the $2 \\"$1\\" is the live database \\"$DB\\" by the server's rules (PostgreSQL compares names as type name); nothing was created or dropped"
  return 1
}
# pg_create_like_archive NAME: creates NAME with the archive's database properties. The CREATE (encoding, locale) must
# succeed; owner, settings, comment and grants that this server cannot take (a role missing here) are reported in the
# result's note, not fatal: a restore onto another server must not fail on them.
pg_create_like_archive() {
  { pg_restore -C -s -f - "$FILE"; echo $? >.s1; } | LC_ALL=C awk -v new="$1" "$PG_DBPROPS_AWK" >.dbprops.sql; echo $? >.s2
  first_failure .s1 .s2 || { _rc=$?; rm -f .dbprops.sql; log "error: could not read the database properties from the archive"; return "$_rc"; }
  log "creating database $1 with the archive's database properties"
  head -n 1 .dbprops.sql >.dbcreate.sql && tail -n +2 .dbprops.sql >.dbrest.sql || return 1
  pg psql -X -q -v ON_ERROR_STOP=1 -d postgres -f .dbcreate.sql; _rc=$?
  if [ "$_rc" = 0 ]; then
    pg psql -X -q -d postgres -f .dbrest.sql 2>.dbprops.err
    cat .dbprops.err >&2
    _e=$(grep -m 3 'ERROR:' .dbprops.err | tr '\n' ' ')
    if [ -n "$_e" ]; then
      log "warning: some properties of database $1 could not be restored: $_e"
      NOTE="Some database properties could not be restored: $_e"
    fi
  fi
  rm -f .dbprops.sql .dbcreate.sql .dbrest.sql .dbprops.err
  return $_rc
}
# pg_restore_into DB: pg_restore -j; a failure logs pg_restore's first errors last, where the result quotes them.
pg_restore_into() {
  pg_jobs
  pg pg_restore -d "$1" -j "$JOBS" "$FILE" 2>.restore.err; _rc=$?
  cat .restore.err >&2
  if [ "$_rc" != 0 ]; then
    _first=$(grep -v '^pg_restore: warning: errors ignored' .restore.err | grep -m 3 -e '^pg_restore: error:' -e '^ERROR:' | tr '\\n' ' ')
    log "error: pg_restore into $1 exited with status $_rc: \${_first:-see the log above}"
  fi
  rm -f .restore.err
  return $_rc
}
# pg_list FILE: pg_restore reads the archive's table of contents (the file is a complete custom-format dump).
pg_list() { pg_restore --list "$1" >/dev/null; }
pg_jobs() {
  JOBS=$(nproc 2>/dev/null) || JOBS=2
  case $JOBS in ''|*[!0-9]*) JOBS=2;; esac
  [ "$JOBS" -le 4 ] || JOBS=4
  [ "$JOBS" -ge 1 ] || JOBS=1
}
`;

/** Variables every postgres job carries. */
export function postgresVars(): Record<string, string> {
  return { PG_CONTENT_AWK, PG_DBPROPS_AWK };
}

/**
 * Functions and steps of a postgres backup: pg_dump -Fc streamed into the file, sha256 and content (rows and their
 * digests per table, sequences, large objects) at once; pg_restore --list; promote.
 */
export function postgresBackup(): { functions: string; main: string } {
  return {
    functions: `${shared}
pg_version() {
  pg_tool_version pg_dump || return $?
  _major=$(printf '%s\\n' "$TOOL_VERSION" | sed -n 's/^pg_dump (PostgreSQL) \\([0-9][0-9]*\\).*/\\1/p')
  # Measured: -Z1 dumps at the speed of -Z0; zstd (pg_dump 16+) is as fast and smaller.
  if [ "\${_major:-0}" -ge 16 ]; then COMPRESS=zstd; else COMPRESS=1; fi
  log "pg_dump major version \${_major:-unknown}: compression $COMPRESS"
}
# pg_yield_session: at priority low, renices the server process serving this job's pg_dump (found by its
# application_name, and only if it is a postgres process of this container): formatting the COPY rows is the larger
# part of a dump's CPU. Gives up when pg_dump has ended (.s1) or after 20 tries.
DUMP_APP=ecs-db-backup-dump-$$
pg_yield_session() {
  [ "$YIELD_CPU" = 1 ] || return 0
  _i=0
  while [ "$_i" -lt 20 ] && [ ! -f .s1 ]; do
    _pid=$(pg_sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$DUMP_APP'" 2>/dev/null)
    if [ -n "$_pid" ]; then
      _comm=
      read -r _comm </proc/"$_pid"/comm 2>/dev/null
      if [ "$_comm" = postgres ]; then yield_pid "$_pid" "the server session of pg_dump"; else log "the server session of pg_dump is not a process of this container: it runs at the server's priority"; fi
      return 0
    fi
    _i=$((_i + 1))
    sleep 1
  done
  return 0
}
# pg_server_check: pg_dump refuses a server of a newer major version; say so before dumping, with what to change.
pg_server_check() {
  _srv=$(pg psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c 'SHOW server_version_num') || {
    log "error: cannot connect to the server to read its version (see psql's message above)"; return 1; }
  _srv_major=$((_srv / 10000))
  [ "\${_major:-0}" -ge "$_srv_major" ] && return 0
  if [ "$VERSION_HINT" = task ]; then _fix="set the target's task.image to postgres:$_srv_major (or newer)"
  else _fix="use a container whose pg_dump is version $_srv_major or newer"; fi
  log "error: pg_dump $_major is older than the server (PostgreSQL $_srv_major) and cannot dump it: $_fix"
  return 1
}
# pg_stream_dump: one pass over pg_dump's archive writes the file and, at the same time, hashes it and decompresses every
# data block into exact per-table row counts and row digests (drills compare like for like). Measured: the checks ride on
# the second core instead of re-reading the file from EFS afterwards. pg_restore reads a pipe-written archive fine, also with -j.
pg_stream_dump() {
  rm -f .sha .sha.fifo
  set -- dump.pgdump.tmp
  if command -v sha256sum >/dev/null 2>&1 && mkfifo .sha.fifo 2>/dev/null; then
    hash_stream <.sha.fifo >.sha &
    _sha_pid=$!
    set -- "$@" .sha.fifo
  else
    _sha_pid=
  fi
  rm -f .s1
  pg_yield_session &
  _yield_pid=$!
  # cat drains what pg_restore leaves unread, so tee always writes the whole archive.
  { PGAPPNAME=$DUMP_APP; export PGAPPNAME; pg pg_dump -Fc -Z "$COMPRESS" -d "$DB"; echo $? >.s1; } |
    { tee "$@"; echo $? >.s2; } |
    { pg_restore -a -f -; echo $? >.s3; cat >/dev/null; } |
    pg_content_awk .counts; echo $? >.s5
  echo 0 >.s6
  [ -z "$_sha_pid" ] || { wait "$_sha_pid"; echo $? >.s6; }
  wait "$_yield_pid"
  rm -f .sha.fifo
  for _s in 1:pg_dump 2:tee 3:'pg_restore -a' 5:awk 6:sha256sum; do
    _v=$(cat ".s\${_s%%:*}" 2>/dev/null) || _v=missing
    [ "$_v" = 0 ] || log "error: \${_s#*:} exited with status $_v"
  done
  first_failure .s1 .s2 .s3 .s5 .s6 || { _rc=$?; rm -f .sha .counts; return "$_rc"; }
  [ -z "$_sha_pid" ] || STREAM_SHA=$(cut -d ' ' -f 1 .sha)
  rm -f .sha
  COUNTS_JSON=$(cat .counts)
  rm -f .counts
}
`,
    main: `step version pg_version
step server pg_server_check
step dump pg_stream_dump
step check pg_list dump.pgdump.tmp
step promote promote dump.pgdump.tmp dump.pgdump
[ "$OK" = 1 ] || rm -f dump.pgdump.tmp`,
  };
}

/** How a postgres restore job is asked to run: temporary names for an overwrite's swap, and whether to read the content back. */
export interface PostgresRestoreOptions {
  /** Unique suffix (letters, digits) for the databases an overwrite builds beside the target and swaps. */
  suffix: string;
  verify: boolean;
}

/**
 * Functions and steps of a postgres restore into INTO. A new database is created with the archive's database
 * properties; an existing one must be empty unless OVERWRITE=1. An overwrite restores into a fresh database beside
 * INTO and swaps the two by renaming (the old one is dropped last), so a failed restore leaves INTO as it was, and the
 * result equals the archive (objects created after the backup do not stay, nothing has to be dropped in order).
 */
export function postgresRestore(into: string, opts: PostgresRestoreOptions): { functions: string; main: string; vars: Record<string, string> } {
  const fresh = `ecsdbb_new_${opts.suffix}`;
  const old = `ecsdbb_old_${opts.suffix}`;
  return {
    vars: {
      FRESH: fresh,
      OLD: old,
      EXISTS_SQL: `SELECT count(*) FROM pg_database WHERE datname = ${sqlLiteral(into)}`,
      NONEMPTY_SQL: `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
      ...swapSql(into, fresh, old),
    },
    functions: `${shared}
pg_names() {
  [ "$OVERWRITE" = 1 ] || pg_distinct "$INTO" "database to restore into (without overwrite)"
}
pg_prepare() {
  _n=$(pg psql -X -A -t -v ON_ERROR_STOP=1 -d postgres -c "$EXISTS_SQL") || return $?
  if [ "$_n" = 0 ]; then MODE=create; return 0; fi
  if [ "$OVERWRITE" = 1 ]; then MODE=swap; return 0; fi
  _n=$(pg psql -X -A -t -v ON_ERROR_STOP=1 -d "$INTO" -c "$NONEMPTY_SQL") || return $?
  if [ "$_n" != 0 ]; then
    log "error: database $INTO already holds $_n relations; restore with overwrite to replace them, or into another database"
    return 1
  fi
  log "database $INTO exists and is empty: restoring into it (its own locale and settings stay)"
  MODE=into
}
# pg_swap: FRESH becomes INTO; the old INTO is renamed aside (its sessions ended, no new ones let in), then dropped.
pg_swap() {
  pg_sql "$SWAP_LOCK_SQL" || return $?
  _i=0
  until pg_sql "$SWAP_KICK_SQL" >/dev/null && pg_sql "$SWAP_ASIDE_SQL"; do
    _i=$((_i + 1))
    if [ "$_i" -ge 10 ]; then
      log "error: database $INTO still has sessions after 10 tries; it stays as it was, the restored copy is dropped"
      pg_sql "$SWAP_UNLOCK_SQL"
      pg dropdb "$FRESH"
      return 1
    fi
    sleep 1
  done
  if ! pg_sql "$SWAP_IN_SQL"; then
    log "error: could not rename the restored copy $FRESH to $INTO; the old database is put back"
    pg_sql "$SWAP_BACK_SQL" && pg_sql "$SWAP_UNLOCK_SQL"
    return 1
  fi
  pg dropdb "$OLD" || NOTE="The restore succeeded, but the old database could not be dropped: it is kept as $OLD (drop it when done)."
  log "database $INTO replaced by the restored copy"
}
pg_do_restore() {
  case $MODE in
    create) pg_create_like_archive "$INTO" && pg_restore_into "$INTO" ;;
    into) pg_restore_into "$INTO" ;;
    swap)
      pg_create_like_archive "$FRESH" || return $?
      pg_restore_into "$FRESH" || { _rc=$?; pg dropdb --if-exists "$FRESH"; log "error: the restore failed; $INTO was not touched"; return "$_rc"; }
      pg_swap ;;
  esac
}
`,
    main: `step version pg_tool_version pg_restore
step check pg_list "$FILE"
step names pg_names
step prepare pg_prepare
step restore pg_do_restore${opts.verify ? '\nstep content pg_content "$INTO"' : ''}`,
  };
}

const PG_SCRATCH_FUNCTIONS = `SCRATCH_OK=0
pg_scratch_name() { pg_distinct "$SCRATCH" "scratch database" && SCRATCH_OK=1; }
pg_drop_scratch() {
  # A background read of the archive still running (the restore failed) ends first.
  case $ARCHIVE_PID in ''|done) ;; *) wait "$ARCHIVE_PID"; rm -f .ac;; esac
  [ "$SCRATCH_OK" = 1 ] || return 0
  # --force (PostgreSQL 13+) ends the sessions a killed drill job may have left behind.
  pg dropdb --if-exists --force "$SCRATCH" 2>/dev/null || pg dropdb --if-exists "$SCRATCH"
}
`;

/** Functions and steps that only drop a drill's scratch database, after the same name check (run by the Lambda after a drill job died). */
export function postgresScratchDrop(): { functions: string; main: string } {
  return { functions: `${shared}\n${PG_SCRATCH_FUNCTIONS}`, main: 'step names pg_scratch_name\nstep drop pg_drop_scratch' };
}

/**
 * Functions and steps of a postgres drill: check by the server's rules that SCRATCH is not the live database, create
 * it with the archive's database properties, restore, read the content back and the archive's at once, and always
 * drop SCRATCH (only once the name check passed).
 */
export function postgresDrill(): { functions: string; main: string } {
  return {
    functions: `${shared}
${PG_SCRATCH_FUNCTIONS}pg_scratch() {
  pg dropdb --if-exists "$SCRATCH" || return $?
  pg_create_like_archive "$SCRATCH"
}
`,
    main: `step version pg_tool_version pg_restore
step check pg_list "$FILE"
step names pg_scratch_name
step scratch pg_scratch
step restore pg_restore_reading "$SCRATCH"
step content pg_content "$SCRATCH"
always drop pg_drop_scratch`,
  };
}
