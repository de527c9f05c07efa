import { AWK_JNAME } from '../common.js';
import { MONGO_ARCHIVE_JS } from './mongodb-archive.js';

/** Variable the job loads the password into; it only ever reaches the tools through a private config file or env. */
export const MONGO_SECRET_VAR = 'MONGO_BACKUP_PASSWORD';

/** mongosh's connection to the target, the password coming from the environment (never argv); scripts append to it. */
const MONGO_CONNECT_JS = `const u = process.env.MONGO_BACKUP_USER, p = process.env.MONGO_BACKUP_PASSWORD;
const auth = u ? encodeURIComponent(u) + ':' + encodeURIComponent(p || '') + '@' : '';
const m = new Mongo('mongodb://' + auth + process.env.MONGO_BACKUP_HOST + ':' + process.env.MONGO_BACKUP_PORT + '/?authSource=admin');
`;

/** Drops the scratch database. */
const MONGO_DROP_JS = `${MONGO_CONNECT_JS}const r = m.getDB(process.env.MONGO_BACKUP_SCRATCH).dropDatabase();
if (!r.ok) { print('dropDatabase failed: ' + JSON.stringify(r)); quit(1); }
`;

/**
 * Prints `nonempty:{"<db>":["<collection>",...]}`: the collections (system ones aside) the server already has in the
 * databases a restore writes to: MONGO_BACKUP_INTO, or else every database of the archive (its counts file).
 */
const MONGO_NONEMPTY_JS = `${MONGO_CONNECT_JS}const into = process.env.MONGO_BACKUP_INTO;
const counts = JSON.parse(require('fs').readFileSync(process.env.MONGO_BACKUP_COUNTS, 'utf8')).collections;
const dbs = into ? [into] : Array.from(new Set(Object.keys(counts).map((ns) => ns.split('.')[0]).filter((d) => d !== '')));
const found = {};
for (const d of dbs) {
  const names = m.getDB(d).getCollectionNames().filter((c) => !c.startsWith('system.'));
  if (names.length > 0) found[d] = names;
}
print('nonempty:' + JSON.stringify(found));
`;

/**
 * Reads mongorestore's `finished restoring <db>.<coll> (N documents, F failures)` lines into a JSON object keyed by
 * the source namespace (`-v db=` the source database: the drill restored into another one).
 */
const MONGO_COUNT_AWK = `${AWK_JNAME}BEGIN { printf "{" }
/finished restoring .* \\([0-9]+ documents?, [0-9]+ failures?\\)/ {
  s = $0; sub(/.*finished restoring /, "", s); ns = s; sub(/ \\([0-9]+ documents?.*/, "", ns)
  c = s; sub(/.* \\(/, "", c); sub(/ .*/, "", c)
  sub(/^[^.]*\\./, "", ns)
  printf "%s\\"%s\\":%.0f", (n++ ? "," : ""), jname(db "." ns), c
}
END { printf "}" }
`;

const shared = `PRIVATE_DIR=
AUTH_FILE=
ARCHIVE_COUNTS=
GUNZIP_PID=
# mg_private: a directory only this job can read, outside the run directory (EFS, which other containers may mount),
# for the password file and the archive reader; mg_forget removes it, and job_cleanup on every way out, TERM/INT too.
mg_private() {
  [ -z "$PRIVATE_DIR" ] || return 0
  PRIVATE_DIR=$(umask 077 && mktemp -d "\${TMPDIR:-/tmp}/ecs-db-backup.XXXXXXXX") && chmod 700 "$PRIVATE_DIR" || {
    log "error: cannot create a private temporary directory in \${TMPDIR:-/tmp}"; PRIVATE_DIR=; return 1; }
}
mg_auth() {
  load_secret || return $?
  mg_private || return $?
  # mongodump/mongorestore read the password from a --config YAML file (tools 100.3+), never from argv.
  AUTH_FILE="$PRIVATE_DIR/auth.yaml"
  ( umask 077; printf "password: '%s'\\n" "$(printf '%s' "$MONGO_BACKUP_PASSWORD" | sed "s/'/''/g")" >"$AUTH_FILE" )
}
mg() {
  _tool=$1; shift
  if [ -n "$DBUSER" ]; then set -- --username="$DBUSER" --authenticationDatabase=admin "$@"; fi
  if [ -n "$AUTH_FILE" ]; then set -- --config="$AUTH_FILE" "$@"; fi
  "$_tool" --host="$HOST" --port="$PORT" "$@"
}
mg_version() { TOOL_VERSION=$("$1" --version 2>&1 | head -n 1) || true; command -v "$1" >/dev/null 2>&1 || { log "error: $1 is not on PATH in this container"; return 127; }; }
mg_forget() { [ -z "$PRIVATE_DIR" ] || rm -rf "$PRIVATE_DIR"; PRIVATE_DIR=; AUTH_FILE=; return 0; }
# On TERM/INT while the archive is read, the gunzip feeding the reader's FIFO would wait for a reader forever.
job_cleanup() { [ -z "$GUNZIP_PID" ] || kill "$GUNZIP_PID" 2>/dev/null; mg_forget; }
# mg_mongosh: mongosh is needed (1.0 or later; every official mongo image since 6.0 has it): the legacy mongo shell
# has neither require() nor process.env.
mg_mongosh() { command -v mongosh >/dev/null 2>&1 || { log "error: mongosh is not on PATH in this container; $1"; return 127; }; }
# mg_js SCRIPT [VAR=VALUE...]: runs a mongosh script, given on stdin (never argv), connected as the target's user.
mg_js() {
  _script=$1; shift
  printf '%s' "$_script" | env MONGO_BACKUP_USER="$DBUSER" MONGO_BACKUP_HOST="$HOST" MONGO_BACKUP_PORT="$PORT" "$@" mongosh --nodb --quiet
}
# mg_read_archive FILE: reads the whole archive into ARCHIVE_COUNTS (JSON): gzip -dc checks the compressed stream
# (CRC-32 and length of the whole), the reader (Node.js, run by mongosh) every document and namespace CRC-64, and
# counts documents per collection. mongorestore --dryRun reads the archive's prelude only, so it cannot tell.
mg_read_archive() {
  mg_mongosh "it reads the whole archive to check it" || return $?
  mg_private || return $?
  _fifo="$PRIVATE_DIR/archive.fifo"
  printf '%s' "$MONGO_ARCHIVE_JS" >"$PRIVATE_DIR/read-archive.js" && rm -f "$_fifo" "$PRIVATE_DIR/counts.json" && mkfifo "$_fifo" ||
    { log "error: cannot set up the archive reader in $PRIVATE_DIR"; return 1; }
  { gzip -dc "$1"; echo $? >"$PRIVATE_DIR/.s1"; } >"$_fifo" &
  GUNZIP_PID=$!
  MG_ARCHIVE=$_fifo MG_COUNTS_OUT="$PRIVATE_DIR/counts.json" MG_READER="$PRIVATE_DIR/read-archive.js" \\
    mongosh --nodb --quiet --norc --eval 'require(process.env.MG_READER)'
  _s=$?
  # A reader that failed early leaves gzip blocked on the FIFO, or writing into it: stop it.
  [ "$_s" -eq 0 ] || kill "$GUNZIP_PID" 2>/dev/null
  wait "$GUNZIP_PID"
  GUNZIP_PID=
  [ "$_s" -eq 0 ] || { log "error: the archive $1 cannot be read through (see the reader's error above)"; rm -f "$PRIVATE_DIR/.s1"; return "$_s"; }
  first_failure "$PRIVATE_DIR/.s1" || { _s=$?; log "error: gzip -dc $1 failed: the compressed stream is damaged"; return "$_s"; }
  ARCHIVE_COUNTS=$(cat "$PRIVATE_DIR/counts.json") || return 1
}
`;

/** Variables every mongodb job carries. */
export function mongoVars(): Record<string, string> {
  return { MONGO_COUNT_AWK, MONGO_DROP_JS, MONGO_NONEMPTY_JS, MONGO_ARCHIVE_JS };
}

/** The auth step (only when the target names a password variable). */
function authStep(hasSecret: boolean): string {
  return hasSecret ? 'step secret mg_auth\n' : '';
}

/** Functions and steps of a mongodb backup: mongodump --archive --gzip, then the whole archive read back and counted. */
export function mongoBackup(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_dump() {
  set -- --archive=dump.archive.gz.tmp --gzip
  [ -z "$DB" ] || set -- "$@" --db="$DB"
  mg mongodump "$@"
}
mg_check() { mg_read_archive dump.archive.gz.tmp || return $?; COUNTS_JSON=$ARCHIVE_COUNTS; }
`,
    main: `${authStep(hasSecret)}step version mg_version mongodump
step dump mg_dump
step check mg_check
step promote promote dump.archive.gz.tmp dump.archive.gz
always forget mg_forget
[ "$OK" = 1 ] || rm -f dump.archive.gz.tmp`,
  };
}

/**
 * Functions and steps of a mongodb restore: the whole archive read first; without overwrite the databases it writes
 * to must hold no collections (mongorestore would merge into them and ignore duplicate keys); then mongorestore
 * --archive --gzip [--drop] [--nsFrom/--nsTo into another database].
 */
export function mongoRestore(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_restore_check() {
  mg_read_archive "$FILE" || return $?
  [ "$OVERWRITE" != 1 ] || return 0
  _r=$(mg_js "$MONGO_NONEMPTY_JS" MONGO_BACKUP_COUNTS="$PRIVATE_DIR/counts.json" MONGO_BACKUP_INTO="$INTO" 2>&1)
  _s=$?
  _found=$(printf '%s\\n' "$_r" | sed -n 's/^nonempty://p' | tail -n 1)
  [ "$_s" -eq 0 ] && [ -n "$_found" ] || { log "error: cannot list the collections of the target database: $_r"; return 1; }
  [ "$_found" != '{}' ] || return 0
  NOTE="Nothing restored: without overwrite, a restore only goes into empty databases, and these hold collections already: $_found. Restore into another database (intoDatabase), or with overwrite (mongorestore --drop replaces the collections the backup has)."
  log "error: $NOTE"
  return 1
}
mg_restore() {
  set -- --archive="$FILE" --gzip
  [ "$OVERWRITE" != 1 ] || set -- "$@" --drop
  if [ -n "$INTO" ] && [ "$INTO" != "$DB" ]; then set -- "$@" --nsFrom="$DB.*" --nsTo="$INTO.*"; fi
  mg mongorestore "$@"
}
`,
    main: `${authStep(hasSecret)}step version mg_version mongorestore
step check mg_restore_check
step restore mg_restore
always forget mg_forget`,
  };
}

const MG_DROP = `mg_drop() {
  mg_mongosh "drop the database $SCRATCH by hand" || return $?
  mg_js "$MONGO_DROP_JS" MONGO_BACKUP_SCRATCH="$SCRATCH"
}
`;

/** Functions and steps that only drop a drill's scratch database (the Lambda runs them after a drill job died). */
export function mongoScratchDrop(hasSecret: boolean): { functions: string; main: string } {
  return { functions: `${shared}\n${MG_DROP}`, main: `${hasSecret ? 'step secret load_secret\n' : ''}step drop mg_drop\nalways forget mg_forget` };
}

/** Functions and steps of a mongodb drill: restore into SCRATCH (renamed namespaces), counts from mongorestore, drop SCRATCH. */
export function mongoDrill(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_drill_restore() {
  { mg mongorestore --archive="$FILE" --gzip --drop --nsInclude="$DB.*" --nsFrom="$DB.*" --nsTo="$SCRATCH.*" 2>&1; echo $? >.s1; } | tee .restore-out >&2
  first_failure .s1 || return $?
  COUNTS_JSON="{\\"collections\\":$(LC_ALL=C awk -v db="$DB" "$MONGO_COUNT_AWK" .restore-out)}"
  rm -f .restore-out
}
${MG_DROP}`,
    main: `${authStep(hasSecret)}step version mg_version mongorestore
step restore mg_drill_restore
always drop mg_drop
always forget mg_forget`,
  };
}
