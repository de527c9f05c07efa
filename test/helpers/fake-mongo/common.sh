# Shared by the fake MongoDB tools: argument logging and auth-file checks. Sourced, POSIX sh.
# FAKE_MONGO_LOG: file each call appends one line to: the tool name and its arguments, separated by US (\037).
# FAKE_MONGO_FAIL: name of a tool that must fail (after writing partial output).
# FAKE_MONGO_SLEEP: seconds mongodump waits before dumping (a long dump, to be interrupted).
fake_log() {
  _line=$1; shift
  for _a in "$@"; do _line="$_line$(printf '\037')$_a"; done
  printf '%s\n' "$_line" >>"${FAKE_MONGO_LOG:?FAKE_MONGO_LOG is not set}"
}
fake_die() { echo "$TOOL: error: $*" >&2; exit 2; }
# fake_auth FILE: the --config file must be private and hold `password: '<yaml single-quoted>'`; records the password,
# and (a line "auth", the path, its directory's mode) where the file was, for the tests to check it never was on EFS.
fake_auth() {
  [ -f "$1" ] || fake_die "config file $1 does not exist"
  case $(ls -l "$1") in -rw-------*) ;; *) fake_die "config file $1 is readable by others";; esac
  fake_log auth "$1" "$(ls -ld "$(dirname "$1")" | cut -c1-10)"
  _pw=$(sed -n "s/^password: '\(.*\)'\$/\1/p" "$1" | sed "s/''/'/g")
  printf '%s' "$_pw" >"$FAKE_MONGO_LOG.password"
}
# fake_common_arg ARG: accepts the connection/auth arguments every tool shares; returns 1 for anything else.
fake_common_arg() {
  case $1 in
    --host=?*) HOST_SEEN=1;;
    --port=[0-9]*) PORT_SEEN=1;;
    --username=?*) USER_SEEN=1;;
    --authenticationDatabase=admin) ;;
    --config=?*) fake_auth "${1#--config=}";;
    --password*|-p*|--uri*|mongodb://*) fake_die "a password or URI must never be on the command line: $1";;
    *) return 1;;
  esac
}
