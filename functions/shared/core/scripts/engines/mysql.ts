import { AWK_JNAME, sqlLiteral } from '../common.js';
import { EMPTY_MD5 } from './postgres-content.js';

/** Secret variable the MySQL/MariaDB clients read. */
export const MYSQL_SECRET_VAR = 'MYSQL_PWD';

/**
 * Counts the rows of every table in a mysqldump stream: the lines of each `INSERT INTO \`t\` VALUES (...),(...);`
 * statement (one line, or one tuple per line as MariaDB 10.11+ writes them) are stripped of backslash escapes and quoted
 * strings, and the `(` left are the tuples (values are literals, so no other parentheses remain). `CREATE TABLE` lines
 * seed empty tables with 0. Keys are the plain table names; prints a JSON object ({"tables":…,"digests":…}), or exits 3
 * when the last line is not mysqldump's `-- Dump completed` footer, so one pass both checks the dump and counts it.
 * Each table's INSERT lines (mysqldump writes a table's data in one run) go to one `$hash` process (md5sum, writing
 * its line to the file `dg`): the same tool with the same options writes a restored table's rows byte for byte alike.
 */
export const MYSQL_COUNT_AWK = `${AWK_JNAME}function tname(s,  o, i, c) {
  o = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\`") { if (substr(s, i + 1, 1) == "\`") { o = o "\`"; i++ } else { rest = substr(s, i + 1); return o } }
    else o = o c
  }
  rest = ""
  return o
}
function seen(t) { if (!(t in cnt)) { cnt[t] = 0; order[++n] = t } }
function hashto(x) {
  if (x == cur) return
  if (cur != "") { close(hash); hb[++nh] = cur }
  cur = x
}
function dgof(x) { if (x in dig) return dig[x]; return "${EMPTY_MD5}" }
function row() { if (hash != "") { hashto(t); print | hash } }
function tuples(body) {
  gsub(/\\\\./, "", body)
  gsub(/'[^']*'/, "", body)
  cnt[t] += gsub(/\\(/, "", body)
  if (body ~ /;[ \\t\\r]*$/) ins = 0
}
{ last = $0 }
# Fast path: a continuation line that starts a tuple and holds no "),(" anywhere is exactly one tuple.
ins && substr($0, 1, 1) == "(" && index($0, "),(") == 0 { cnt[t]++; row(); if (substr($0, length($0)) == ";") ins = 0; next }
ins { row(); tuples($0); next }
/^CREATE TABLE \`/ { seen(tname(substr($0, 15))); next }
/^INSERT INTO \`/ { t = tname(substr($0, 14)); seen(t); ins = 1; row(); tuples(substr(rest, index(rest, " VALUES") + 7)); next }
END {
  if (last !~ /^-- Dump completed/) { print "error: the dump lacks the \\"-- Dump completed\\" footer: it stopped early" > "/dev/stderr"; exit 3 }
  hashto("")
  for (i = 1; i <= nh; i++) {
    if ((getline line < dg) <= 0) { print "error: a table's digest is missing: no line in " dg > "/dev/stderr"; exit 4 }
    sub(/ .*/, "", line)
    if (hb[i] in dig) dig[hb[i]] = dig[hb[i]] "+" line
    else dig[hb[i]] = line
  }
  printf "{\\"tables\\":{"; for (i = 1; i <= n; i++) printf "%s\\"%s\\":%.0f", (i > 1 ? "," : ""), jname(order[i]), cnt[order[i]]; printf "}"
  if (hash != "") {
    printf ",\\"digests\\":{"
    for (i = 1; i <= n; i++) printf "%s\\"%s\\":\\"%s\\"", (i > 1 ? "," : ""), jname(order[i]), dgof(order[i])
    printf "}"
  }
  printf "}"
}
`;

/**
 * The database's properties as the job records them: reads the client's batch lines (`\\` and `\\t`-style escapes)
 * `charset<TAB>collation` first, then one `table.column` per FLOAT column, and prints
 * `"database":{…},"floatColumns":[…]` (the inside of a JSON object). Exits 5 without the first line.
 */
const MYSQL_PROPS_AWK = `function jname(s,  o, i, c) {
  o = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\\\") { i++; c = substr(s, i, 1); if (c == "\\\\") o = o "\\\\\\\\"; else o = o "?" }
    else if (c == "\\"") o = o "\\\\\\""
    else if (c < " " || c == "\\177") o = o "?"
    else o = o c
  }
  return o
}
NR == 1 { split($0, p, "\\t"); printf "\\"database\\":{\\"charset\\":\\"%s\\",\\"collation\\":\\"%s\\"},\\"floatColumns\\":[", jname(p[1]), jname(p[2]); next }
{ printf "%s\\"%s\\"", (NR > 2 ? "," : ""), jname($0) }
END { if (NR == 0) exit 5; printf "]" }
`;

/** SQL the jobs ask the server: a database's charset and collation, then its FLOAT columns (`table.column`). */
function propsSql(db: string): string {
  return `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlLiteral(db)};
SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${sqlLiteral(db)} AND DATA_TYPE = 'float' ORDER BY 1`;
}

/**
 * Whether the server takes two database names for one: with lower_case_table_names 0 it compares bytes, else it folds
 * case (compared here under a case- and accent-insensitive collation, which refuses rather more than the server folds).
 */
function sameSql(a: string, b: string): string {
  const u = (v: string) => `CONVERT(${sqlLiteral(v)} USING utf8mb4) COLLATE utf8mb4_general_ci`;
  return `SELECT IF(@@lower_case_table_names = 0, CAST(${sqlLiteral(a)} AS BINARY) = CAST(${sqlLiteral(b)} AS BINARY), ${u(a)} = ${u(b)})`;
}

const shared = `my_tools() {
  MYDUMP=; MYCLI=
  for _c in mysqldump mariadb-dump; do command -v "$_c" >/dev/null 2>&1 && { MYDUMP=$_c; break; }; done
  for _c in mysql mariadb; do command -v "$_c" >/dev/null 2>&1 && { MYCLI=$_c; break; }; done
  eval "_t=\\$$1"
  [ -n "$_t" ] || { log "error: neither the mysql nor the mariadb client tools are on PATH in this container"; return 127; }
  TOOL_VERSION=$("$_t" --version)
}
my() {
  _tool=$1; shift
  if [ -n "$DBUSER" ]; then set -- -u "$DBUSER" "$@"; fi
  "$_tool" -h "$HOST" -P "$PORT" "$@"
}
# my_load FILE DB: feeds the gzip'ed SQL into DB, both stages' statuses checked.
my_load() {
  { gunzip -c "$1"; echo $? >.s1; } | { my "$MYCLI" --default-character-set=utf8mb4 "$2"; echo $? >.s2; }
  first_failure .s1 .s2
}
my_check() {
  gzip -t "$1" || { log "error: $1 is not a complete gzip file"; return 1; }
  _last=$(gunzip -c "$1" | tail -n 1)
  case $_last in '-- Dump completed'*) return 0;; esac
  log "error: $1 lacks the '-- Dump completed' footer: the dump stopped early"
  return 1
}
# my_dump_opts: the dump's options in "$@" order; the history of system-versioned tables where the tool can dump it.
my_dump_opts() {
  HISTORY=false
  if "$MYDUMP" --help 2>/dev/null | grep -q -e '--dump-history'; then HISTORY=true; fi
}
# my_redump DB: DB as the backup dumps it (the same options, so the same rows read back byte for byte alike).
my_redump() {
  set -- --single-transaction --routines --triggers --events --hex-blob --no-tablespaces --default-character-set=utf8mb4 "$1"
  [ "$HISTORY" != true ] || set -- --dump-history "$@"
  my "$MYDUMP" "$@"
}
# my_content_awk OUT: a mysqldump stream on stdin as counts and digests (JSON) into OUT; checks the footer too.
my_content_awk() {
  if command -v md5sum >/dev/null 2>&1; then set -- "$1" "md5sum >&3"; else set -- "$1" ""; fi
  LC_ALL=C awk -v hash="$2" -v dg="$1.dg" "$MYSQL_COUNT_AWK" 3>"$1.dg" >"$1"
  _rc=$?
  rm -f "$1.dg"
  return $_rc
}
# my_props OUT SQL DB: the charset, collation and FLOAT columns of DB (asked with SQL), as JSON members, into OUT.
my_props() {
  { my "$MYCLI" -N -B -e "$2"; echo $? >.p1; } | LC_ALL=C awk "$MYSQL_PROPS_AWK" >"$1"; echo $? >.p2
  first_failure .p1 .p2 || { log "error: could not read the properties of database $3"; return 1; }
}
# my_same A B: SAME=1 when the server takes the two database names for one (asked: lower_case_table_names, collation).
my_same() {
  SAME=$(my "$MYCLI" -N -B -e "$1") || { log "error: could not ask the server whether two database names are one"; return 1; }
}
# my_distinct SQL NAME WHAT: fails, before anything is created or dropped, when NAME is the live database by the server's rules.
my_distinct() {
  my_same "$1" || return $?
  [ "$SAME" = 0 ] && return 0
  log "error: refusing: the $3 \\"$2\\" is the live database \\"$DB\\" by the server's rules (lower_case_table_names, collation); nothing was created or dropped"
  return 1
}
# my_content DB: what DB holds (re-dumped) and, at the same time, what the archive holds; COUNTS_JSON holds the first,
# with the database's properties, and the second as "archive".
my_content() {
  ( { gunzip -c "$FILE"; echo $? >.a1; } | my_content_awk .ac; echo $? >.a2; first_failure .a1 .a2 ) &
  _apid=$!
  { my_redump "$1"; echo $? >.r1; } | my_content_awk .rc; echo $? >.r2
  first_failure .r1 .r2; _rrc=$?
  wait "$_apid"; _arc=$?
  [ "$_rrc" = 0 ] || log "error: reading the restored database $1 back ($MYDUMP) failed with status $_rrc"
  [ "$_arc" = 0 ] || log "error: reading the archive failed with status $_arc"
  _prc=1
  if [ "$_rrc" = 0 ] && [ "$_arc" = 0 ] && my_props .pc "$PROPS_SQL" "$1"; then
    _prc=0
    _r=$(cat .rc)
    COUNTS_JSON="\${_r%?},$(cat .pc),\\"history\\":$HISTORY,\\"archive\\":$(cat .ac)}"
  fi
  rm -f .ac .rc .pc
  return $_prc
}
`;

/** Variables every mysql/mariadb job carries. */
export function mysqlVars(): Record<string, string> {
  return { MYSQL_COUNT_AWK, MYSQL_PROPS_AWK };
}

/**
 * Functions and steps of a mysql/mariadb backup: the database's charset, collation and FLOAT columns; dump (with the
 * history of system-versioned tables where the tool can) | gzip -1, the first statement giving the database restored
 * into the source's charset and collation; one pass checks gzip and footer and counts and digests rows; promote.
 */
export function mysqlBackup(database: string): { functions: string; main: string; vars: Record<string, string> } {
  return {
    vars: { PROPS_SQL: propsSql(database) },
    functions: `${shared}
my_source() {
  my_props .props "$PROPS_SQL" "$DB" || return $?
  _l=$(sed -n 's/^"database":{"charset":"\\([A-Za-z0-9_]*\\)","collation":"\\([A-Za-z0-9_]*\\)"}.*/\\1 \\2/p' .props)
  case $_l in *' '?*) ;; *) log "error: database $DB has no charset and collation the job can read (does it exist?)"; rm -f .props; return 1;; esac
  CHARSET_SQL="ALTER DATABASE CHARACTER SET \${_l% *} COLLATE \${_l#* };"
  _f=$(sed -n 's/.*"floatColumns":\\[\\(..*\\)\\]$/\\1/p' .props)
  [ -z "$_f" ] || log "warning: FLOAT columns keep only about 6 significant digits through $MYDUMP (16777217 comes back as 16777200): $_f; use DOUBLE or DECIMAL to keep every digit"
  my_dump_opts
  log "database $DB: charset \${_l% *}, collation \${_l#* }; history of system-versioned tables dumped: $HISTORY"
}
# The dump names no database (no --databases), so a restore can go into any database name.
my_dump() {
  { printf '%s\\n' "-- ecs-db-backup: the database restored into gets the source's defaults" "$CHARSET_SQL"; my_redump "$DB"; echo $? >.s1; } |
    { gzip -1; echo $? >.s2; } >dump.sql.gz.tmp
  first_failure .s1 .s2
}
# my_dump_check FILE: one decompression checks the gzip stream (gunzip verifies its CRC), finds the footer, counts and digests rows.
my_dump_check() {
  { gunzip -c "$1"; echo $? >.s1; } | my_content_awk .counts; echo $? >.s2
  first_failure .s1 .s2 || return $?
  _c=$(cat .counts)
  COUNTS_JSON="\${_c%?},$(cat .props),\\"history\\":$HISTORY}"
  rm -f .counts .props
}
`,
    main: `step version my_tools MYDUMP
step source my_source
step dump my_dump
step check my_dump_check dump.sql.gz.tmp
step promote promote dump.sql.gz.tmp dump.sql.gz
[ "$OK" = 1 ] || rm -f dump.sql.gz.tmp .props`,
  };
}

/** Functions and steps of a mysql/mariadb restore into INTO (created when missing; must be empty unless OVERWRITE=1). */
export function mysqlRestore(into: string, live: string | undefined, verify: boolean): { functions: string; main: string; vars: Record<string, string> } {
  return {
    vars: {
      TABLES_SQL: `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlLiteral(into)}`,
      CREATE_SQL: `CREATE DATABASE IF NOT EXISTS \`${into.replace(/`/g, '``')}\``,
      SAME_SQL: sameSql(into, live ?? ''),
      PROPS_SQL: propsSql(into),
    },
    functions: `${shared}
my_names() {
  [ "$OVERWRITE" = 1 ] || my_distinct "$SAME_SQL" "$INTO" "database to restore into (without overwrite)"
}
my_prepare() {
  _n=$(my "$MYCLI" -N -B -e "$TABLES_SQL") || return $?
  if [ "$_n" != 0 ] && [ "$OVERWRITE" != 1 ]; then
    log "error: database $INTO already holds $_n tables; restore with overwrite to replace them, or into another database"
    return 1
  fi
  my "$MYCLI" -e "$CREATE_SQL"
}
my_restore_content() { my_dump_opts; my_content "$INTO"; }
`,
    main: `step version my_tools MYCLI
step check my_check "$FILE"
step names my_names
step prepare my_prepare
step restore my_load "$FILE" "$INTO"${verify ? '\nstep content my_restore_content' : ''}`,
  };
}

const MY_SCRATCH_FUNCTIONS = `SCRATCH_OK=0
my_scratch_name() { my_distinct "$SAME_SQL" "$SCRATCH" "scratch database" && SCRATCH_OK=1; }
my_drop_scratch() {
  [ "$SCRATCH_OK" = 1 ] || return 0
  my "$MYCLI" -e "$DROP_SQL"
}
`;

function scratchVars(scratch: string, live: string): Record<string, string> {
  const ident = `\`${scratch.replace(/`/g, '``')}\``;
  return {
    SCRATCH_SQL: `DROP DATABASE IF EXISTS ${ident}; CREATE DATABASE ${ident}`,
    DROP_SQL: `DROP DATABASE IF EXISTS ${ident}`,
    SAME_SQL: sameSql(scratch, live),
    PROPS_SQL: propsSql(scratch),
  };
}

/** Functions and steps that only drop a drill's scratch database, after the same name check (run by the Lambda after a drill job died). */
export function mysqlScratchDrop(scratch: string, live: string): { functions: string; main: string; vars: Record<string, string> } {
  return { vars: scratchVars(scratch, live), functions: `${shared}\n${MY_SCRATCH_FUNCTIONS}`, main: 'step version my_tools MYCLI\nstep names my_scratch_name\nstep drop my_drop_scratch' };
}

/**
 * Functions and steps of a mysql/mariadb drill: check by the server's rules that SCRATCH is not the live database,
 * restore into SCRATCH, read its content back (and the archive's), always drop SCRATCH once the name check passed.
 */
export function mysqlDrill(scratch: string, live: string): { functions: string; main: string; vars: Record<string, string> } {
  return {
    vars: scratchVars(scratch, live),
    functions: `${shared}
${MY_SCRATCH_FUNCTIONS}my_drill_content() { my_dump_opts; my_content "$SCRATCH"; }
`,
    main: `step version my_tools MYCLI
step check my_check "$FILE"
step names my_scratch_name
step scratch my "$MYCLI" -e "$SCRATCH_SQL"
step restore my_load "$FILE" "$SCRATCH"
step content my_drill_content
always drop my_drop_scratch`,
  };
}
