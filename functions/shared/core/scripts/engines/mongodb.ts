import { AWK_JNAME } from '../common.js';

/** Variable the job loads the password into; it only ever reaches the tools through a mode-600 config file or env. */
export const MONGO_SECRET_VAR = 'MONGO_BACKUP_PASSWORD';

/** Drops the scratch database with mongosh, the password coming from the environment (never argv). */
const MONGO_DROP_JS = `const u = process.env.MONGO_BACKUP_USER, p = process.env.MONGO_BACKUP_PASSWORD;
const auth = u ? encodeURIComponent(u) + ':' + encodeURIComponent(p || '') + '@' : '';
const m = new Mongo('mongodb://' + auth + process.env.MONGO_BACKUP_HOST + ':' + process.env.MONGO_BACKUP_PORT + '/?authSource=admin');
const r = m.getDB(process.env.MONGO_BACKUP_SCRATCH).dropDatabase();
if (!r.ok) { print('dropDatabase failed: ' + JSON.stringify(r)); quit(1); }
`;

/** Reads mongorestore's `finished restoring <db>.<coll> (N documents, F failures)` lines into a JSON object. */
const MONGO_COUNT_AWK = `${AWK_JNAME}BEGIN { printf "{" }
/finished restoring .* \\([0-9]+ documents?, [0-9]+ failures?\\)/ {
  s = $0; sub(/.*finished restoring /, "", s); ns = s; sub(/ \\([0-9]+ documents?.*/, "", ns)
  c = s; sub(/.* \\(/, "", c); sub(/ .*/, "", c)
  sub(/^[^.]*\\./, "", ns)
  printf "%s\\"%s\\":%.0f", (n++ ? "," : ""), jname(ns), c
}
END { printf "}" }
`;

const shared = `AUTH_FILE=
mg_auth() {
  load_secret || return $?
  # mongodump/mongorestore read the password from a --config YAML file (tools 100.3+), never from argv.
  AUTH_FILE=.mongo-auth.yaml
  ( umask 077; printf "password: '%s'\\n" "$(printf '%s' "$MONGO_BACKUP_PASSWORD" | sed "s/'/''/g")" >"$AUTH_FILE" )
}
mg() {
  _tool=$1; shift
  if [ -n "$DBUSER" ]; then set -- --username="$DBUSER" --authenticationDatabase=admin "$@"; fi
  if [ -n "$AUTH_FILE" ]; then set -- --config="$AUTH_FILE" "$@"; fi
  "$_tool" --host="$HOST" --port="$PORT" "$@"
}
mg_version() { TOOL_VERSION=$("$1" --version 2>&1 | head -n 1) || true; command -v "$1" >/dev/null 2>&1 || { log "error: $1 is not on PATH in this container"; return 127; }; }
mg_forget() { [ -z "$AUTH_FILE" ] || rm -f "$AUTH_FILE"; return 0; }
`;

/** Variables every mongodb job carries. */
export function mongoVars(): Record<string, string> {
  return { MONGO_COUNT_AWK, MONGO_DROP_JS };
}

/** The auth step (only when the target names a password variable). */
function authStep(hasSecret: boolean): string {
  return hasSecret ? 'step secret mg_auth\n' : '';
}

/** Functions and steps of a mongodb backup: mongodump --archive --gzip, then mongorestore --dryRun reads it back. */
export function mongoBackup(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_dump() {
  set -- --archive=dump.archive.gz.tmp --gzip
  [ -z "$DB" ] || set -- "$@" --db="$DB"
  mg mongodump "$@"
}
mg_check() { mg mongorestore --archive=dump.archive.gz.tmp --gzip --dryRun; }
`,
    main: `${authStep(hasSecret)}step version mg_version mongodump
step dump mg_dump
step check mg_check
step promote promote dump.archive.gz.tmp dump.archive.gz
always forget mg_forget
[ "$OK" = 1 ] || rm -f dump.archive.gz.tmp`,
  };
}

/** Functions and steps of a mongodb restore: mongorestore --archive --gzip [--drop] [--nsFrom/--nsTo into another db]. */
export function mongoRestore(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_restore() {
  set -- --archive="$FILE" --gzip
  [ "$OVERWRITE" != 1 ] || set -- "$@" --drop
  if [ -n "$INTO" ] && [ "$INTO" != "$DB" ]; then set -- "$@" --nsFrom="$DB.*" --nsTo="$INTO.*"; fi
  mg mongorestore "$@"
}
`,
    main: `${authStep(hasSecret)}step version mg_version mongorestore
step restore mg_restore
always forget mg_forget`,
  };
}

/** Functions and steps of a mongodb drill: restore into SCRATCH (renamed namespaces), counts from mongorestore, drop SCRATCH. */
export function mongoDrill(hasSecret: boolean): { functions: string; main: string } {
  return {
    functions: `${shared}
mg_drill_restore() {
  { mg mongorestore --archive="$FILE" --gzip --drop --nsInclude="$DB.*" --nsFrom="$DB.*" --nsTo="$SCRATCH.*" 2>&1; echo $? >.s1; } | tee .restore-out >&2
  first_failure .s1 || return $?
  COUNTS_JSON="{\\"tables\\":$(LC_ALL=C awk "$MONGO_COUNT_AWK" .restore-out)}"
  rm -f .restore-out
}
mg_drop() {
  _sh=$(command -v mongosh || command -v mongo) || { log "error: neither mongosh nor mongo is on PATH; drop the database $SCRATCH by hand"; return 127; }
  printf '%s' "$MONGO_DROP_JS" | MONGO_BACKUP_USER=$DBUSER MONGO_BACKUP_HOST=$HOST MONGO_BACKUP_PORT=$PORT MONGO_BACKUP_SCRATCH=$SCRATCH "$_sh" --nodb --quiet
}
`,
    main: `${authStep(hasSecret)}step version mg_version mongorestore
step restore mg_drill_restore
always drop mg_drop
always forget mg_forget`,
  };
}
