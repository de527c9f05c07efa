// Writes and reads mongodump archives for the fake MongoDB tools and the tests, in the format of mongo-tools'
// common/archive (spec.md; multiplexer.go writes it, parser.go and demultiplexer.go read it): the magic number, a
// prelude (header document, one metadata document per collection, terminator), then namespace segments (header,
// documents, terminator) and per namespace an EOF header with the CRC-64 of its documents, the whole stream gzip'ed
// (mongodump --archive --gzip). Simplified: documents are small generated ones ({_id, n}); the metadata holds only
// what the readers look at (views: options.viewOn). As a CLI (used by the fake tools):
//   node archive.mjs write FILE.gz [--db=DB]              namespaces from FAKE_MONGO_DATA, damage from FAKE_MONGO_CORRUPT
//   node archive.mjs restore FILE.gz [--dryRun] [--nsInclude=P] [--nsFrom=P --nsTo=P]   mongorestore's log lines
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

const MAGIC = 0x8199e26d;
const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const MASK = (1n << 64n) - 1n;

/** CRC-64 as Go's hash/crc64 with crc64.ECMA computes it (reflected polynomial, all-ones init and final xor), bit by bit. */
export function crc64(buf) {
  let crc = MASK;
  for (const b of buf) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0xc96c5795d7870f42n : crc >> 1n;
  }
  return crc ^ MASK;
}

/** A BSON document of [name, value] pairs: strings, booleans, int32 (number) and int64 (bigint) values. */
export function bson(pairs) {
  const parts = [];
  for (const [name, v] of pairs) {
    const key = Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0])]);
    if (typeof v === 'string') {
      const s = Buffer.from(v, 'utf8');
      const len = Buffer.alloc(4);
      len.writeInt32LE(s.length + 1);
      parts.push(Buffer.from([0x02]), key, len, s, Buffer.from([0]));
    } else if (typeof v === 'boolean') {
      parts.push(Buffer.from([0x08]), key, Buffer.from([v ? 1 : 0]));
    } else if (typeof v === 'bigint') {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt.asIntN(64, v));
      parts.push(Buffer.from([0x12]), key, b);
    } else {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      parts.push(Buffer.from([0x10]), key, b);
    }
  }
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(body.length + 5);
  out.writeInt32LE(out.length);
  body.copy(out, 4);
  return out;
}

/** Parses FAKE_MONGO_DATA ("app.users:3 app.v:view other.logs:7") into namespaces, keeping those of `db` if given. */
export function parseData(data, db) {
  return (data ?? '')
    .split(/\s+/)
    .filter((w) => w !== '')
    .map((w) => {
      const [ns, count] = [w.slice(0, w.lastIndexOf(':')), w.slice(w.lastIndexOf(':') + 1)];
      const dot = ns.indexOf('.');
      return { db: ns.slice(0, dot), collection: ns.slice(dot + 1), ...(count === 'view' ? { type: 'view', docs: 0 } : { docs: Number(count) }) };
    })
    .filter((n) => db === undefined || n.db === db);
}

/**
 * The archive mongodump writes for `namespaces` ({db, collection, docs, type?}; type 'timeseries' puts the documents in
 * system.buckets.<collection>). Segments of `segment` documents alternate between namespaces, as with concurrent
 * collections; an empty collection gets an empty segment, as mongodump's buffered writer leaves one. `corrupt`: 'crc'
 * changes a byte of a document after its CRC was taken, 'truncate' cuts the stream inside the last namespace.
 */
export function buildArchive(namespaces, { segment = 2, corrupt } = {}) {
  const out = [Buffer.from([0x6d, 0xe2, 0x99, 0x81])];
  out.push(bson([['concurrent_collections', 4], ['version', '0.1'], ['server_version', '7.0.14'], ['tool_version', '100.9.4-fake']]));
  for (const n of namespaces) {
    const metadata = JSON.stringify(n.type === 'view' ? { options: { viewOn: 'users', pipeline: [] }, indexes: [] } : { options: {}, indexes: [] });
    out.push(bson([['db', n.db], ['collection', n.collection], ['metadata', metadata], ['size', 0], ['type', n.type ?? 'collection']]));
  }
  out.push(TERMINATOR);
  const queues = namespaces.map((n) => {
    const collection = n.type === 'timeseries' ? `system.buckets.${n.collection}` : n.collection;
    const docs = Array.from({ length: n.docs }, (_, i) => bson([['_id', i], ['n', `${n.db}.${collection} #${i} ✓`]]));
    return { db: n.db, collection, docs, sent: 0, crc: crc64(Buffer.concat(docs)) };
  });
  let damaged = false;
  for (let active = queues; active.length > 0; active = active.filter((q) => !q.done)) {
    for (const q of active) {
      const part = q.docs.slice(q.sent, q.sent + segment).map((d) => Buffer.from(d));
      if (corrupt === 'crc' && !damaged && part.length > 0) {
        // the last character of the last string: a ✓ becomes a ✒, still valid BSON and UTF-8
        part[0][part[0].length - 3] ^= 0x01;
        damaged = true;
      }
      if (part.length > 0 || q.sent === 0) out.push(bson([['db', q.db], ['collection', q.collection], ['EOF', false], ['CRC', 0n]]), ...part, TERMINATOR);
      q.sent += part.length;
      if (q.sent === q.docs.length && !q.done) {
        out.push(bson([['db', q.db], ['collection', q.collection], ['EOF', true], ['CRC', q.crc]]), TERMINATOR);
        q.done = true;
      }
    }
  }
  const archive = Buffer.concat(out);
  return corrupt === 'truncate' ? archive.subarray(0, archive.length - 30) : archive;
}

/** Gzips an archive as mongodump --gzip does; `damageTrailer` spoils the gzip CRC-32 of the whole stream. */
export function gzipArchive(archive, { damageTrailer = false } = {}) {
  const gz = gzipSync(archive);
  if (damageTrailer) gz[gz.length - 8] ^= 0xff;
  return gz;
}

function take(buf, at, n) {
  if (at + n > buf.length) throw new Error('corruption found in archive; read bson ( unexpected EOF )');
  return buf.subarray(at, at + n);
}

function docAt(buf, at) {
  const size = take(buf, at, 4).readInt32LE(0);
  if (size === -1) return { doc: null, next: at + 4 };
  if (size < 5 || size > 16 * 1024 * 1024) throw new Error(`corruption found in archive; ${size} is neither a valid bson length nor a archive terminator`);
  return { doc: take(buf, at, size), next: at + size };
}

function headerOf(doc) {
  const get = (name, type) => {
    const key = Buffer.concat([Buffer.from([type]), Buffer.from(name), Buffer.from([0])]);
    const i = doc.indexOf(key, 4);
    if (i < 0) return undefined;
    const v = i + key.length;
    if (type === 0x02) return doc.toString('utf8', v + 4, v + 3 + doc.readInt32LE(v));
    if (type === 0x08) return doc[v] === 1;
    return doc.readBigInt64LE(v);
  };
  return { db: get('db', 0x02), collection: get('collection', 0x02), type: get('type', 0x02), EOF: get('EOF', 0x08) ?? false, CRC: get('CRC', 0x12) ?? 0n };
}

/** What mongorestore does with an archive, as log lines; throws with mongorestore's kind of message where it would fail. */
export function restoreArchive(gz, { dryRun = false, include, from, to } = {}) {
  let buf;
  try {
    buf = gunzipSync(gz);
  } catch (e) {
    throw new Error(`gzip: ${e.message}`);
  }
  if (buf.length < 4 || buf.readUInt32LE(0) !== MAGIC) throw new Error('stream or file does not appear to be a mongodump archive');
  let at = 4;
  const prelude = [];
  for (let first = true; ; first = false) {
    const { doc, next } = docAt(buf, at);
    at = next;
    if (doc === null) break;
    if (!first) prelude.push(headerOf(doc));
  }
  // mongorestore --dryRun reads the prelude only: documents and CRCs are never looked at.
  if (dryRun) return ['dry run completed'];
  const seen = new Map();
  while (at < buf.length) {
    const { doc, next } = docAt(buf, at);
    at = next;
    if (doc === null) throw new Error('corruption found in archive; consecutive terminators / headerless blocks are not allowed');
    const h = headerOf(doc);
    const ns = `${h.db}.${h.collection}`;
    const state = seen.get(ns) ?? { docs: [], closed: false };
    seen.set(ns, state);
    for (;;) {
      const body = docAt(buf, at);
      at = body.next;
      if (body.doc === null) break;
      state.docs.push(body.doc);
    }
    if (h.EOF) {
      const crc = BigInt.asIntN(64, crc64(Buffer.concat(state.docs)));
      if (crc !== h.CRC) throw new Error(`CRC mismatch for namespace ${ns}, ${crc}!=${h.CRC}`);
      state.closed = true;
    }
  }
  const open = [...seen].filter(([, s]) => !s.closed).map(([ns]) => ns);
  if (open.length > 0) throw new Error(`error demultiplexing archive; archive finished but contained files were unfinished ([${open.join(' ')}])`);
  const views = new Set(prelude.filter((p) => p.type === 'view').map((p) => `${p.db}.${p.collection}`));
  const lines = [];
  let total = 0;
  const prefix = (p) => p?.replace(/\*$/, '');
  for (const [ns, s] of seen) {
    if (views.has(ns) || (include !== undefined && !ns.startsWith(prefix(include)))) continue;
    const name = from !== undefined && ns.startsWith(prefix(from)) ? prefix(to) + ns.slice(prefix(from).length) : ns;
    lines.push(`finished restoring ${name} (${s.docs.length} documents, 0 failures)`);
    total += s.docs.length;
  }
  lines.push(`${total} document(s) restored successfully. 0 document(s) failed to restore.`);
  return lines;
}

function option(args, name) {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [command, file, ...args] = process.argv.slice(2);
  const stamp = () => new Date().toISOString().replace('Z', '+0000');
  if (command === 'write') {
    const corrupt = process.env.FAKE_MONGO_CORRUPT;
    const archive = buildArchive(parseData(process.env.FAKE_MONGO_DATA, option(args, 'db')), { corrupt });
    writeFileSync(file, gzipArchive(archive, { damageTrailer: corrupt === 'gzip' }));
  } else {
    try {
      const opts = { dryRun: args.includes('--dryRun'), include: option(args, 'nsInclude'), from: option(args, 'nsFrom'), to: option(args, 'nsTo') };
      for (const line of restoreArchive(readFileSync(file), opts)) process.stderr.write(`${stamp()}\t${line}\n`);
    } catch (e) {
      process.stderr.write(`${stamp()}\tFailed: ${e.message}\n`);
      process.exit(1);
    }
  }
}
