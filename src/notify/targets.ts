// Where callbacks may go. A callback URL is merchant input, so it must not reach the daemon's own
// network (loopback, private ranges, cloud metadata) unless the operator allows private targets.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";

type Range = readonly [base: bigint, prefix: number];

// IPv4 ranges, as 32-bit numbers
const BLOCKED_V4: readonly Range[] = [
  [0x00000000n, 8], // 0.0.0.0/8 "this network"
  [0x0a000000n, 8], // 10/8 private
  [0x64400000n, 10], // 100.64/10 carrier-grade NAT
  [0x7f000000n, 8], // 127/8 loopback
  [0xa9fe0000n, 16], // 169.254/16 link-local, incl. 169.254.169.254 cloud metadata
  [0xac100000n, 12], // 172.16/12 private
  [0xc0000000n, 24], // 192.0.0/24 IETF protocol assignments
  [0xc0a80000n, 16], // 192.168/16 private
  [0xc6120000n, 15], // 198.18/15 benchmarking
  [0xe0000000n, 4], // 224/4 multicast
  [0xf0000000n, 4], // 240/4 reserved, incl. 255.255.255.255 broadcast
];

// IPv6 ranges, as 128-bit numbers
const BLOCKED_V6: readonly Range[] = [
  [0n, 128], // :: unspecified
  [1n, 128], // ::1 loopback
  [0xfc00n << 112n, 7], // fc00::/7 unique local
  [0xfe80n << 112n, 10], // fe80::/10 link-local
  [0xfec0n << 112n, 10], // fec0::/10 site-local (deprecated, still routed by some stacks)
  [0xff00n << 112n, 8], // ff00::/8 multicast
];

function ipv4ToBigint(ip: string): bigint | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return null;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function ipv6ToBigint(ip: string): bigint | null {
  let s = ip.split("%")[0] ?? ""; // drop a zone id (fe80::1%eth0)
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    // embedded dotted IPv4 (::ffff:127.0.0.1) becomes two hex groups
    const v4 = ipv4ToBigint(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (h: string): bigint[] | null => {
    if (h === "") return [];
    const out: bigint[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(BigInt(parseInt(g, 16)));
    }
    return out;
  };
  const head = parse(halves[0] ?? "");
  const rest = halves.length === 2 ? parse(halves[1] ?? "") : [];
  if (!head || !rest) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...rest];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

function inRange(n: bigint, [base, prefix]: Range, bits: number): boolean {
  const shift = BigInt(bits - prefix);
  return n >> shift === base >> shift;
}

/** Why an IP address is not a public unicast address, or null when it is one. */
export function blockedAddressReason(ip: string): string | null {
  const family = isIP(ip.split("%")[0] ?? "");
  if (family === 4) {
    const n = ipv4ToBigint(ip);
    if (n === null) return `${ip} is not an IP address`;
    return BLOCKED_V4.some((r) => inRange(n, r, 32))
      ? `${ip} is a loopback, private or reserved address`
      : null;
  }
  if (family === 6) {
    const n = ipv6ToBigint(ip);
    if (n === null) return `${ip} is not an IP address`;
    if (BLOCKED_V6.some((r) => inRange(n, r, 128))) return `${ip} is a loopback, private or reserved address`;
    // IPv6 forms that carry an IPv4 address: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96
    const embedded =
      n >> 32n === 0xffffn || n >> 32n === 0n || n >> 32n === 0x64ff9b0000000000000000n
        ? n & 0xffffffffn
        : n >> 112n === 0x2002n // 6to4 2002:a.b.c.d::/48
          ? (n >> 80n) & 0xffffffffn
          : null;
    if (embedded !== null) {
      const v4 = [24n, 16n, 8n, 0n].map((s) => String((embedded >> s) & 0xffn)).join(".");
      if (BLOCKED_V4.some((r) => inRange(embedded, r, 32)))
        return `${ip} is a loopback, private or reserved address (carries ${v4})`;
    }
    return null;
  }
  return `${ip} is not an IP address`;
}

/** The URL's host without IPv6 brackets. */
export function urlHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });
}

/**
 * Checks a callback URL: http(s) only, and (unless allowPrivate) every address its host resolves to
 * must be public. Returns null when fine, else the problem, worded for an API error's detail.
 */
export async function checkCallbackTarget(url: string, allowPrivate: boolean): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an http(s) URL";
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return "must be an http(s) URL";
  if (!parsed.hostname) return "must name a host";
  if (allowPrivate) return null;
  const host = urlHost(parsed);
  if (isIP(host)) {
    const reason = blockedAddressReason(host);
    return reason ? `refused target: ${reason} (notify.allow_private_targets is false)` : null;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host);
  } catch (e) {
    return `cannot resolve host ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  if (addresses.length === 0) return `cannot resolve host ${host}`;
  for (const a of addresses) {
    const reason = blockedAddressReason(a.address);
    if (reason)
      return `refused target: ${host} resolves to ${reason} (notify.allow_private_targets is false)`;
  }
  return null;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for net/tls.connect (and so for undici's Agent `connect` option) that refuses hosts
 * resolving to a blocked address. The socket connects to exactly the address checked here, so a DNS
 * answer that changes between the check and the connect (rebinding) cannot slip through.
 */
export function publicOnlyLookup(
  hostname: string,
  options: { family?: number | string; all?: boolean; hints?: number } | LookupCallback,
  maybeCallback?: LookupCallback,
): void {
  const callback = (typeof options === "function" ? options : maybeCallback) as LookupCallback;
  const opts = typeof options === "function" ? {} : options;
  const family = opts.family === "IPv4" ? 4 : opts.family === "IPv6" ? 6 : Number(opts.family ?? 0) || 0;
  dnsLookup(hostname, { all: true, verbatim: true, family, hints: opts.hints ?? 0 }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.map((a) => blockedAddressReason(a.address)).find((r) => r !== null);
    if (refused || addresses.length === 0) {
      const e: NodeJS.ErrnoException = new Error(
        `refused target: ${hostname} resolves to ${refused ?? "nothing"} (notify.allow_private_targets is false)`,
      );
      e.code = "EPRIVATETARGET";
      return callback(e, []);
    }
    if (opts.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
