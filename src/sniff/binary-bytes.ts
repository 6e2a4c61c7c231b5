/**
 * Over this share of WHATWG "binary data bytes" a body is binary. The standard says one byte is enough,
 * but real text pages carry stray NULs and control bytes (EDGI processing#312); random bytes have ~10.5%.
 */
export const BINARY_BYTE_SHARE = 0.05;

// https://mimesniff.spec.whatwg.org/#binary-data-byte
export function isBinaryDataByte(byte: number): boolean {
  return byte <= 0x08 || byte === 0x0b || (byte >= 0x0e && byte <= 0x1a) || (byte >= 0x1c && byte <= 0x1f);
}

/** 1 for a binary data byte: a table lookup keeps counting a 64 KiB sample well under a millisecond. */
const IS_BINARY_DATA_BYTE = Uint8Array.from({ length: 256 }, (_, byte) => (isBinaryDataByte(byte) ? 1 : 0));

export function countBinaryDataBytes(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) count += IS_BINARY_DATA_BYTE[bytes[i]!]!;
  return count;
}

/** More than BINARY_BYTE_SHARE of the bytes are binary data bytes. */
export function isMostlyBinary(bytes: Uint8Array, binaryByteCount = countBinaryDataBytes(bytes)): boolean {
  return binaryByteCount > bytes.length * BINARY_BYTE_SHARE;
}
