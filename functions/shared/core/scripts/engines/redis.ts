/** Secret variable redis-cli reads. */
export const REDIS_SECRET_VAR = 'REDISCLI_AUTH';

const shared = `rc() {
  if [ -n "$DBUSER" ]; then set -- --user "$DBUSER" "$@"; fi
  redis-cli -h "$HOST" -p "$PORT" "$@" </dev/null 2>&1 | tr -d '\\r'
}
# rc_config NAME: the value of a server setting (CONFIG GET prints the name, then the value).
rc_config() {
  _r=$(rc CONFIG GET "$1")
  _name=$(printf '%s\\n' "$_r" | sed -n 1p)
  [ "$_name" = "$1" ] || { log "error: CONFIG GET $1 failed ($_r); the backup needs CONFIG (not renamed, allowed by the ACL)"; return 1; }
  printf '%s\\n' "$_r" | sed -n 2p
}
redis_version() {
  _v=$(rc INFO server | sed -n 's/^redis_version://p')
  [ -n "$_v" ] || { log "error: cannot reach Redis at $HOST:$PORT or INFO is refused: $(rc PING)"; return 1; }
  TOOL_VERSION="redis $_v"
}
redis_locate() {
  RDB_DIR=$(rc_config dir) || return 1
  RDB_NAME=$(rc_config dbfilename) || return 1
  [ -n "$RDB_DIR" ] && [ -n "$RDB_NAME" ] || { log "error: CONFIG GET dir/dbfilename returned nothing"; return 1; }
  log "the server keeps its RDB at $RDB_DIR/$RDB_NAME"
}
# redis_check FILE: redis-check-rdb must say the file is OK; KEYS = keys in the file minus those already expired.
redis_check() {
  _out=$(redis-check-rdb "$1" 2>&1); _s=$?
  printf '%s\\n' "$_out" | tail -n 20 >&2
  [ "$_s" -eq 0 ] || return "$_s"
  case $_out in *'RDB looks OK'*) ;; *) log "error: redis-check-rdb did not report the RDB as OK"; return 1;; esac
  _read=$(printf '%s\\n' "$_out" | sed -n 's/.*\\[info\\] \\([0-9][0-9]*\\) keys read.*/\\1/p' | head -n 1)
  _exp=$(printf '%s\\n' "$_out" | sed -n 's/.*\\[info\\] \\([0-9][0-9]*\\) already expired.*/\\1/p' | head -n 1)
  KEYS=$(( \${_read:-0} - \${_exp:-0} ))
}
now() { date +%s; }
# nap: a fifth of a second where sleep takes fractions (coreutils, most busybox builds), else one second.
nap() { sleep 0.2 2>/dev/null || sleep 1; }
`;

/** Functions and steps of a redis backup: a fresh BGSAVE (waited for), copy of dir/dbfilename, redis-check-rdb, promote. */
export function redisBackup(): { functions: string; main: string } {
  return {
    functions: `${shared}
redis_snapshot() {
  _deadline=$(( $(now) + TIMEOUT_SECONDS ))
  _before=$(rc LASTSAVE)
  case $_before in ''|*[!0-9]*) log "error: LASTSAVE failed: $_before"; return 1;; esac
  # LASTSAVE has one-second resolution: start only once the server clock has left that second, so our own save moves it.
  while :; do
    _t=$(rc TIME | sed -n 1p)
    case $_t in ''|*[!0-9]*) log "error: TIME failed: $_t"; return 1;; esac
    [ "$_t" -le "$_before" ] || break
    [ "$(now)" -lt "$_deadline" ] || { log "error: the server clock (TIME $_t) did not pass LASTSAVE $_before within $TIMEOUT_SECONDS s"; return 124; }
    nap
  done
  while :; do
    _r=$(rc BGSAVE)
    case $_r in
      *'saving started'*|*'saving scheduled'*) break;;
      *'in progress'*) log "another save is running; retrying BGSAVE";;
      *) log "error: BGSAVE failed: $_r"; return 1;;
    esac
    [ "$(now)" -lt "$_deadline" ] || { log "error: BGSAVE not accepted within $TIMEOUT_SECONDS s"; return 124; }
    nap
  done
  while :; do
    _p=$(rc INFO persistence)
    _busy=$(printf '%s\\n' "$_p" | sed -n 's/^rdb_bgsave_in_progress://p')
    _status=$(printf '%s\\n' "$_p" | sed -n 's/^rdb_last_bgsave_status://p')
    _last=$(rc LASTSAVE)
    if [ "$_busy" = 0 ]; then
      case $_last in ''|*[!0-9]*) log "error: LASTSAVE failed: $_last"; return 1;; esac
      [ "$_status" = ok ] || { log "error: BGSAVE failed (rdb_last_bgsave_status:$_status); see the Redis log"; return 1; }
      [ "$_last" -le "$_before" ] || return 0
    fi
    [ "$(now)" -lt "$_deadline" ] || { log "error: BGSAVE did not finish within $TIMEOUT_SECONDS s"; return 124; }
    nap
  done
}
redis_copy() { cp "$RDB_DIR/$RDB_NAME" dump.rdb.tmp; }
# Key count from redis-check-rdb, not DBSIZE: it describes the file itself, across every database, while DBSIZE is
# live (already changed since the snapshot) and covers one database only.
redis_backup_check() { redis_check dump.rdb.tmp || return $?; COUNTS_JSON="{\\"keys\\":$KEYS}"; }
`,
    main: `step version redis_version
step locate redis_locate
step snapshot redis_snapshot
step copy redis_copy
step check redis_backup_check
step promote promote dump.rdb.tmp dump.rdb
[ "$OK" = 1 ] || rm -f dump.rdb.tmp`,
  };
}

/** Functions and steps of a redis restore: check the RDB, then stage it where the server loads it (see NOTE). */
export function redisRestore(): { functions: string; main: string } {
  return {
    functions: `${shared}
redis_stage() {
  _aof=$(rc_config appendonly) || return 1
  if [ "$_aof" = yes ]; then
    NOTE="Nothing staged: the server has appendonly yes, so at start it loads its AOF, not $RDB_DIR/$RDB_NAME. Turn AOF off (CONFIG SET appendonly no, and in the service's config), then restore again."
    log "error: $NOTE"
    return 1
  fi
  if [ "$OVERWRITE" = 1 ]; then
    # Any save after staging would overwrite the staged file with the live data: turn automatic saves off first,
    # let a background save already running finish, and only then put the file in place.
    _r=$(rc CONFIG SET save '')
    if [ "$_r" != OK ]; then
      NOTE="Nothing staged: CONFIG SET save '' failed ($_r), so an automatic save could overwrite the staged file before the restart. Allow CONFIG for the backup user (or turn saves off in the service's config), then restore again."
      log "error: $NOTE"
      return 1
    fi
    _deadline=$(( $(now) + TIMEOUT_SECONDS ))
    while [ "$(rc INFO persistence | sed -n 's/^rdb_bgsave_in_progress://p')" != 0 ]; do
      [ "$(now)" -lt "$_deadline" ] || { log "error: a background save still runs after $TIMEOUT_SECONDS s; nothing staged"; return 124; }
      nap
    done
    cp "$FILE" "$RDB_DIR/.$RDB_NAME.restore-tmp" && mv -f "$RDB_DIR/.$RDB_NAME.restore-tmp" "$RDB_DIR/$RDB_NAME" || return 1
    if [ "$RESTART_ALLOWED" = 1 ]; then
      NOTE="Staged the backup as $RDB_DIR/$RDB_NAME and turned automatic saves off; the orchestrator restarts the service next, so that Redis loads it."
    else
      NOTE="Staged the backup as $RDB_DIR/$RDB_NAME and turned automatic saves off (CONFIG SET save ''). The live data is unchanged until Redis restarts: stop it WITHOUT saving, e.g. redis-cli SHUTDOWN NOSAVE (a plain SHUTDOWN, SAVE or BGSAVE first would overwrite the staged file), and let ECS start a new task, which loads the file."
    fi
  else
    cp "$FILE" "$RDB_DIR/$RDB_NAME.restored" || return 1
    NOTE="Staged the backup as $RDB_DIR/$RDB_NAME.restored; the live file $RDB_DIR/$RDB_NAME is untouched. To restore, move it over $RDB_NAME, then restart Redis without saving (redis-cli SHUTDOWN NOSAVE), or run the restore again with overwrite."
  fi
  log "$NOTE"
}
`,
    main: `step version redis_version
step check redis_check "$FILE"
step locate redis_locate
step stage redis_stage`,
  };
}

/** Functions and steps of a redis drill: load the RDB in a throwaway redis-server on a unix socket, count keys, shut it down. */
export function redisDrill(): { functions: string; main: string } {
  return {
    functions: `${shared}
DRILL_PID=
redis_drill_start() {
  _srv=$(command -v redis-server) || { log "error: redis-server is not on PATH in this container"; return 127; }
  TOOL_VERSION=$("$_srv" --version)
  SOCK="$RUN_DIR/drill.sock"
  # unix socket paths are limited to ~107 bytes
  if [ \${#SOCK} -gt 100 ]; then SOCK="$(mktemp -d)/drill.sock" || return 1; fi
  "$_srv" --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --dir "$RUN_DIR" --dbfilename "$FILE" \\
    --save '' --appendonly no --daemonize no --logfile '' >drill-redis.log 2>&1 &
  DRILL_PID=$!
  _deadline=$(( $(now) + TIMEOUT_SECONDS ))
  while :; do
    _r=$(redis-cli -s "$SOCK" PING 2>&1 </dev/null)
    [ "$_r" = PONG ] && return 0
    kill -0 "$DRILL_PID" 2>/dev/null || { log "error: the drill redis-server exited while loading:"; tail -n 20 drill-redis.log >&2; DRILL_PID=; return 1; }
    [ "$(now)" -lt "$_deadline" ] || { log "error: the drill redis-server did not load within $TIMEOUT_SECONDS s"; return 124; }
    nap
  done
}
redis_drill_count() {
  _k=$(redis-cli -s "$SOCK" INFO keyspace </dev/null | tr -d '\\r' | awk -F '[=,]' '/^db[0-9]+:keys=/ { s += $2 } END { printf "%.0f", s }') || return 1
  case $_k in ''|*[!0-9]*) return 1;; esac
  COUNTS_JSON="{\\"keys\\":$_k}"
}
redis_drill_stop() {
  [ -n "$DRILL_PID" ] || return 0
  redis-cli -s "$SOCK" SHUTDOWN NOSAVE </dev/null >/dev/null 2>&1 || kill "$DRILL_PID" 2>/dev/null
  wait "$DRILL_PID" 2>/dev/null
  rm -f "$SOCK"
  return 0
}
`,
    main: `step check redis_check "$FILE"
step start redis_drill_start
step counts redis_drill_count
always stop redis_drill_stop`,
  };
}
