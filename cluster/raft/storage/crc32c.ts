/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum etcd's WAL and ext4/iSCSI use:
 * better error detection than zlib's CRC-32 on short records. Node has no built-in CRC-32C, so this
 * is the table-driven "slicing-by-8" form: eight bytes per step from eight 256-entry tables.
 */

const POLY = 0x82f63b78

function buildTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    tables[n] = c >>> 0
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n] as number
    for (let t = 1; t < 8; t++) {
      c = (tables[c & 0xff] as number) ^ (c >>> 8)
      tables[t * 256 + n] = c >>> 0
    }
  }
  return tables
}

const T = buildTables()

/** CRC-32C of `bytes[start, end)`, continuing from `crc` (0 for a fresh checksum). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let c = ~crc >>> 0
  let i = start
  // Slicing-by-8: fold eight input bytes per iteration.
  const stop8 = end - ((end - start) & 7)
  while (i < stop8) {
    const lo = (c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24))) >>> 0
    const b4 = bytes[i + 4] as number
    const b5 = bytes[i + 5] as number
    const b6 = bytes[i + 6] as number
    const b7 = bytes[i + 7] as number
    c =
      (T[7 * 256 + (lo & 0xff)] as number) ^
      (T[6 * 256 + ((lo >>> 8) & 0xff)] as number) ^
      (T[5 * 256 + ((lo >>> 16) & 0xff)] as number) ^
      (T[4 * 256 + (lo >>> 24)] as number) ^
      (T[3 * 256 + b4] as number) ^
      (T[2 * 256 + b5] as number) ^
      (T[256 + b6] as number) ^
      (T[b7] as number)
    i += 8
  }
  while (i < end) {
    c = (T[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8)
    i++
  }
  return ~c >>> 0
}
