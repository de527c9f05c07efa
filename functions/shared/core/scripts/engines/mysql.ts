import { AWK_JNAME, sqlLiteral } from '../common.js';

/** Secret variable the MySQL/MariaDB clients read. */
export const MYSQL_SECRET_VAR = 'MYSQL_PWD';

/**
 * Counts the rows of every table in a mysqldump stream: the lines of each `INSERT INTO \`t\` VALUES (...),(...);`
 * statement (one line, or one tuple per line as MariaDB 10.11+ writes them) are stripped of backslash escapes and quoted
 * strings, and the `(` left are the tuples (values are literals, so no other parentheses remain). `CREATE TABLE` lines
 * seed empty tables with 0. Keys are the plain table names; prints a JSON object, or exits 3 when the last line is not
 * mysqldump's `-- Dump completed` footer, so one pass both checks the dump and counts it.
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
function tuples(body) {
  gsub(/\\\\./, "", body)
  gsub(/'[^']*'/, "", body)
  cnt[t] += gsub(/\\(/, "", body)
  if (body ~ /;[ \\t\\r]*$/) ins = 0
}
{ last = $0 }
# Fast path: a continuation line that starts a tuple and holds no "),(" anywhere is exactly one tuple.
ins && substr($0, 1, 1) == "(" && index($0, "),(") == 0 { cnt[t]++; if (substr($0, length($0)) == ";") ins = 0; next }
ins { tuples($0); next }
/^CREATE TABLE \`/ { seen(tname(substr($0, 15))); next }
/^INSERT INTO \`/ { t = tname(substr($0, 14)); seen(t); ins = 1; tuples(substr(rest, index(rest, " VALUES") + 7)); next }
END {
  if (last !~ /^-- Dump completed/) { print "error: the dump lacks the \\"-- Dump completed\\" footer: it stopped early" > "/dev/stderr"; exit 3 }
  printf "{"; for (i = 1; i <= n; i++) printf "%s\\"%s\\":%.0f", (i > 1 ? "," : ""), jname(order[i]), cnt[order[i]]; printf "}"
}
`;

/** Turns the client's `<name>\\t<count>` lines into a JSON object (the client escapes `\\` as `\\\\`). */
const MYSQL_LINES_AWK = `function jname(s,  o, i, c) {
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
BEGIN { printf "{" }
{ t = $0; sub(/\\t[0-9]+$/, "", t); c = substr($0, length(t) + 2); printf "%s\\"%s\\":%.0f", (n++ ? "," : ""), jname(t), c }
END { printf "}" }
`;

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
`;

/** Variables every mysql/mariadb job carries. */
export function mysqlVars(): Record<string, string> {
  return { MYSQL_COUNT_AWK, MYSQL_LINES_AWK };
}

/** Functions and steps of a mysql/mariadb backup: dump | gzip -1, then one pass checks gzip and footer and counts rows, promote. */
export function mysqlBackup(): { functions: string; main: string } {
  return {
    functions: `${shared}
# The dump names no database (no --databases), so a restore can go into any database name.
my_dump() {
  { my "$MYDUMP" --single-transaction --routines --triggers --events --hex-blob --no-tablespaces --default-character-set=utf8mb4 "$DB"; echo $? >.s1; } |
    { gzip -1; echo $? >.s2; } >dump.sql.gz.tmp
  first_failure .s1 .s2
}
# my_dump_check FILE: one decompression checks the gzip stream (gunzip verifies its CRC), finds the footer and counts rows.
my_dump_check() {
  { gunzip -c "$1"; echo $? >.s1; } | LC_ALL=C awk "$MYSQL_COUNT_AWK" >.counts; echo $? >.s2
  first_failure .s1 .s2 || return $?
  COUNTS_JSON="{\\"tables\\":$(cat .counts)}"
  rm -f .counts
}
`,
    main: `step version my_tools MYDUMP
step dump my_dump
step check my_dump_check dump.sql.gz.tmp
step promote promote dump.sql.gz.tmp dump.sql.gz
[ "$OK" = 1 ] || rm -f dump.sql.gz.tmp`,
  };
}

/** Functions and steps of a mysql/mariadb restore into INTO (created when missing; must be empty unless OVERWRITE=1). */
export function mysqlRestore(into: string): { functions: string; main: string; vars: Record<string, string> } {
  return {
    vars: {
      TABLES_SQL: `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlLiteral(into)}`,
      CREATE_SQL: `CREATE DATABASE IF NOT EXISTS \`${into.replace(/`/g, '``')}\``,
    },
    functions: `${shared}
my_prepare() {
  _n=$(my "$MYCLI" -N -B -e "$TABLES_SQL") || return $?
  if [ "$_n" != 0 ] && [ "$OVERWRITE" != 1 ]; then
    log "error: database $INTO already holds $_n tables; restore with overwrite to replace them, or into another database"
    return 1
  fi
  my "$MYCLI" -e "$CREATE_SQL"
}
`,
    main: `step version my_tools MYCLI
step check my_check "$FILE"
step prepare my_prepare
step restore my_load "$FILE" "$INTO"`,
  };
}

/** Functions and steps of a mysql/mariadb drill: restore into SCRATCH, count rows, always drop SCRATCH. */
export function mysqlDrill(scratch: string): { functions: string; main: string; vars: Record<string, string> } {
  const ident = `\`${scratch.replace(/`/g, '``')}\``;
  return {
    vars: {
      SCRATCH_SQL: `DROP DATABASE IF EXISTS ${ident}; CREATE DATABASE ${ident}`,
      DROP_SQL: `DROP DATABASE IF EXISTS ${ident}`,
      COUNT_SQL: `SELECT CONCAT('SELECT ', QUOTE(TABLE_NAME), ', COUNT(*) FROM \`', REPLACE(TABLE_NAME, '\`', '\`\`'), '\`;') FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${sqlLiteral(scratch)} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    },
    functions: `${shared}
my_live_counts() {
  { my "$MYCLI" -N -B -e "$COUNT_SQL"; echo $? >.s1; } | { my "$MYCLI" -N -B "$SCRATCH"; echo $? >.s2; } | LC_ALL=C awk "$MYSQL_LINES_AWK" >.counts; echo $? >.s3
  first_failure .s1 .s2 .s3 || return $?
  COUNTS_JSON="{\\"tables\\":$(cat .counts)}"
  rm -f .counts
}
`,
    main: `step version my_tools MYCLI
step check my_check "$FILE"
step scratch my "$MYCLI" -e "$SCRATCH_SQL"
step restore my_load "$FILE" "$SCRATCH"
step counts my_live_counts
always drop my "$MYCLI" -e "$DROP_SQL"`,
  };
}
