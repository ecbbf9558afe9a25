/** The stream of `LogSealed` events: each covers every event at or below its `upTo`. */
export const sealStream = "log-seals";

export const sealType = "LogSealed";

export type LogSeal = {
  /** How many streams had an event at or below `upTo`. */
  readonly streams: number;
  /** Merkle root (hex) of those streams' heads as of `upTo`. */
  readonly root: string;
  /** The highest position covered. */
  readonly upTo: number;
};

export type LogSealed = LogSeal & { readonly signature: string };

/** The bytes a seal's signature covers. */
export const sealMessage = (seal: LogSeal): string =>
  `authlog-seal-v1:${seal.upTo}:${seal.streams}:${seal.root}`;

export const isLogSealed = (data: unknown): data is LogSealed => {
  if (typeof data !== "object" || data === null) return false;
  const seal = data as Record<string, unknown>;
  return (
    Number.isSafeInteger(seal.streams) &&
    Number.isSafeInteger(seal.upTo) &&
    typeof seal.root === "string" &&
    typeof seal.signature === "string"
  );
};

/** The stream that records each rewrite of stored events, such as sealing older personal fields. */
export const rewriteStream = "log-rewrites";

/** Events at or below the newest seal are about to be rewritten: that seal will stop matching. */
export const rewriteStartedType = "PersonalDataUpgradeStarted";
