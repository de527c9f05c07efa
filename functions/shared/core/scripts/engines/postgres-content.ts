/**
 * awk programs that read what PostgreSQL's own tools write: the data-only SQL of an archive (`pg_restore -a -f -`)
 * or of a live database (`pg_dump -a`). Both are produced by the same archiver code, with the session settings
 * pg_dump chooses (DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, no synchronized scans) plus the
 * database's own (TimeZone...), so a table whose rows came back unchanged reads back byte for byte the same.
 */

/** md5 of no bytes: the digest of a table without rows (no hasher is started for it). */
export const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

/** Rows handed to a table's hasher in one printf (one write): gawk (before 5.3) and busybox awk flush every print to a pipe. */
export const ROW_BATCH = 64;
/** Bytes of rows held before they go to the hasher anyway, so that huge values do not pile up ROW_BATCH deep in memory. */
export const ROW_BATCH_BYTES = 1 << 20;

/** The printf that writes a full batch r[1..ROW_BATCH], each row with its newline: one format, no string concatenation (quadratic in mawk and busybox). */
const BATCH_PRINTF = `printf "${'%s\\n'.repeat(ROW_BATCH)}", ${Array.from({ length: ROW_BATCH }, (_, i) => `r[${i + 1}]`).join(', ')} | hash`;

/**
 * Reads a data-only SQL stream and prints its content as JSON: per table (keys as pg_dump quotes the qualified name)
 * the row count and the md5 of its COPY rows in order (handed over ROW_BATCH rows per write: measured, per-row writes made gawk cost 2.5× the CPU on 1 GB), each sequence's `setval` value, and the count and md5 of the
 * large objects. A COPY header or a setval may span lines (a name may hold a newline), so statements are joined until
 * their quotes balance. Rows go to one `$HASH` process per non-empty table (md5sum: in coreutils and busybox alike),
 * which writes its line to the file `dg` (with `direct` set, row by row: mawk buffers its pipes itself); large objects to `lohash` (writing `lofile`). Empty hashers (a container without
 * md5sum) record counts only. Exits 4 when a hasher's output is missing.
 */
export const PG_CONTENT_AWK = `BEGIN {
  for (i = 1; i < 32; i++) ctl[sprintf("%c", i)] = sprintf("\\\\u%04x", i)
  ctl[sprintf("%c", 127)] = "\\\\u007f"
  EMPTY = "${EMPTY_MD5}"
}
function key(s,  o, i, c) {
  o = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\\\") o = o "\\\\\\\\"
    else if (c == "\\"") o = o "\\\\\\""
    else if (c in ctl) o = o ctl[c]
    else o = o c
  }
  return o
}
# flushrows(): the held rows to the hasher: a full batch in one write, a partial one (end of a table, huge rows) row by row.
function flushrows(  i) {
  if (bn == ${ROW_BATCH}) ${BATCH_PRINTF}
  else for (i = 1; i <= bn; i++) print r[i] | hash
  bn = 0; bbytes = 0
}
function odd(s, q,  t) { t = s; return gsub(q, "", t) % 2 }
function copyname(s,  i, c, q) {
  q = 0
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\"") q = !q
    else if (!q && c == " ") return substr(s, 1, i - 1)
  }
  return s
}
# join(first, endre, quote): the statement starting with this line, continued until it ends with endre outside quotes.
function join(s, endre, q) {
  while (!(s ~ endre && !odd(s, q))) { if ((getline) <= 0) break; s = s "\\n" $0 }
  return s
}
function setval(s,  v, c, nm) {
  s = substr(s, 27); s = substr(s, 1, length(s) - 2)
  c = s; sub(/^.*, /, "", c); s = substr(s, 1, length(s) - length(c) - 2)
  v = s; sub(/^.*, /, "", v); nm = substr(s, 1, length(s) - length(v) - 3)
  gsub(/''/, "'", nm)
  if (!(nm in seq)) sorder[++ns] = nm
  seq[nm] = v "," c
}
incopy {
  if ($0 == "\\\\.") {
    # Counted per block, not per row: one array update less on every row.
    incopy = 0; cnt[name] += rows
    flushrows()
    if (rows == 0 || hash == "") bempty[nb] = 1
    else close(hash)
    next
  }
  rows++
  if (hash == "") next
  if (direct) print | hash
  else { r[++bn] = $0; bbytes += length($0); if (bn == ${ROW_BATCH} || bbytes >= ${ROW_BATCH_BYTES}) flushrows() }
  next
}
/^COPY / {
  h = join($0, " FROM stdin;$", "\\"")
  name = copyname(substr(h, 6))
  if (!(name in cnt)) { cnt[name] = 0; order[++n] = name }
  bname[++nb] = name; rows = 0; incopy = 1
  next
}
/^SELECT pg_catalog\\.setval\\(/ { setval(join($0, "\\\\);$", "'")); next }
/^SELECT pg_catalog\\.lo_(create|open|close)\\(|^SELECT pg_catalog\\.lowrite\\(/ {
  if ($0 ~ /^SELECT pg_catalog\\.lo_open\\(/) los++
  if (lohash != "") { print | lohash; lolines++ }
  next
}
END {
  if (incopy) { cnt[name] += rows; if (hash != "") flushrows() }
  for (b = 1; b <= nb; b++) {
    if (bempty[b]) d = EMPTY
    else if ((getline line < dg) > 0) { d = line; sub(/ .*/, "", d) }
    else { print "error: a table's digest is missing: no line in " dg > "/dev/stderr"; exit 4 }
    nm = bname[b]
    if (nm in dig) dig[nm] = dig[nm] "+" d
    else dig[nm] = d
  }
  printf "{\\"tables\\":{"
  for (i = 1; i <= n; i++) printf "%s\\"%s\\":%.0f", (i > 1 ? "," : ""), key(order[i]), cnt[order[i]]
  printf "}"
  if (hash != "") {
    printf ",\\"digests\\":{"
    for (i = 1; i <= n; i++) printf "%s\\"%s\\":\\"%s\\"", (i > 1 ? "," : ""), key(order[i]), dig[order[i]]
    printf "}"
  }
  printf ",\\"sequences\\":{"
  for (i = 1; i <= ns; i++) printf "%s\\"%s\\":\\"%s\\"", (i > 1 ? "," : ""), key(sorder[i]), key(seq[sorder[i]])
  printf "}"
  if (los > 0 && lolines == 0) printf ",\\"largeObjects\\":{\\"count\\":%.0f}", los
  if (lolines > 0) {
    close(lohash)
    if ((getline line < lofile) <= 0) { print "error: the large objects' digest is missing: no line in " lofile > "/dev/stderr"; exit 4 }
    sub(/ .*/, "", line)
    printf ",\\"largeObjects\\":{\\"count\\":%.0f,\\"digest\\":\\"%s\\"}", los, line
  }
  printf "}"
}
`;
