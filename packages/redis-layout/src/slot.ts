// Redis Cluster's key -> slot mapping (CRC16/XMODEM of the hash tag or the whole key, mod 16384), so a
// store can group commands by the node that serves them without a dependency.

const encoder = new TextEncoder();
const SLOT_COUNT = 16384;

const crcTable = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ (crcTable[((crc >> 8) ^ byte) & 0xff] as number)) & 0xffff;
  return crc;
}

/** The cluster slot of `key`: only the first non-empty `{...}` counts when the key has one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(encoder.encode(key.slice(open + 1, close))) % SLOT_COUNT;
  }
  return crc16(encoder.encode(key)) % SLOT_COUNT;
}
