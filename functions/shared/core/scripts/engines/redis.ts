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
# redis_check FILE: redis-check-rdb must say the file is OK. Sets RDB_KEYS (keys in the file), RDB_VOLATILE (of them
# with an expiry), RDB_EXPIRED (of those, past it by redis-check-rdb's clock when it started), KEYS (not expired) and
# RDB_DBS (the same per logical database as a JSON object, or empty when the file does not say).
redis_check() {
  _out=$(redis-check-rdb "$1" 2>&1); _s=$?
  printf '%s\\n' "$_out" | tail -n 20 >&2
  [ "$_s" -eq 0 ] || return "$_s"
  case $_out in *'RDB looks OK'*) ;; *) log "error: redis-check-rdb did not report the RDB as OK"; return 1;; esac
  RDB_KEYS=$(rdb_info "$_out" 'keys read'); RDB_VOLATILE=$(rdb_info "$_out" expires); RDB_EXPIRED=$(rdb_info "$_out" 'already expired')
  KEYS=$(( RDB_KEYS - RDB_EXPIRED ))
  RDB_DBS=$(rdb_databases "$1" "$_out")
  [ -n "$RDB_DBS" ] || log "warning: the per-database key counts of $1 could not be read; only totals are recorded"
}
# rdb_info OUTPUT WHAT: the number of redis-check-rdb's line "[info] N WHAT" (0 when absent).
rdb_info() { _n=$(printf '%s\\n' "$1" | sed -n "s/^\\[info\\] \\([0-9][0-9]*\\) $2\\$/\\1/p" | head -n 1); printf '%s' "\${_n:-0}"; }
# rdb_databases FILE CHECK_OUTPUT: per logical database, the RESIZEDB entry (opcode 0xFB, then the key count and the
# expiry count, length-encoded) right after each SELECTDB, whose end offset redis-check-rdb prints. Printed only when
# they add up to redis-check-rdb's own totals: a pipeline stage that failed, or a file laid out otherwise, cannot pass
# that check, so no stage's status is needed.
rdb_databases() {
  printf '%s\\n' "$2" | sed -n 's/^\\[offset \\([0-9][0-9]*\\)\\] Selecting DB ID \\([0-9][0-9]*\\)$/\\1 \\2/p' |
    while read -r _off _id; do printf '%s %s\\n' "$_id" "$(od -An -v -tu1 -j "$_off" -N 19 "$1" | tr -s ' \\n' '  ')"; done |
    LC_ALL=C awk -v keys="$RDB_KEYS" -v vol="$RDB_VOLATILE" '
      function be(n,   v) { v = 0; while (n-- > 0) v = v * 256 + $(i++); return v }
      function len(   b) { b = $(i++) + 0; if (b < 64) return b; if (b < 128) return (b - 64) * 256 + $(i++); if (b == 128) return be(4); if (b == 129) return be(8); bad = 1; return 0 }
      { if ($2 != 251) { bad = 1; next }
        i = 3; k = len(); e = len(); if (e > k) bad = 1
        out = out (NR > 1 ? "," : "") sprintf("\\"%d\\":{\\"persistent\\":%.0f,\\"volatile\\":%.0f}", $1, k - e, e); sk += k; se += e }
      END { if (!bad && sk == keys && se == vol) printf "{%s}", out }'
}
# redis_file_counts: the counts of the file redis_check read, as the backup records them.
redis_file_counts() {
  _dbs=; [ -z "$RDB_DBS" ] || _dbs=",\\"databases\\":$RDB_DBS"
  printf '{"keys":%s,"redis":{"persistent":%s,"volatile":%s%s,"expiredAtCheck":%s}}' "$KEYS" "$(( RDB_KEYS - RDB_VOLATILE ))" "$RDB_VOLATILE" "$_dbs" "$RDB_EXPIRED"
}
now() { date +%s; }
# nap: a fifth of a second where sleep takes fractions (coreutils, most busybox builds), else one second.
nap() { sleep 0.2 2>/dev/null || sleep 1; }
`;

/**
 * Functions and steps of a redis backup from a runner task, which cannot read the server's files: `redis-cli --rdb`
 * asks the server for a fresh RDB over the replication protocol (the server must allow SYNC: managed services that
 * refuse it need their own snapshot export), then redis-check-rdb and promote as for a copied file.
 */
export function redisRemoteBackup(): { functions: string; main: string } {
  return {
    functions: `${shared}
redis_fetch() {
  _args=; [ -z "$DBUSER" ] || _args="--user $DBUSER"
  # $_args is one word pair of a checked user name (the config and secret patterns allow no spaces).
  redis-cli -h "$HOST" -p "$PORT" $_args --rdb dump.rdb.tmp </dev/null 2>&1 | tr -d '\\r' >&2
  [ -s dump.rdb.tmp ] || { log "error: redis-cli --rdb wrote no RDB; the server must allow SYNC for this user"; return 1; }
}
redis_backup_check() { redis_check dump.rdb.tmp || return $?; COUNTS_JSON=$(redis_file_counts); }
`,
    main: `step version redis_version
step fetch redis_fetch
step check redis_backup_check
step promote promote dump.rdb.tmp dump.rdb
[ "$OK" = 1 ] || rm -f dump.rdb.tmp`,
  };
}

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
# Key counts from redis-check-rdb and the file, not DBSIZE: they describe the file itself, across every database, while
# DBSIZE is live (already changed since the snapshot) and covers one database only.
redis_backup_check() { redis_check dump.rdb.tmp || return $?; COUNTS_JSON=$(redis_file_counts); }
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
SAVE_BEFORE=
SAVES_OFF=0
STAGED=0
STAGE_TMP=
# redis_stage_over: stages FILE over the live RDB. Any save after staging would overwrite the staged file with the live
# data: turn automatic saves off first (remembering the setting), let a background save already running finish, and
# only then put the file in place. Until it is in place, a failure (or TERM/INT) puts everything back: redis_rollback.
redis_stage_over() {
  SAVE_BEFORE=$(rc_config save) || { NOTE="Nothing staged: CONFIG GET save failed, so the save setting could not be put back after a failure. Allow CONFIG for the backup user, then restore again."; log "error: $NOTE"; return 1; }
  _r=$(rc CONFIG SET save '')
  if [ "$_r" != OK ]; then
    NOTE="Nothing staged: CONFIG SET save '' failed ($_r), so an automatic save could overwrite the staged file before the restart. Allow CONFIG for the backup user (or turn saves off in the service's config), then restore again."
    log "error: $NOTE"
    return 1
  fi
  SAVES_OFF=1
  _deadline=$(( $(now) + TIMEOUT_SECONDS ))
  while [ "$(rc INFO persistence | sed -n 's/^rdb_bgsave_in_progress://p')" != 0 ]; do
    [ "$(now)" -lt "$_deadline" ] || { log "error: a background save still runs after $TIMEOUT_SECONDS s; nothing staged"; return 124; }
    nap
  done
  STAGE_TMP="$RDB_DIR/.$RDB_NAME.restore-tmp"
  cp "$FILE" "$STAGE_TMP" || { log "error: copying the backup to $STAGE_TMP failed"; return 1; }
  mv -f "$STAGE_TMP" "$RDB_DIR/$RDB_NAME" || { log "error: renaming $STAGE_TMP to $RDB_DIR/$RDB_NAME failed"; return 1; }
  STAGE_TMP=
  STAGED=1
}
# redis_rollback: after saves were turned off but before the staged file replaced the live one, removes the partial
# copy and puts the save setting back, and says in NOTE what it changed and put back (or what is left to do by hand).
redis_rollback() {
  [ "$SAVES_OFF" = 1 ] && [ "$STAGED" = 0 ] || return 0
  SAVES_OFF=0
  _tmp="nothing was copied"
  if [ -n "$STAGE_TMP" ]; then
    if rm -f "$STAGE_TMP"; then _tmp="the partial copy $STAGE_TMP was removed"; else _tmp="the partial copy $STAGE_TMP could NOT be removed: delete it by hand"; fi
  fi
  _r=$(rc CONFIG SET save "$SAVE_BEFORE")
  if [ "$_r" = OK ]; then
    _save="the save setting was put back (CONFIG SET save '$SAVE_BEFORE')"
  else
    _save="the save setting could NOT be put back ($_r): run CONFIG SET save '$SAVE_BEFORE' now, or the server saves nothing until it restarts"
  fi
  NOTE="Nothing staged: the restore failed after turning automatic saves off (CONFIG SET save ''); $_tmp, and $_save. The live data and $RDB_DIR/$RDB_NAME are unchanged."
  log "$NOTE"
}
job_cleanup() { redis_rollback; }
redis_stage() {
  _aof=$(rc_config appendonly) || return 1
  if [ "$_aof" = yes ]; then
    NOTE="Nothing staged: the server has appendonly yes, so at start it loads its AOF, not $RDB_DIR/$RDB_NAME. Turn AOF off (CONFIG SET appendonly no, and in the service's config), then restore again."
    log "error: $NOTE"
    return 1
  fi
  if [ "$OVERWRITE" = 1 ]; then
    redis_stage_over || return $?
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

/**
 * Functions and steps of a redis drill: redis-check-rdb, load the RDB in a throwaway redis-server on a unix socket,
 * count keys per database (persistent and volatile apart), shut it down, then redis-check-rdb again: the keys of the
 * file past their expiry before the load and after the count bound how many volatile keys may be missing.
 */
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
# redis_drill_count: keys per logical database of the loaded server (INFO keyspace: keys=N,expires=M), as JSON in LOADED.
# Expired keys not yet reclaimed still count: the bounds the orchestrator applies allow for that.
redis_drill_count() {
  _info=$(redis-cli -s "$SOCK" INFO keyspace </dev/null) || { log "error: INFO keyspace failed: $_info"; return 1; }
  case $_info in *'# Keyspace'*) ;; *) log "error: INFO keyspace answered: $_info"; return 1;; esac
  LOADED=$(printf '%s\\n' "$_info" | tr -d '\\r' | LC_ALL=C awk '
    /^db[0-9]+:keys=[0-9]+,expires=[0-9]+/ { split($0, f, /[:=,]/); id = substr(f[1], 3); k += f[3]; e += f[5]
      out = out (n++ ? "," : "") sprintf("\\"%d\\":{\\"persistent\\":%.0f,\\"volatile\\":%.0f}", id, f[3] - f[5], f[5]) }
    END { printf "%.0f %.0f %.0f {%s}", k, k - e, e, out }')
  case $LOADED in [0-9]*' '[0-9]*' '[0-9]*' {'*'}') ;; *) log "error: cannot read INFO keyspace: $_info"; return 1;; esac
  log "loaded: $LOADED"
}
# redis_drill_recheck: redis-check-rdb again, after the count. The file's keys past their expiry by now are all that may
# be missing; those already past it at the first check, before the load, must be missing (Redis drops them as it loads).
redis_drill_recheck() {
  _before=$RDB_EXPIRED
  redis_check "$FILE" || return $?
  set -- $LOADED
  COUNTS_JSON=$(printf '{"keys":%s,"redis":{"persistent":%s,"volatile":%s,"databases":%s,"expiredBeforeLoad":%s,"expiredAfterCount":%s}}' "$1" "$2" "$3" "$4" "$_before" "$RDB_EXPIRED")
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
always stop redis_drill_stop
step recheck redis_drill_recheck`,
  };
}
