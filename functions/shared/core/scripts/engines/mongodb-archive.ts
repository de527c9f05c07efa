/**
 * The MongoDB jobs' archive reader: plain Node.js (no mongosh API), run with `mongosh --nodb --eval
 * 'require(file)'` (mongosh embeds Node.js; a required file is a Node.js module, not a mongosh script). It reads a
 * whole `mongodump --archive` stream, already gunzipped, from the file (a FIFO) named by MG_ARCHIVE, in the format of
 * mongo-tools' common/archive (spec.md, parser.go, demultiplexer.go): the magic number, the prelude (a header document
 * and one metadata document per collection, then a terminator), then blocks of a namespace header and that
 * namespace's BSON documents, each block ending in a terminator, each namespace ending in an EOF header that carries
 * the CRC-64 (ECMA, Go's reflected form) of all its documents. It checks what mongorestore checks (lengths,
 * terminators, every namespace's CRC, every collection of the prelude ended) and writes
 * `{"collections":{"<db>.<collection>":<documents>}}` to MG_COUNTS_OUT. Views (they hold no documents) are not
 * counted; control characters in names become `?`, as the drill's reading of mongorestore's log has them. Any
 * inconsistency throws, which makes mongosh (and node) exit non-zero with the message.
 */
export const MONGO_ARCHIVE_JS = String.raw`'use strict';
const fs = require('fs');
const MAGIC = 0x8199e26d;
const MAX_BSON = 16 * 1024 * 1024;

const CRC_LO = new Uint32Array(256);
const CRC_HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i, hi = 0;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi = hi >>> 1;
    if (odd) { lo = (lo ^ 0xd7870f42) >>> 0; hi = (hi ^ 0xc96c5795) >>> 0; }
  }
  CRC_LO[i] = lo;
  CRC_HI[i] = hi;
}
function crcUpdate(c, buf) {
  let lo = ~c.lo >>> 0, hi = ~c.hi >>> 0;
  for (let i = 0; i < buf.length; i++) {
    const t = (lo ^ buf[i]) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ CRC_LO[t]) >>> 0;
    hi = ((hi >>> 8) ^ CRC_HI[t]) >>> 0;
  }
  c.lo = ~lo >>> 0;
  c.hi = ~hi >>> 0;
}

function reader(path) {
  const fd = fs.openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let buf = Buffer.alloc(0), pos = 0, ended = false, total = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  function fill(n) {
    while (buf.length - pos < n && !ended) {
      let got;
      try {
        got = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        if (e.code === 'EAGAIN') { Atomics.wait(pause, 0, 0, 10); continue; }
        throw e;
      }
      if (got === 0) { ended = true; break; }
      total += got;
      buf = Buffer.concat([buf.subarray(pos), chunk.subarray(0, got)]);
      pos = 0;
    }
    return buf.length - pos;
  }
  function take(n, what) {
    if (fill(n) < n) throw new Error('the archive is truncated: it ends inside ' + what + ' at byte ' + (total - (buf.length - pos)));
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  }
  return {
    take,
    atEnd: () => fill(1) === 0,
    bytes: () => total,
    // The next BSON document (a view valid until the next call), or null for a terminator.
    doc(what) {
      if (fill(4) < 4) take(4, what);
      const size = buf.readInt32LE(pos);
      if (size === -1) { pos += 4; return null; }
      if (size < 5 || size > MAX_BSON) throw new Error('corrupt archive: ' + size + ' is neither a BSON length nor a terminator (in ' + what + ')');
      const d = take(size, what);
      if (d[size - 1] !== 0) throw new Error('corrupt archive: a BSON document in ' + what + ' does not end with a null byte');
      return d;
    },
  };
}

// The top-level fields of a header document (strings, booleans, numbers; int64 as {lo, hi}).
function fields(doc, what) {
  const out = {};
  let i = 4;
  const end = doc.length - 1;
  while (i < end) {
    const type = doc[i++];
    const nameEnd = doc.indexOf(0, i);
    if (nameEnd < 0 || nameEnd >= end) throw new Error('corrupt archive: a field name in ' + what + ' is not terminated');
    const name = doc.toString('utf8', i, nameEnd);
    i = nameEnd + 1;
    switch (type) {
      case 0x02: { const n = doc.readInt32LE(i); out[name] = doc.toString('utf8', i + 4, i + 3 + n); i += 4 + n; break; }
      case 0x08: out[name] = doc[i] !== 0; i += 1; break;
      case 0x10: out[name] = doc.readInt32LE(i); i += 4; break;
      case 0x12: out[name] = { lo: doc.readUInt32LE(i), hi: doc.readUInt32LE(i + 4) }; i += 8; break;
      case 0x01: case 0x09: case 0x11: i += 8; break;
      case 0x03: case 0x04: i += doc.readInt32LE(i); break;
      case 0x0a: break;
      default: throw new Error('corrupt archive: BSON type 0x' + type.toString(16) + ' in field "' + name + '" of ' + what);
    }
  }
  return out;
}

function isView(meta) {
  if (meta.type === 'view') return true;
  try {
    const m = JSON.parse(meta.metadata || '{}');
    return Boolean(m && m.options && m.options.viewOn);
  } catch (e) {
    return false;
  }
}

function readArchive(path) {
  const r = reader(path);
  if (r.take(4, 'the magic number').readUInt32LE(0) !== MAGIC) throw new Error('not a mongodump archive: the magic number is missing');
  if (r.doc('the archive header') === null) throw new Error('corrupt archive: no archive header');
  const prelude = new Map();
  for (let d; (d = r.doc('the prelude')) !== null; ) {
    const f = fields(d, 'the prelude');
    prelude.set(f.db + '.' + f.collection, { type: f.type, view: isView(f) });
  }
  const counts = {}, open = new Map(), closed = new Set();
  let documents = 0;
  while (!r.atEnd()) {
    const h = r.doc('a namespace header');
    if (h === null) throw new Error('corrupt archive: consecutive terminators');
    const f = fields(h, 'a namespace header');
    if (!f.collection) throw new Error('corrupt archive: a namespace header without a collection');
    const ns = f.db + '.' + f.collection;
    if (closed.has(ns)) throw new Error('corrupt archive: ' + ns + ' continues after its end');
    let state = open.get(ns);
    if (state === undefined) { state = { docs: 0, crc: { lo: 0, hi: 0 } }; open.set(ns, state); }
    for (let d; (d = r.doc('the documents of ' + ns)) !== null; ) {
      if (f.EOF) throw new Error('corrupt archive: documents after the end of ' + ns);
      crcUpdate(state.crc, d);
      state.docs++;
    }
    if (!f.EOF) continue;
    const want = f.CRC || { lo: 0, hi: 0 };
    if (want.lo !== state.crc.lo || want.hi !== state.crc.hi) throw new Error('CRC mismatch for ' + ns + ': its documents are not what mongodump wrote');
    open.delete(ns);
    closed.add(ns);
    documents += state.docs;
    if (!(prelude.get(ns) || {}).view) counts[ns.replace(/[\x00-\x1f\x7f]/g, '?')] = state.docs;
  }
  if (open.size > 0) throw new Error('the archive is truncated: it ends before ' + Array.from(open.keys()).join(', ') + ' ended');
  for (const [ns, meta] of prelude) {
    if (meta.type !== 'timeseries' && !closed.has(ns)) throw new Error('the archive is truncated: ' + ns + ', in its prelude, never ended');
  }
  console.error('read the whole archive: ' + r.bytes() + ' bytes, ' + closed.size + ' namespaces, ' + documents + ' documents, every CRC-64 as mongodump wrote it');
  return counts;
}

fs.writeFileSync(process.env.MG_COUNTS_OUT, JSON.stringify({ collections: readArchive(process.env.MG_ARCHIVE) }));
`;
