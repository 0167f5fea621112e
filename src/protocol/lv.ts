/** Length-prefixed concatenation (4-byte big-endian lengths), so no field of a hashed input can run into the next. */
export function lv(...parts: Array<Buffer | string>): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length, 0);
      return [len, b];
    }),
  );
}
