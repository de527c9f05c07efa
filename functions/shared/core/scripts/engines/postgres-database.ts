import { sqlLiteral } from '../common.js';

/**
 * A restored PostgreSQL database gets the source database's own properties: encoding and locale (libc or ICU, so it
 * sorts as the source did), owner, `ALTER DATABASE … SET` and per-role settings, comment, grants. A custom-format
 * archive always holds them (the entries `pg_restore -C` restores); this turns them into SQL for another name.
 */

/**
 * Reads `pg_restore -C -s -f -` and prints the statements of the archive's database entries (DATABASE, DATABASE
 * PROPERTIES, and the COMMENT / ACL / SECURITY LABEL on the database) for the database `new`: the first
 * `DATABASE <archive's name>` of each statement becomes `DATABASE "<new>"`, psql meta-commands (`\\connect` …) and SET
 * lines are left out, and text inside a string literal (a comment's second line) is never rewritten. An archive
 * without a database entry gives a plain `CREATE DATABASE`. `IS_TEMPLATE` is not carried over: a template cannot be
 * dropped, and a drill must drop its copy.
 */
export const PG_DBPROPS_AWK = `function odd(s,  t) { t = s; return gsub(/'/, "", t) % 2 }
function rename(s,  a, b, at) {
  a = index(s, "DATABASE " old " "); b = index(s, "DATABASE " old ";")
  at = (a && (!b || a < b)) ? a : b
  if (!at) return s
  return substr(s, 1, at + 8) nq substr(s, at + 9 + length(old))
}
BEGIN { nq = "\\"" new "\\"" }
!inq && /^-- Name: .*; Type: .*; Schema: / {
  nm = $0; sub(/^-- Name: /, "", nm); sub(/; Type: .*$/, "", nm)
  ty = $0; sub(/^.*; Type: /, "", ty); sub(/; Schema: .*$/, "", ty)
  keep = ty == "DATABASE" || ty == "DATABASE PROPERTIES" || ((ty == "COMMENT" || ty == "ACL" || ty == "SECURITY LABEL") && substr(nm, 1, 9) == "DATABASE ")
  next
}
!keep { next }
!inq && (/^--/ || /^\\\\/ || /^SET / || /^SELECT pg_catalog\\.set_config/ || /^$/ || / IS_TEMPLATE = /) { next }
!inq && !created && /^CREATE DATABASE / { old = substr($0, 17); sub(/ WITH .*$/, "", old); sub(/;$/, "", old); created = 1 }
{ print (inq ? $0 : rename($0)); inq = (inq + odd($0)) % 2 }
END { if (!created) print "CREATE DATABASE " nq ";" }
`;

/** SQL of a database swap: the restored copy `fresh` takes the name `into`, the old `into` is kept as `old` until dropped. */
export function swapSql(into: string, fresh: string, old: string): Record<string, string> {
  const id = (n: string) => `"${n.replace(/"/g, '""')}"`;
  return {
    SWAP_LOCK_SQL: `ALTER DATABASE ${id(into)} WITH ALLOW_CONNECTIONS false`,
    SWAP_KICK_SQL: `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(into)} AND pid <> pg_backend_pid()`,
    SWAP_ASIDE_SQL: `ALTER DATABASE ${id(into)} RENAME TO ${id(old)}`,
    SWAP_IN_SQL: `ALTER DATABASE ${id(fresh)} RENAME TO ${id(into)}`,
    SWAP_BACK_SQL: `ALTER DATABASE ${id(old)} RENAME TO ${id(into)}`,
    SWAP_UNLOCK_SQL: `ALTER DATABASE ${id(into)} WITH ALLOW_CONNECTIONS true`,
  };
}
