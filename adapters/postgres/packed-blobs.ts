/**
 * Large values of a multi-row statement (bodies, MIME) packed into one bytea parameter.
 *
 * node-postgres sends a Buffer parameter in binary format, as it is, but writes the
 * elements of an array parameter as text: a bytea element becomes hex (twice its size),
 * every text element is escaped, and the server parses the array literal character by
 * character. For 5 KB bodies that parsing was most of the server's CPU for an accept
 * batch. Packed, the server only slices the one parameter (`substring`), so a value
 * costs a copy on each side.
 */
export interface PackedColumns {
  /** Every value's bytes, one after another. */
  readonly blob: Buffer;
  /** Per column: each row's 1-based offset in `blob` (SQL `substring … FROM`). */
  readonly offsets: number[][];
  /** Per column: each row's length in bytes; -1 for a NULL. */
  readonly lengths: number[][];
}

/** Packs `rows` (each with the same number of values, one per column) into one blob. */
export function packColumns(rows: readonly (readonly (Buffer | string | null)[])[]): PackedColumns {
  const width = rows[0]?.length ?? 0;
  const offsets = Array.from({ length: width }, () => [] as number[]);
  const lengths = Array.from({ length: width }, () => [] as number[]);
  const parts: Buffer[] = [];
  let offset = 1;
  for (const row of rows) {
    row.forEach((v, column) => {
      const bytes = v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      offsets[column]!.push(offset);
      lengths[column]!.push(bytes === null ? -1 : bytes.length);
      if (bytes) {
        parts.push(bytes);
        offset += bytes.length;
      }
    });
  }
  return { blob: Buffer.concat(parts, offset - 1), offsets, lengths };
}

/** SQL for one packed bytea value: NULL where the length is -1. */
export function unpackedBytea(blob: string, offset: string, length: string): string {
  return `CASE WHEN ${length} < 0 THEN NULL ELSE substring(${blob} FROM ${offset} FOR ${length}) END`;
}

/** SQL for one packed text value (UTF-8, which the server checks as it converts). */
export function unpackedText(blob: string, offset: string, length: string): string {
  return `convert_from(${unpackedBytea(blob, offset, length)}, 'UTF8')`;
}
