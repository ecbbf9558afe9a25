import { createHash } from "node:crypto";

/** The previous hash of every stream's first event. */
export const genesis = new Uint8Array(32);

const utf8 = new TextEncoder();

/** One field of the canonical bytes: its UTF-8 length as 4 bytes big-endian, then the bytes. */
const field = (bytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
};

/**
 * An event's fields as stored, each as text: stream id, version (decimal), type, data and
 * metadata (the stored JSON text), recorded_at (decimal microseconds since 1970, UTC).
 */
export type StoredFields = readonly [
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
];

/** SHA-256(previous || canonical bytes): the encoding docs/operations.md describes. */
export const linkHash = (previous: Uint8Array, fields: StoredFields): Buffer => {
  const hash = createHash("sha256").update(previous);
  for (const value of fields) hash.update(field(value));
  return hash.digest();
};

export const textFields = (
  streamId: string,
  version: number,
  type: string,
  data: string,
  metadata: string,
  recordedAtMicros: bigint | number | string,
): StoredFields => [
  utf8.encode(streamId),
  utf8.encode(String(version)),
  utf8.encode(type),
  utf8.encode(data),
  utf8.encode(metadata),
  utf8.encode(String(recordedAtMicros)),
];

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

const leafPrefix = new Uint8Array([0]);
const nodePrefix = new Uint8Array([1]);

/**
 * RFC 6962's Merkle tree hash over (stream id, head hash) leaves added in stream id order, in
 * O(log n) memory: equal-sized subtrees merge as they complete, the rest right to left at the end.
 */
export const merkle = () => {
  const stack: { size: number; hash: Buffer }[] = [];
  let count = 0;
  return {
    add: (streamId: Uint8Array, head: Uint8Array) => {
      count++;
      let node = { size: 1, hash: sha256(leafPrefix, field(streamId), head) };
      for (
        let top = stack.at(-1);
        top !== undefined && top.size === node.size;
        top = stack.at(-1)
      ) {
        stack.pop();
        node = { size: top.size * 2, hash: sha256(nodePrefix, top.hash, node.hash) };
      }
      stack.push(node);
    },
    get count() {
      return count;
    },
    root: (): string => {
      let hash = stack.at(-1)?.hash ?? sha256();
      for (let i = stack.length - 2; i >= 0; i--) {
        hash = sha256(nodePrefix, stack[i]?.hash ?? hash, hash);
      }
      return hash.toString("hex");
    },
  };
};
