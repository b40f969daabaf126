/*
 * mynetworks.ts - the computed default of `mynetworks` as postconf shows it
 * (global/mynetworks.c): one pattern per local interface address, masked
 * according to mynetworks_style, IPv4 before IPv6, each followed by a space
 * (postconf prints the trailing space away, but it shows inside `-x`
 * expansions such as `${mynetworks}X`).
 *
 * Limitation: host names in inet_interfaces are not resolved; only "all",
 * "loopback-only" and literal addresses select interfaces.
 *
 * Exports: LocalAddress, computeMynetworks, localAddresses.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { PostconfFatal } from './diag.js';

export interface LocalAddress {
  readonly family: 4 | 6;
  /** Address and netmask as bytes (4 or 16). */
  readonly bytes: readonly number[];
  readonly mask: readonly number[];
  readonly internal: boolean;
}

/** The host's interface addresses, from Node's view of getifaddrs(). */
export function localAddresses(): LocalAddress[] {
  const result: LocalAddress[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const family = info.family === 'IPv4' ? 4 : 6;
      result.push({ family, bytes: addressBytes(info.address), mask: addressBytes(info.netmask), internal: info.internal });
    }
  }
  return result;
}

function addressBytes(text: string): number[] {
  if (isIP(text) === 4) return text.split('.').map(Number);
  const halves = text.replace(/%.*$/, '').split('::');
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const head = groups(halves[0]);
  const tailGroups = groups(halves[1]);
  const all = halves.length > 1 ? [...head, ...new Array<number>(8 - head.length - tailGroups.length).fill(0), ...tailGroups] : head;
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** inet_ntop() text of 16 bytes: lower-case hex, the longest run of two or more zero groups as "::". */
function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (list: number[]): string => list.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

function prefixLength(mask: readonly number[]): number {
  let bits = 0;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0 && (byte >> bit) & 1; bit--) bits++;
  }
  return bits;
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** name_mask() over the style names: exactly one of class, subnet, host. */
function maskStyle(value: string): 'class' | 'subnet' | 'host' {
  const styles = new Set<string>();
  for (const word of value.split(/[, \t\r\n]+/)) {
    if (word === '') continue;
    if (word !== 'class' && word !== 'subnet' && word !== 'host') {
      throw new PostconfFatal(`unknown mynetworks mask style value "${word}" in "${value}"`);
    }
    styles.add(word);
  }
  if (styles.size !== 1) throw new PostconfFatal(`bad mynetworks_style value: ${value}; specify exactly one value`);
  return [...styles][0] as 'class' | 'subnet' | 'host';
}

function protocolFamilies(value: string): Set<4 | 6> {
  const families = new Set<4 | 6>();
  for (const word of value.split(/[, \t\r\n]+/)) {
    if (word === '') continue;
    if (word === 'all') {
      families.add(4);
      families.add(6);
    } else if (word === 'ipv4') {
      families.add(4);
    } else if (word === 'ipv6') {
      families.add(6);
    } else {
      throw new PostconfFatal(`unknown inet_protocols value "${word}" in "${value}"`);
    }
  }
  return families;
}

function selectInterfaces(value: string, addresses: readonly LocalAddress[]): LocalAddress[] {
  const words = value.split(/[, \t\r\n]+/).filter((w) => w !== '');
  if (words.includes('all')) return [...addresses];
  if (words.includes('loopback-only')) return addresses.filter((a) => a.internal);
  const wanted = words.filter((w) => isIP(w.replace(/^\[|\]$/g, '')) !== 0).map((w) => addressBytes(w.replace(/^\[|\]$/g, '')));
  return addresses.filter((a) => wanted.some((w) => w.length === a.bytes.length && compareBytes(w, a.bytes) === 0));
}

/** IPv4 classful network mask length, as mynetworks_style=class uses it. */
function classPrefix(bytes: readonly number[]): number {
  const first = bytes[0];
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  if (first < 240) return 4;
  throw new PostconfFatal(`mynetworks: bad address class: ${bytes.join('.')}`);
}

/**
 * The mynetworks default for the given (expanded) mynetworks_style,
 * inet_protocols and inet_interfaces values.
 */
export function computeMynetworks(style: string, protocols: string, interfaces: string, addresses: readonly LocalAddress[]): string {
  const how = maskStyle(style);
  const families = protocolFamilies(protocols);
  const chosen = selectInterfaces(interfaces, addresses).filter((a) => families.has(a.family));
  const unique: LocalAddress[] = [];
  for (const a of chosen) {
    if (!unique.some((u) => u.family === a.family && compareBytes(u.bytes, a.bytes) === 0)) unique.push(a);
  }
  unique.sort((a, b) => a.family - b.family || compareBytes(a.bytes, b.bytes));
  let out = '';
  for (const a of unique) {
    let prefix = a.family === 4 ? 32 : 128;
    if (how === 'subnet' || (how === 'class' && a.family === 6)) prefix = prefixLength(a.mask);
    else if (how === 'class') prefix = classPrefix(a.bytes);
    const net = a.bytes.map((byte, i) => {
      const bits = Math.max(0, Math.min(8, prefix - i * 8));
      return byte & ((0xff << (8 - bits)) & 0xff);
    });
    out += a.family === 4 ? `${net.join('.')}/${prefix} ` : `[${formatIPv6(net)}]/${prefix} `;
  }
  return out;
}
