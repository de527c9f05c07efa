import { AWK_JNAME, sqlLiteral } from '../common.js';

/** Secret variable pg tools read. */
export const POSTGRES_SECRET_VAR = 'PGPASSWORD';

/**
 * Fixed strings (`grep -F`) found in every line that opens or closes a COPY block: `grep -F` is fast everywhere, while
 * busybox grep with regular expressions is ~50x slower; the awk below keeps only the exact header and terminator lines.
 */
export const PG_COPY_MARKS = ['COPY ', '\\.'] as const;

/**
 * Counts the rows of every table from `grep -n` output of a data-only SQL stream (`pg_restore -a -f -`): rows are the
 * lines between `COPY <schema>.<table> (...) FROM stdin;` and a lone backslash-dot (COPY text format escapes newlines and
 * backslashes, so one row is one line and no row is a lone backslash-dot; a row that looks like a COPY line is skipped while a block is open).
 * grep does the per-row work, many times faster than awk. Keys are the qualified names as pg_dump writes them,
 * i.e. `format('%I.%I')`; prints a JSON object.
 */
export const PG_COUNT_AWK = `${AWK_JNAME}function copyname(s,  i, c, q) {
  q = 0
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\"") q = !q
    else if (!q && c == " ") return substr(s, 1, i - 1)
  }
  return s
}
{ colon = index($0, ":"); ln = substr($0, 1, colon - 1) + 0; text = substr($0, colon + 1) }
incopy { if (text == "\\\\.") { cnt[name] += ln - start - 1; incopy = 0 } next }
text ~ /^COPY .* FROM stdin;$/ { name = copyname(substr(text, 6)); if (!(name in cnt)) { cnt[name] = 0; order[++n] = name } start = ln; incopy = 1 }
END { printf "{"; for (i = 1; i <= n; i++) printf "%s\\"%s\\":%.0f", (i > 1 ? "," : ""), jname(order[i]), cnt[order[i]]; printf "}" }
`;

/** Lists `<count> <schema>.<table>` statements for every ordinary, non-extension table of the current database (for \gexec). */
const PG_COUNT_SQL = `SELECT format('SELECT count(*) || %L FROM %I.%I', ' ' || format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
\\gexec
`;

/** Turns `<count> <name>` lines into a JSON object. */
export const COUNT_LINES_AWK = `${AWK_JNAME}BEGIN { printf "{" }
{ sp = index($0, " "); if (sp == 0) next; printf "%s\\"%s\\":%.0f", (n++ ? "," : ""), jname(substr($0, sp + 1)), substr($0, 1, sp - 1) }
END { printf "}" }
`;

const shared = `pg() {
  _tool=$1; shift
  if [ -n "$DBUSER" ]; then set -- -U "$DBUSER" "$@"; fi
  "$_tool" -h "$HOST" -p "$PORT" -w "$@"
}
pg_tool_version() {
  TOOL_VERSION=$("$1" --version) || { log "error: $1 is not on PATH in this container"; return 127; }
}
# pg_live_counts DB: exact per-table row counts of a restored database.
pg_live_counts() {
  { printf '%s' "$PG_COUNT_SQL" | pg psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1"; echo $? >.s1; } | LC_ALL=C awk "$COUNT_LINES_AWK" >.counts; echo $? >.s2
  first_failure .s1 .s2 || return $?
  COUNTS_JSON="{\\"tables\\":$(cat .counts)}"
  rm -f .counts
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
  return { PG_COUNT_AWK, COUNT_LINES_AWK, PG_COUNT_SQL, PG_COPY_START: PG_COPY_MARKS[0], PG_COPY_END: PG_COPY_MARKS[1] };
}

/** Functions and steps of a postgres backup: pg_dump -Fc streamed into the file, sha256 and row counts at once; pg_restore --list; promote. */
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
# pg_stream_dump: one pass over pg_dump's archive writes the file and, at the same time, hashes it and decompresses every
# data block into exact per-table row counts (drills compare like for like). Measured: the checks ride on the second core
# instead of re-reading the file from EFS afterwards. pg_restore reads a pipe-written archive fine, also with -j.
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
  # cat drains what pg_restore leaves unread, so tee always writes the whole archive.
  { pg pg_dump -Fc -Z "$COMPRESS" -d "$DB"; echo $? >.s1; } |
    { tee "$@"; echo $? >.s2; } |
    { pg_restore -a -f -; echo $? >.s3; cat >/dev/null; } |
    { LC_ALL=C grep -n -F -e "$PG_COPY_START" -e "$PG_COPY_END"; _g=$?; [ "$_g" -le 1 ] && _g=0; echo "$_g" >.s4; } |
    LC_ALL=C awk "$PG_COUNT_AWK" >.counts; echo $? >.s5
  echo 0 >.s6
  [ -z "$_sha_pid" ] || { wait "$_sha_pid"; echo $? >.s6; }
  rm -f .sha.fifo
  for _s in 1:pg_dump 2:tee 3:'pg_restore -a' 4:grep 5:awk 6:sha256sum; do
    _v=$(cat ".s\${_s%%:*}" 2>/dev/null) || _v=missing
    [ "$_v" = 0 ] || log "error: \${_s#*:} exited with status $_v"
  done
  first_failure .s1 .s2 .s3 .s4 .s5 .s6 || { _rc=$?; rm -f .sha .counts; return "$_rc"; }
  [ -z "$_sha_pid" ] || STREAM_SHA=$(cut -d ' ' -f 1 .sha)
  rm -f .sha
  COUNTS_JSON="{\\"tables\\":$(cat .counts)}"
  rm -f .counts
}
`,
    main: `step version pg_version
step dump pg_stream_dump
step check pg_list dump.pgdump.tmp
step promote promote dump.pgdump.tmp dump.pgdump
[ "$OK" = 1 ] || rm -f dump.pgdump.tmp`,
  };
}

/** Functions and steps of a postgres restore into INTO (created when missing; must be empty unless OVERWRITE=1). */
export function postgresRestore(into: string): { functions: string; main: string; vars: Record<string, string> } {
  return {
    vars: {
      EXISTS_SQL: `SELECT count(*) FROM pg_database WHERE datname = ${sqlLiteral(into)}`,
      NONEMPTY_SQL: `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
    },
    functions: `${shared}
pg_prepare() {
  _n=$(pg psql -X -A -t -v ON_ERROR_STOP=1 -d postgres -c "$EXISTS_SQL") || return $?
  if [ "$_n" = 0 ]; then
    log "database $INTO does not exist: creating it"
    pg createdb "$INTO"
    return $?
  fi
  _n=$(pg psql -X -A -t -v ON_ERROR_STOP=1 -d "$INTO" -c "$NONEMPTY_SQL") || return $?
  if [ "$_n" != 0 ] && [ "$OVERWRITE" != 1 ]; then
    log "error: database $INTO already holds $_n relations; restore with overwrite to replace them, or into another database"
    return 1
  fi
}
pg_do_restore() {
  pg_jobs
  set -- -d "$INTO" -j "$JOBS"
  [ "$OVERWRITE" != 1 ] || set -- "$@" --clean --if-exists
  pg pg_restore "$@" "$FILE"
}
`,
    main: `step version pg_tool_version pg_restore
step check pg_list "$FILE"
step prepare pg_prepare
step restore pg_do_restore`,
  };
}

/** Functions and steps of a postgres drill: restore into SCRATCH, count rows, always drop SCRATCH. */
export function postgresDrill(): { functions: string; main: string } {
  return {
    functions: `${shared}
pg_scratch() {
  pg dropdb --if-exists "$SCRATCH" || return $?
  pg createdb "$SCRATCH"
}
pg_drill_restore() {
  pg_jobs
  pg pg_restore -d "$SCRATCH" -j "$JOBS" "$FILE"
}
pg_drop_scratch() { pg dropdb --if-exists "$SCRATCH"; }
`,
    main: `step version pg_tool_version pg_restore
step check pg_list "$FILE"
step scratch pg_scratch
step restore pg_drill_restore
step counts pg_live_counts "$SCRATCH"
always drop pg_drop_scratch`,
  };
}
