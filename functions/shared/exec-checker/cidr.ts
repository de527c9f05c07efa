/** Parses `a.b.c.d/n` into a 32-bit network and prefix length; undefined for anything else (IPv6). */
function parse(cidr: string): { net: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { net: bits === 0 ? 0 : ip - (ip % 2 ** (32 - bits)), bits };
}

/** True when IPv4 block `outer` contains all of block `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parse(outer);
  const i = parse(inner);
  if (!o || !i || i.bits < o.bits) return false;
  return i.net - (i.net % 2 ** (32 - o.bits)) === o.net;
}
