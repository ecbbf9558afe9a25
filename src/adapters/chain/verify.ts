import type { StoredLink } from "../../application/ports/EventStore.ts";
import type { LogSealed } from "../../domain/LogSeal.ts";
import { genesis, linkHash, merkle } from "./hashChain.ts";

export type Break = {
  readonly streamId: string;
  readonly version: number;
  readonly problem: string;
};

/** Checks links as they stream by (stream id, then version order), in constant memory. */
export const chainChecker = (seal: (LogSealed & { readonly position: number }) | null) => {
  const tree = merkle();
  let stream: string | undefined;
  let expected = 1;
  let previous: Uint8Array = genesis;
  let head: Uint8Array | undefined;
  let headStream: Uint8Array | undefined;
  let sawUpTo = false;
  let events = 0;
  let streams = 0;
  let broken: Break | null = null;

  const closeStream = () => {
    if (head && headStream) tree.add(headStream, head);
    head = undefined;
  };

  return {
    /** False once a link is broken: the rest need not be read. */
    add: (links: readonly StoredLink[]): boolean => {
      for (const link of links) {
        if (link.streamId !== stream) {
          closeStream();
          stream = link.streamId;
          expected = 1;
          previous = genesis;
          streams++;
        }
        events++;
        if (link.version !== expected) {
          broken = {
            streamId: link.streamId,
            version: expected,
            problem: `version ${expected} is missing (the next one stored is ${link.version})`,
          };
          return false;
        }
        if (!linkHash(previous, link.fields).equals(link.hash)) {
          broken = {
            streamId: link.streamId,
            version: link.version,
            problem:
              link.hash.length === 0
                ? "it has no hash: it was written around the store"
                : "its hash does not match its content and the event before it",
          };
          return false;
        }
        previous = link.hash;
        expected++;
        if (seal && link.position <= seal.upTo) {
          head = link.hash;
          headStream = link.fields[0];
          if (link.position === seal.upTo) sawUpTo = true;
        }
      }
      return true;
    },
    get events() {
      return events;
    },
    /** The first break, or what the log no longer matches in the seal; null when intact. */
    finish: (): {
      readonly streams: number;
      readonly broken: Break | null;
      readonly seal: string | null;
    } => {
      closeStream();
      if (broken || !seal) return { streams, broken, seal: null };
      const where = `the seal at position ${seal.position} (up to ${seal.upTo})`;
      const problem =
        tree.count < seal.streams
          ? `${seal.streams - tree.count} of the ${seal.streams} streams ${where} covers are missing`
          : tree.count > seal.streams
            ? `${tree.count - seal.streams} streams at or before position ${seal.upTo} are not in ${where}`
            : !sawUpTo && seal.upTo > 0
              ? `the tail is missing: event ${seal.upTo}, the newest ${where} covers, is gone`
              : tree.root() !== seal.root
                ? `a stream's events at or before position ${seal.upTo} were removed or changed since ${where}`
                : null;
      return { streams, broken, seal: problem };
    },
  };
};
